"""Export a trained model to ONNX or TorchScript for deployment outside segstudio.

The exported graph takes ``image``: (B, C, H, W) float32 and returns ``logits``: (B, K, H, W);
batch, height and width are dynamic. For RGB models C = 3: RGB scaled to [0, 1] then normalised
with the stored mean/std. For native channel descriptions C is the project's channel count and
each channel is ``((v - low) / (high - low) - mean) / std`` with low/high as the stored channel
description says (per-image percentiles, or a fixed range). Class names, colours, the input
normalisation and the channel description (``channels``) travel inside the file (ONNX
``metadata_props``; TorchScript ``_extra_files['segstudio.json']``).

The ONNX export uses PyTorch's TorchScript-based exporter (``dynamo=False``), which needs no
extra package. Two things make the traced graph valid for every input size:
* the wrapper pads the input to the model's size multiple itself with traced (dynamic) sizes,
  so the model's own Python-level ``if`` on padding is never baked into the graph;
* ``max_unpool2d`` (SegNet) has no ONNX symbolic and its size checks break under tracing, so
  while exporting it is computed by an equivalent ``scatter`` over each feature plane.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.atomic import atomic_write_bytes
from segstudio.core.channels import ChannelSpec
from segstudio.core.classes import ClassInfo
from segstudio.core.errors import SegstudioError
from segstudio.engine.models import IMAGENET_MEAN, IMAGENET_STD, model_in_channels

FORMATS = ("onnx", "torchscript")
METADATA_FILE = "segstudio.json"  # TorchScript _extra_files entry
DEFAULT_OPSET = 17
#: exported logits may differ from PyTorch's by at most this (times max(1, |logits|))
VERIFY_TOLERANCE = 1e-3


@dataclass
class ExportResult:
    """What was written and how closely the exported model reproduces PyTorch."""

    path: Path
    format: str
    max_abs_diff: float
    argmax_agreement: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"exported {self.metadata.get('model', {}).get('name', 'model')} to {self.path} ({self.format}); "
                f"max |logits - PyTorch| = {self.max_abs_diff:.2e}, "
                f"argmax agreement {100.0 * self.argmax_agreement:.3f}%")


def size_multiple(model: nn.Module) -> int:
    """The side length the model's input must be a multiple of (``2**depth`` for U-Net/SegNet, else 1)."""
    explicit = getattr(model, "input_multiple", None)
    if isinstance(explicit, int) and explicit > 0:
        return explicit
    depth = getattr(model, "depth", None)
    if isinstance(depth, int) and 0 < depth < 16:
        return 2 ** depth
    return 1


class ExportWrapper(nn.Module):
    """Pads the input to a size multiple with traced sizes, runs the model, crops the logits back."""

    def __init__(self, model: nn.Module, multiple: int) -> None:
        super().__init__()
        self.model = model
        self.multiple = int(multiple)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.multiple <= 1:
            return self.model(image)
        h, w = image.shape[2], image.shape[3]
        pad_h = (self.multiple - h % self.multiple) % self.multiple
        pad_w = (self.multiple - w % self.multiple) % self.multiple
        x = F.pad(image, (0, pad_w, 0, pad_h), mode="reflect")
        return self.model(x)[:, :, :h, :w]


def _scatter_max_unpool2d(input: torch.Tensor, indices: torch.Tensor, kernel_size, stride=None, padding=0,
                          output_size=None) -> torch.Tensor:
    """max_unpool2d as a scatter into each (n, c) plane: same numbers, traceable, ONNX ScatterElements."""
    n, c, h, w = input.shape[0], input.shape[1], input.shape[2], input.shape[3]
    if output_size is not None:
        out_h, out_w = output_size[-2], output_size[-1]
    else:
        k = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        s = stride if stride is not None else k
        s = s if isinstance(s, (tuple, list)) else (s, s)
        p = padding if isinstance(padding, (tuple, list)) else (padding, padding)
        out_h = (h - 1) * s[0] - 2 * p[0] + k[0]
        out_w = (w - 1) * s[1] - 2 * p[1] + k[1]
    out = input.new_zeros((n, c, out_h * out_w))
    out = out.scatter(2, indices.flatten(2), input.flatten(2))
    return out.view(n, c, out_h, out_w)


_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _traceable_ops() -> Iterator[None]:
    """Swap in trace-friendly equivalents of ops the exporter cannot handle; quiet tracer warnings."""
    with _PATCH_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = F.max_unpool2d
        F.max_unpool2d = _scatter_max_unpool2d  # type: ignore[assignment]
        try:
            yield
        finally:
            F.max_unpool2d = original  # type: ignore[assignment]


def export_metadata(classes: list[ClassInfo], normalization: dict, model_info: dict | None = None,
                    extra: dict | None = None, channels: ChannelSpec | None = None) -> dict[str, Any]:
    """The JSON metadata stored in exported files."""
    from segstudio import __version__

    channels = channels or ChannelSpec.rgb()
    if channels.is_rgb:
        norm_note = "input = (RGB / 255 - mean) / std, layout (B, 3, H, W) float32"
    else:
        norm_note = (f"input channel c = ((v - low_c) / (high_c - low_c) - mean_c) / std_c, layout (B, {channels.count}, H, W) "
                     "float32; low/high per 'channels': 'percentile' = that image's percentiles low..high of the "
                     "channel (not clipped), 'range' = the fixed values low..high, (v - low) / (high - low) "
                     "clipped to [0, 1]")
    meta: dict[str, Any] = {
        "format": "segstudio-export",
        "version": 1,
        "segstudio_version": __version__,
        "classes": [c.to_json() for c in classes],
        "class_names": [c.name for c in classes],
        "class_colors": [c.color for c in classes],
        "normalization": {
            "scale": 1.0 / 255.0 if channels.is_rgb else None,
            "mean": [float(v) for v in normalization.get("mean", IMAGENET_MEAN)],
            "std": [float(v) for v in normalization.get("std", IMAGENET_STD)],
            "note": norm_note,
        },
        "channels": channels.to_json(),
        "model": dict(model_info or {}),
        "input": {"name": "image", "layout": "NCHW", "dtype": "float32", "channels": channels.count},
        "output": {"name": "logits", "layout": "NCHW", "activation": "none (apply softmax over C)"},
    }
    if extra:
        meta.update(extra)
    return meta


def _sample_input(multiple: int, batch: int, seed: int, extra_h: int, extra_w: int, channels: int = 3) -> torch.Tensor:
    """Random input whose sides are not multiples of the model's, so padding and cropping run."""
    side = max(64, 2 * multiple)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, side + extra_h, side + extra_w, generator=g)


def _onnx_bytes(wrapper: nn.Module, sample: torch.Tensor, opset: int, metadata: dict[str, Any]) -> bytes:
    try:
        import onnx
    except ImportError:
        raise SegstudioError("ONNX export needs the 'onnx' package: pip install 'segstudio[export]'") from None
    buf = io.BytesIO()
    with _traceable_ops():
        torch.onnx.export(
            wrapper, (sample,), buf, dynamo=False, opset_version=opset, do_constant_folding=True,
            input_names=["image"], output_names=["logits"],
            dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                          "logits": {0: "batch", 2: "height", 3: "width"}},
        )
    proto = onnx.load_from_string(buf.getvalue())
    del proto.metadata_props[:]
    flat = {
        "segstudio": json.dumps(metadata),
        "class_names": json.dumps(metadata["class_names"]),
        "class_colors": json.dumps(metadata["class_colors"]),
        "normalization": json.dumps(metadata["normalization"]),
        "model": json.dumps(metadata["model"]),
        "channels": json.dumps(metadata["channels"]),
    }
    for key, value in flat.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = (f"segstudio segmentation model: image (B,{metadata['input']['channels']},H,W) normalised "
                        "channels -> logits (B,K,H,W)")
    proto.producer_name = "segstudio"
    return proto.SerializeToString()


def _torchscript_bytes(wrapper: nn.Module, sample: torch.Tensor, metadata: dict[str, Any]) -> bytes:
    with _traceable_ops():
        traced = torch.jit.trace(wrapper, (sample,), check_trace=False)
        buf = io.BytesIO()
        torch.jit.save(traced, buf, _extra_files={METADATA_FILE: json.dumps(metadata)})
    return buf.getvalue()


def run_onnx(data: bytes | str | Path, image: torch.Tensor) -> torch.Tensor:
    """Logits of an exported ONNX model (bytes or file) in onnxruntime on the CPU."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise SegstudioError("checking an ONNX export needs 'onnxruntime': pip install 'segstudio[export]'") from None
    source = data if isinstance(data, bytes) else str(data)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"image": image.detach().cpu().numpy()})[0])


def load_torchscript(data: bytes | str | Path) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """An exported TorchScript model (eval, CPU) and its segstudio metadata."""
    extra = {METADATA_FILE: ""}
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated but still the portable format
        module = torch.jit.load(source, map_location="cpu", _extra_files=extra)
    raw = extra[METADATA_FILE]
    meta = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw) if raw else {}
    return module.eval(), meta


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The segstudio metadata stored in an exported ONNX file."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    if "segstudio" not in props:
        raise SegstudioError(f"{path} has no segstudio metadata")
    return json.loads(props["segstudio"])


def _compare(reference: torch.Tensor, exported: torch.Tensor) -> tuple[float, float]:
    if exported.shape != reference.shape:
        raise SegstudioError(f"exported model returned shape {tuple(exported.shape)}, "
                             f"PyTorch {tuple(reference.shape)}")
    diff = float((exported.float() - reference.float()).abs().max())
    agree = float((exported.argmax(1) == reference.argmax(1)).float().mean())
    return diff, agree


def export_module(model: nn.Module, classes: list[ClassInfo], normalization: dict, fmt: str,
                  out: str | Path, model_info: dict | None = None, opset: int = DEFAULT_OPSET,
                  verify: bool = True, channels: ChannelSpec | None = None) -> ExportResult:
    """Export ``model`` (any segstudio model) to ``out`` as ``fmt`` ('onnx' or 'torchscript').

    With ``verify`` the exported bytes are run (onnxruntime / torch.jit) on an input whose size
    is not a multiple of the model's and compared with PyTorch before the file is written
    atomically; a mismatch raises SegstudioError and writes nothing.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise SegstudioError(f"unknown export format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    out = Path(out)
    model = model.to("cpu").eval()
    multiple = size_multiple(model)
    wrapper = ExportWrapper(model, multiple).eval()
    info = dict(model_info or {})
    info.setdefault("size_multiple", multiple)
    channels = channels or ChannelSpec.rgb()
    n_in = model_in_channels(model)
    if n_in != channels.count:
        raise SegstudioError(f"the model takes {n_in} input channels but its channel description has {channels.count}")
    metadata = export_metadata(classes, normalization, info, channels=channels)
    sample = _sample_input(multiple, batch=2, seed=0, extra_h=5, extra_w=3, channels=n_in)
    try:
        with torch.no_grad():
            if fmt == "onnx":
                data = _onnx_bytes(wrapper, sample, opset, metadata)
            else:
                data = _torchscript_bytes(wrapper, sample, metadata)
    except SegstudioError:
        raise
    except Exception as exc:  # noqa: BLE001 - an exporter failure is reported, not a crash
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise SegstudioError(f"cannot export model {info.get('name', type(model).__name__)!r} to {fmt}: {first}") from None

    diff, agree = float("nan"), float("nan")
    if verify:
        check = _sample_input(multiple, batch=3, seed=1, extra_h=multiple + 7, extra_w=-(multiple // 2) + 1,
                              channels=n_in)
        with torch.no_grad():
            reference = model(check)
            if fmt == "onnx":
                exported = run_onnx(data, check)
            else:
                exported = load_torchscript(data)[0](check)
        diff, agree = _compare(reference, exported)
        scale = max(1.0, float(reference.abs().max()))
        if not diff <= VERIFY_TOLERANCE * scale or agree < 0.999:
            raise SegstudioError(
                f"exported {fmt} model does not reproduce PyTorch (max |diff| {diff:.3g}, argmax agreement "
                f"{100 * agree:.2f}%); nothing written to {out}"
            )
    atomic_write_bytes(out, data)
    return ExportResult(out, fmt, diff, agree, metadata)


def export_checkpoint(checkpoint: str | Path, fmt: str, out: str | Path, opset: int = DEFAULT_OPSET,
                      verify: bool = True) -> ExportResult:
    """Export a segstudio checkpoint file (see :func:`export_module`)."""
    from segstudio.engine.checkpoint import (build_model_from_checkpoint, checkpoint_channels, checkpoint_classes,
                                             checkpoint_normalization, load_checkpoint)

    ckpt = load_checkpoint(checkpoint)
    model = build_model_from_checkpoint(ckpt)
    mean, std = checkpoint_normalization(ckpt)
    spec = ckpt.get("model") or {}
    info = {"name": str(spec.get("name", "")), "args": dict(spec.get("args") or {}),
            "num_classes": int(ckpt["num_classes"]), "epoch": ckpt.get("epoch"),
            "checkpoint": Path(checkpoint).name}
    metrics = ckpt.get("metrics")
    if isinstance(metrics, dict) and metrics.get("miou") is not None:
        info["miou"] = float(metrics["miou"])
    return export_module(model, checkpoint_classes(ckpt), {"mean": mean, "std": std}, fmt, out,
                         model_info=info, opset=opset, verify=verify, channels=checkpoint_channels(ckpt))
