"""One write policy for every command: nothing a user made is overwritten without being asked.

A command never writes

* over an existing file, unless the user said ``--overwrite``;
* over one of its own inputs, or into a folder it reads from (not even with ``--overwrite``);
* into a project's ``masks/`` folder, which holds the user's painting (predictions of a project
  go to its ``predictions/`` folder).

The checks run before any work starts, so a refused command has written nothing. Each raises
:class:`SegstudioError` with one line naming the path and what to do instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from segstudio.core.errors import SegstudioError
from segstudio.core.project import PROJECT_FILE


def real(path: str | Path) -> Path:
    """``path`` made absolute with symlinks resolved (as far as it exists), never raising."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def masks_folder_owner(path: str | Path) -> Path | None:
    """The project whose ``masks/`` folder ``path`` is (or lies in), else None.

    A folder named ``masks`` counts as a project's when ``segstudio.json`` or an ``images/``
    folder sits beside it (the layout of a project and of a mask-folder dataset alike).
    """
    p = real(path)
    for candidate in (p, *p.parents):
        if candidate.name == "masks":
            parent = candidate.parent
            if (parent / PROJECT_FILE).is_file() or (parent / "images").is_dir():
                return parent
    return None


@dataclass
class ReadFolder:
    """A folder a command reads from; writing under ``allowed`` sub-folders of it is fine
    (a project's ``predictions/`` is never read as input)."""

    folder: Path
    allowed: tuple[str, ...] = ()


@dataclass
class WritePlan:
    """Where a command is about to write, checked against the policy by :meth:`check`."""

    out: Path
    targets: list[Path] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)  # files read (never written over)
    reads: list[ReadFolder] = field(default_factory=list)  # folders read (never written into)

    def check(self, overwrite: bool, option: str = "--overwrite") -> None:
        """Raise SegstudioError (one line) if any write would break the policy."""
        check_output_folder(self.out, self.reads)
        check_targets(self.targets, self.inputs, overwrite, option)


def check_output_folder(out: str | Path, reads: Iterable[ReadFolder] = (),
                        hint: str = "give an --out folder outside the inputs") -> None:
    """Refuse an output folder that is (inside) a folder the command reads, or a project's masks/."""
    out_path = Path(out)
    out_real = real(out_path)
    if out_path.exists() and not out_path.is_dir():
        raise SegstudioError(f"output {out} is a file, not a folder")
    owner = masks_folder_owner(out_path)
    if owner is not None:
        raise SegstudioError(f"refusing to write into {out}: it is the masks/ folder of {owner}, which holds "
                             f"your own masks; write predictions to {owner / 'predictions'} instead")
    for read in reads:
        folder = real(read.folder)
        if not _inside(out_real, folder):
            continue
        if any(_inside(out_real, folder / sub) for sub in read.allowed):
            continue
        raise SegstudioError(f"refusing to write into {out}: the command reads its input from {read.folder}; {hint}")


def check_import(source: str | Path, project: str | Path) -> None:
    """Refuse importing a folder into a project that lies inside it (the import would read what it writes),
    a folder inside the project's images/ or masks/, or into a masks/ folder."""
    folder = Path(source)
    if not folder.is_dir():  # a single annotation file (or a missing source, which the importer names)
        return
    check_output_folder(project, [ReadFolder(folder)], hint="import into a project folder outside it")
    root = real(project)
    src = real(folder)
    for sub in ("images", "masks"):
        if _inside(src, root / sub):
            raise SegstudioError(f"refusing to import {source} into {project}: it lies in the project's own "
                                 f"{sub}/ folder, which the import writes into")


def export_reads(images_dir: str | Path, project_root: str | Path) -> list[ReadFolder]:
    """What an export reads: the project's images (its reserved folders are not read as images)."""
    from segstudio.core.project import RESERVED_DIRS

    same = real(images_dir) == real(project_root)
    return [ReadFolder(Path(images_dir), RESERVED_DIRS if same else ())]


def check_targets(targets: Iterable[str | Path], inputs: Iterable[str | Path] = (), overwrite: bool = False,
                  option: str = "--overwrite") -> None:
    """Refuse writing over an input (always), over a folder (always) or over an existing file
    (unless ``overwrite``); the message names the first such file and counts the others."""
    input_set = {real(p) for p in inputs}
    existing: list[Path] = []
    for target in targets:
        target = Path(target)
        if real(target) in input_set:
            raise SegstudioError(f"refusing to write {target}: it is one of the inputs (nothing writes over "
                                 "its own input); give another output")
        if target.is_dir():
            raise SegstudioError(f"refusing to write {target}: a folder of that name exists")
        if target.exists() or target.is_symlink():
            existing.append(target)
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise SegstudioError(f"{existing[0]} already exists{more}; use {option} to replace it")
