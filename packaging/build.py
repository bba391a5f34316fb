"""Build the one-folder desktop app with PyInstaller and optionally run its self-test.

    pip install -e ".[package]"                 # PyInstaller
    python packaging/build.py --self-test       # -> dist/segstudio/ (segstudio, segstudio-cli, _internal/)
    python packaging/build.py --self-test-only --smoke   # test an existing bundle, headless commands too

Prints the build time, the bundle size and its largest parts, then (with ``--self-test``) runs
``dist/segstudio/segstudio-cli --self-test`` offscreen; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "segstudio.spec"


def folder_size(path: Path) -> int:
    """Total size in bytes of the regular files under ``path`` (symlinks not followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            file = Path(dirpath) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def largest_parts(bundle: Path, n: int = 10) -> list[tuple[str, int]]:
    """The ``n`` biggest top-level entries of the bundle's library folder, biggest first."""
    inner = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    sizes = [(p.name, folder_size(p) if p.is_dir() else p.stat().st_size)
             for p in inner.iterdir() if not p.is_symlink()]
    return sorted(sizes, key=lambda item: -item[1])[:n]


def run_self_test(bundle: Path, timeout: float) -> tuple[int, str]:
    """Run the packaged ``--self-test`` offscreen in a fresh data folder; (exit status, output)."""
    exe = bundle / ("segstudio-cli.exe" if sys.platform == "win32" else "segstudio-cli")
    with tempfile.TemporaryDirectory(prefix="segstudio-selftest-") as data:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SEGSTUDIO_DATA_DIR=data,
                   SEGSTUDIO_LOG_DIR=str(Path(data) / "logs"))
        try:
            proc = subprocess.run([str(exe), "--self-test"], env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            return 124, f"self-test timed out after {timeout:.0f} s\n{exc.stdout or ''}{exc.stderr or ''}"
        return proc.returncode, proc.stdout + proc.stderr


def run_smoke(bundle: Path, timeout: float) -> list[tuple[str, int, str]]:
    """Headless commands through the packaged ``segstudio-cli``: (name, exit status, last output line).

    train, predict, evaluate, export-model (TorchScript) and a one-process ``torchrun`` launched by the
    frozen executable itself (what multi-GPU training from the panel does), on a tiny demo project.
    """
    sys.path.insert(0, str(ROOT))
    from segstudio.core.demo import generate_demo_project

    exe = str(bundle / ("segstudio-cli.exe" if sys.platform == "win32" else "segstudio-cli"))
    results = []
    with tempfile.TemporaryDirectory(prefix="segstudio-smoke-") as tmp:
        work = Path(tmp)
        project = work / "project"
        generate_demo_project(project, n_images=6, labeled=3, size=(64, 64))
        train = ["train", str(project), "--epochs", "1", "--width", "8", "--crop", "64", "--batch-size", "2",
                 "--steps-per-epoch", "2", "--device", "cpu", "--no-pretrained"]
        steps = [
            ("train", train + ["--out", str(work / "run")]),
            ("predict", ["predict", str(work / "run" / "last.pt"), str(project / "images"), "--out", str(work / "pred")]),
            ("evaluate", ["evaluate", str(work / "run" / "last.pt"), str(project)]),
            ("export-model", ["export-model", str(work / "run" / "last.pt"), "--format", "torchscript",
                              "-o", str(work / "model.pt")]),
            ("torchrun", ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", "-m", "segstudio"]
             + train + ["--out", str(work / "run_ddp")]),
        ]
        env = dict(os.environ, SEGSTUDIO_DATA_DIR=str(work / "data"), SEGSTUDIO_LOG_DIR=str(work / "logs"))
        for name, args in steps:
            try:
                proc = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=timeout)
                lines = (proc.stdout + proc.stderr).strip().splitlines()
                results.append((name, proc.returncode, lines[-1] if lines else ""))
            except subprocess.TimeoutExpired:
                results.append((name, 124, f"timed out after {timeout:.0f} s"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build dist/segstudio with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        help="PyInstaller work folder (default: build/pyinstaller)")
    parser.add_argument("--clean", action="store_true", help="discard PyInstaller's cache first")
    parser.add_argument("--self-test", action="store_true", help="run the built app's --self-test")
    parser.add_argument("--self-test-only", action="store_true", help="skip the build; test an existing bundle")
    parser.add_argument("--smoke", action="store_true",
                        help="also run train/predict/evaluate/export-model/torchrun through the built app")
    parser.add_argument("--timeout", type=float, default=900, help="timeout per packaged command in seconds")
    args = parser.parse_args(argv)

    bundle = args.dist / "segstudio"
    result: dict[str, object] = {"bundle": str(bundle)}
    if not args.self_test_only:
        try:
            import PyInstaller  # noqa: F401
        except ImportError:
            print("build: PyInstaller is missing; install it with: pip install -e \".[package]\"", file=sys.stderr)
            return 2
        cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(args.dist), "--workpath", str(args.work), str(SPEC)]
        if args.clean:
            cmd.insert(3, "--clean")
        print("build:", " ".join(cmd), flush=True)
        start = time.perf_counter()
        status = subprocess.call(cmd, cwd=ROOT)
        result["build_s"] = round(time.perf_counter() - start, 1)
        if status != 0:
            print(f"build: PyInstaller failed with status {status}", file=sys.stderr)
            result["build_status"] = status
            print(json.dumps(result))
            return 1
    if not bundle.is_dir():
        print(f"build: no bundle at {bundle}", file=sys.stderr)
        return 1
    size = folder_size(bundle)
    result["bundle_bytes"] = size
    print(f"build: {bundle} is {size / 2**30:.2f} GiB; largest parts:")
    for name, part in largest_parts(bundle):
        print(f"  {part / 2**20:9.1f} MiB  {name}")
    status = 0
    if args.self_test or args.self_test_only:
        start = time.perf_counter()
        status, output = run_self_test(bundle, args.timeout)
        result["self_test_s"] = round(time.perf_counter() - start, 1)
        result["self_test_status"] = status
        print(output.rstrip())
        summary = [line for line in output.splitlines() if line.startswith("self-test ")]
        result["self_test"] = summary[-1] if summary else None
    if args.smoke:
        smoke = run_smoke(bundle, args.timeout)
        for name, code, last in smoke:
            print(f"smoke {name}: exit {code}: {last}")
        result["smoke"] = {name: code for name, code, _ in smoke}
        status = status or max(code for _, code, _ in smoke)
    print(json.dumps(result))
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
