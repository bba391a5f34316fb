"""Entry point of the frozen (PyInstaller) app: ``segstudio`` and ``segstudio-cli`` both run this.

Besides the normal command line it understands the two Python-style invocations that the app
itself starts, because in a frozen app ``sys.executable`` is this program, not a Python:
``-m torch.distributed.run ...`` (multi-GPU training from the panel) and ``[-u] -m segstudio ...``
(what torchrun starts for every rank). No other module can be run this way.
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import sys

RUNNABLE_MODULES = ("segstudio", "torch.distributed.run")


def _python_style_module(argv: list[str]) -> tuple[str, list[str]] | None:
    """(module, its arguments) for ``[-u] -m MODULE ARGS...``; None for a normal command line."""
    args = list(argv)
    while args and args[0] in ("-u", "-B", "-E", "-s"):
        if args[0] == "-u":
            os.environ["PYTHONUNBUFFERED"] = "1"
        args.pop(0)
    if len(args) >= 2 and args[0] == "-m" and args[1] in RUNNABLE_MODULES:
        return args[1], args[2:]
    return None


def _main() -> int:
    module = _python_style_module(sys.argv[1:])
    if module is not None and module[0] != "segstudio":
        name, rest = module
        sys.argv = [name, *rest]
        runpy.run_module(name, run_name="__main__", alter_sys=True)
        return 0
    from segstudio.cli import main

    return main(module[1] if module is not None else None)


if __name__ == "__main__":
    # Must come first: a child process started by multiprocessing in a frozen app re-runs this
    # executable, and freeze_support() turns it into the child instead of a second app.
    multiprocessing.freeze_support()
    sys.exit(_main())
