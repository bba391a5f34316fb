"""How many CPU threads torch uses: one rule for the CLI, the GUI's training worker and torchrun ranks.

:func:`torch_threads` only counts (no torch import, so the GUI can ask at startup);
:func:`apply_torch_threads` sets torch's intra-op pool to that count.

The rule, first match wins:

1. ``SEGSTUDIO_TORCH_THREADS`` (a positive whole number) — segstudio's own override;
2. ``OMP_NUM_THREADS`` (a positive whole number) — the standard knob, honoured as given;
3. the CPU cores this process may run on (its affinity mask, not the machine's count), shared
   evenly between the processes of a torchrun node (``LOCAL_WORLD_SIZE``), minus one core for the
   GUI thread when training runs inside the desktop app — never fewer than one.
"""

from __future__ import annotations

import os
from typing import Mapping

#: environment variable that overrides the thread count everywhere
THREADS_ENV = "SEGSTUDIO_TORCH_THREADS"


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _positive_int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def torch_threads(gui: bool = False, environ: Mapping[str, str] | None = None, cpus: int | None = None) -> int:
    """Intra-op threads for torch on the CPU by the module's rule; ``gui`` leaves a core to the GUI thread."""
    env = os.environ if environ is None else environ
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        given = _positive_int(env.get(name))
        if given is not None:
            return given
    cores = usable_cpus() if cpus is None else max(1, int(cpus))
    local_procs = _positive_int(env.get("LOCAL_WORLD_SIZE")) or 1
    share = max(1, cores // local_procs)
    return max(1, share - 1) if gui else share


def apply_torch_threads(gui: bool = False) -> int:
    """Set torch's intra-op thread pool by :func:`torch_threads`; returns the count."""
    import torch

    n = torch_threads(gui)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
