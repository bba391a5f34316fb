"""Model registry: U-Net, SegNet and torchvision segmentation models behind one ``create_model``.

Every model maps (B, in_channels, H, W) normalised float input (3 = RGB, the default) to
(B, num_classes, H, W) logits of the same size. Pretrained backbone weights are used only when they
are in segstudio's weights folder (put there by ``segstudio weights download|import``, checked against
their checksum); nothing is ever downloaded here. ``pretrained_used(model)`` says which file (if any)
was loaded.

``in_channels``: U-Net and SegNet take it natively. The torchvision models get their first
convolution replaced by one with ``in_channels`` inputs after any pretrained weights are loaded
(:func:`adapt_first_conv`): channel k < 3 keeps RGB filter k, further channels get the mean of the
three RGB filters, and all are scaled by 3 / in_channels so that the first layer's response to a
uniform input keeps its size (one channel: the sum of the RGB filters, as for a gray image).
Without pretrained weights the new convolution is initialised as torch does.
"""

from __future__ import annotations

import os
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.errors import SegstudioError

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
    return x, h, w


def _check_size(model: str, width: int, depth: int, min_depth: int) -> None:
    """SegstudioError naming ``model`` when its width or depth is too small."""
    if width < 1 or depth < min_depth:
        raise SegstudioError(f"{model} needs width >= 1 and depth >= {min_depth} (got width={width}, depth={depth})")


class UNet(nn.Module):
    """U-Net with BatchNorm: ``depth`` poolings, channel widths ``width * 2**level``."""

    def __init__(self, num_classes: int, width: int = 16, depth: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        _check_size("unet", width, depth, 1)
        self.depth = depth
        chans = [width * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        cin = in_channels
        for c in chans:
            self.down.append(nn.Sequential(_conv_bn_relu(cin, c), _conv_bn_relu(c, c)))
            cin = c
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(depth, 0, -1):
            self.up.append(nn.ConvTranspose2d(chans[i], chans[i - 1], 2, stride=2))
            self.dec.append(nn.Sequential(_conv_bn_relu(2 * chans[i - 1], chans[i - 1]), _conv_bn_relu(chans[i - 1], chans[i - 1])))
        self.head = nn.Conv2d(chans[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = _pad_to_multiple(x, 2**self.depth)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for up, dec in zip(self.up, self.dec):
            x = up(x)
            x = dec(torch.cat([x, skips.pop()], dim=1))
        return self.head(x)[..., :h, :w]


class SegNet(nn.Module):
    """SegNet: a VGG-style encoder whose max-pooling indices drive max-unpooling in the decoder."""

    def __init__(self, num_classes: int, width: int = 32, depth: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        _check_size("segnet", width, depth, 2)
        self.depth = depth
        chans = [width * 2 ** min(i, 3) for i in range(depth)]
        convs_per_stage = [2 if i < 2 else 3 for i in range(depth)]
        self.enc = nn.ModuleList()
        cin = in_channels
        for c, n in zip(chans, convs_per_stage):
            layers = [_conv_bn_relu(cin, c)] + [_conv_bn_relu(c, c) for _ in range(n - 1)]
            self.enc.append(nn.Sequential(*layers))
            cin = c
        self.dec = nn.ModuleList()
        for i in range(depth - 1, -1, -1):
            cout = chans[i - 1] if i > 0 else chans[0]
            n = convs_per_stage[i]
            layers = [_conv_bn_relu(chans[i], chans[i]) for _ in range(n - 1)] + [_conv_bn_relu(chans[i], cout)]
            self.dec.append(nn.Sequential(*layers))
        self.head = nn.Conv2d(chans[0], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = _pad_to_multiple(x, 2**self.depth)
        indices, sizes = [], []
        for block in self.enc:
            x = block(x)
            sizes.append(x.shape)
            x, idx = F.max_pool2d(x, 2, stride=2, return_indices=True)
            indices.append(idx)
        for block in self.dec:
            x = F.max_unpool2d(x, indices.pop(), 2, stride=2, output_size=sizes.pop()[-2:])
            x = block(x)
        return self.head(x)[..., :h, :w]


class TorchvisionSeg(nn.Module):
    """Wraps a torchvision segmentation model so forward returns the 'out' logits tensor."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)["out"]


def _cached_weights_file(weights: str | None) -> str | None:
    """Path of torchvision weights ``weights`` ("ResNet50_Weights.IMAGENET1K_V1") if they are in segstudio's
    weights folder with the right checksum (never downloads; a damaged file raises SegstudioError)."""
    if weights is None:
        return None
    from segstudio.engine.weights import present_weights_file

    path = present_weights_file(weights)
    return str(path) if path is not None else None


def _load_backbone(backbone: nn.Module, weights: str | None, strip_prefix: str = "") -> str | None:
    path = _cached_weights_file(weights)
    if path is None:
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - the checksum matched, so this is a broken torch install or disk
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SegstudioError(f"cannot load pretrained weights {path}: {reason}") from None
    if strip_prefix:
        state = {k[len(strip_prefix):]: v for k, v in state.items() if k.startswith(strip_prefix)}
    own = backbone.state_dict()
    matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not matched:
        return None
    backbone.load_state_dict(matched, strict=False)
    return os.path.basename(path)


def first_conv(module: nn.Module) -> tuple[nn.Module, str, nn.Conv2d] | None:
    """(parent, attribute name, conv) of the first Conv2d in ``module`` (definition order), or None."""
    for name, child in module.named_modules():
        if isinstance(child, nn.Conv2d):
            parent_name, _, attr = name.rpartition(".")
            return module.get_submodule(parent_name) if parent_name else module, attr, child
    return None


def model_in_channels(model: nn.Module) -> int:
    """How many input channels a model takes (its first convolution's)."""
    found = first_conv(model)
    return int(found[2].in_channels) if found else 3


def adapt_first_conv(module: nn.Module, in_channels: int) -> None:
    """Replace the first convolution by one taking ``in_channels`` inputs, adapting its RGB weights."""
    found = first_conv(module)
    if found is None or found[2].in_channels == in_channels:
        return
    parent, attr, old = found
    new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding, old.dilation,
                    old.groups, old.bias is not None, old.padding_mode)
    if old.in_channels == 3 and old.groups == 1:
        with torch.no_grad():
            w = old.weight
            if in_channels == 1:
                new.weight.copy_(w.sum(dim=1, keepdim=True))
            else:
                mean = w.mean(dim=1, keepdim=True)
                parts = [w[:, k:k + 1] if k < 3 else mean for k in range(in_channels)]
                new.weight.copy_(torch.cat(parts, dim=1) * (3.0 / in_channels))
            if old.bias is not None:
                new.bias.copy_(old.bias)
    setattr(parent, attr, new)


def _tv_model(builder_name: str, backbone_weights: str, strip: str) -> Callable[..., nn.Module]:
    def build(num_classes: int, pretrained: bool = True, in_channels: int = 3) -> nn.Module:
        from torchvision.models import segmentation as seg

        builder = getattr(seg, builder_name)
        inner = builder(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)
        wrapped = TorchvisionSeg(inner)
        used = None
        if pretrained:
            used = _load_backbone(inner.backbone, backbone_weights, strip)
        if in_channels != 3:
            adapt_first_conv(inner.backbone, int(in_channels))
        wrapped.pretrained_used = used  # type: ignore[attr-defined]
        return wrapped

    build.backbone_weights = backbone_weights  # type: ignore[attr-defined]
    return build


def _unet(num_classes: int, pretrained: bool = True, **args) -> nn.Module:
    return UNet(num_classes, **args)


def _segnet(num_classes: int, pretrained: bool = True, **args) -> nn.Module:
    return SegNet(num_classes, **args)


_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "unet": _unet,
    "segnet": _segnet,
    "lraspp_mobilenet_v3": _tv_model("lraspp_mobilenet_v3_large", "MobileNet_V3_Large_Weights.IMAGENET1K_V1", "features."),
    "deeplabv3_mobilenet_v3": _tv_model("deeplabv3_mobilenet_v3_large", "MobileNet_V3_Large_Weights.IMAGENET1K_V1", "features."),
    "deeplabv3_resnet50": _tv_model("deeplabv3_resnet50", "ResNet50_Weights.IMAGENET1K_V1", ""),
    "fcn_resnet50": _tv_model("fcn_resnet50", "ResNet50_Weights.IMAGENET1K_V1", ""),
}


def available_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return list(_REGISTRY)


def create_model(name: str, num_classes: int, **args) -> nn.Module:
    """Build a model by registry name; SegstudioError lists the valid names for an unknown one.

    ``pretrained=False`` in ``args`` skips looking for backbone weights in the weights folder;
    ``in_channels`` (default 3) is how many input channels the model takes.
    """
    if name not in _REGISTRY:
        raise SegstudioError(f"unknown model {name!r}; valid models: {', '.join(available_models())}")
    if num_classes < 1:
        raise SegstudioError(f"a model needs at least one class (got {num_classes})")
    channels = args.get("in_channels", 3)
    if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 64:
        raise SegstudioError(f"in_channels must be an integer from 1 to 64 (got {channels!r})")
    try:
        model = _REGISTRY[name](num_classes, **args)
    except TypeError as exc:
        raise SegstudioError(f"invalid arguments for model {name!r}: {exc}") from None
    if not hasattr(model, "pretrained_used"):
        model.pretrained_used = None  # type: ignore[attr-defined]
    return model


def pretrained_used(model: nn.Module) -> str | None:
    """The pretrained weights file a model was initialised from, or None."""
    return getattr(model, "pretrained_used", None)


def backbone_weights_name(name: str) -> str | None:
    """The torchvision weights ("ResNet50_Weights.IMAGENET1K_V1") model ``name``'s backbone can start from,
    or None for the models that train from scratch (see :mod:`segstudio.engine.weights`)."""
    return getattr(_REGISTRY.get(name), "backbone_weights", None)
