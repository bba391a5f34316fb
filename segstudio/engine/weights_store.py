"""Getting weights files into the weights folder, only on the user's request: download and import.

:func:`download` fetches an entry's file from torchvision's server, a mirror URL or a local folder;
:func:`import_file` copies a file obtained elsewhere (for machines without internet). Both stream into
a temp file in the weights folder while hashing, check the checksum, fsync and ``os.replace`` into
place: a failed, interrupted or cancelled transfer leaves nothing behind. No torch, no new dependency
(urllib); importing this module loads no torch (resolving a weights *name* does, via the registry).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote, urlparse

from segstudio import __version__
from segstudio.core.atomic import fsync_dir
from segstudio.core.errors import SegstudioError
from segstudio.engine import weights as W

#: progress(bytes done, total bytes or None when unknown)
Progress = Callable[[int, "int | None"], None]
CHUNK = 1 << 20
TEMP_PREFIX = ".segstudio-weights-"
TEMP_SUFFIX = ".part"
#: temp files of a transfer that was killed (no cleanup ran) are removed when older than this
STALE_TEMP_S = 3600.0


class DownloadError(SegstudioError):
    """A download or import failed; nothing was written."""


class DownloadCancelled(DownloadError):
    """The caller's cancel flag stopped the transfer; nothing was written."""


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # once at import: os.umask is process-wide and not thread-safe


@dataclass
class _Source:
    """An opened transfer: its description for messages, total size (None: unknown) and its chunks."""

    where: str
    total: int | None
    chunks: Iterator[bytes]
    close: Callable[[], None]


# ---------------------------------------------------------------------------------- public API
def download(name: str | W.WeightsEntry, source: str | Path | None = None, *, progress: Progress | None = None,
             cancel: Callable[[], bool] | None = None, folder: str | Path | None = None,
             timeout: float = 30.0) -> Path:
    """Fetch a weights file into the weights folder and return its path there.

    ``name``: a registry entry or its name / file name / model name (:func:`weights.find_entry`).
    ``source``: None for the official URL; a mirror URL (a base to which the file name is appended,
    or the file's own URL) or a local folder holding the file. ``progress(done, total)`` is called
    after every chunk; ``cancel()`` returning True stops the transfer (:class:`DownloadCancelled`).
    A file already present with the right checksum is not fetched again. Raises
    :class:`DownloadError` with one line naming the URL or file on any failure; nothing is left behind.
    """
    entry = name if isinstance(name, W.WeightsEntry) else W.find_entry(name)
    dest_dir = Path(folder) if folder is not None else W.weights_dir()
    dest = W.weights_path(entry, dest_dir)
    try:
        if W.verified_file(entry, dest_dir) is not None:
            if progress is not None:
                size = dest.stat().st_size
                progress(size, size)
            return dest
    except SegstudioError:
        pass  # a damaged copy: fetched again and replaced atomically
    src = _open_source(entry, source, timeout)
    try:
        def check(sha: str, n: int) -> Path:
            if src.total is not None and n != src.total:
                raise DownloadError(f"download of {src.where} was interrupted after {n:,} of {src.total:,} bytes; "
                                    "nothing was saved")
            if not entry.matches(sha):
                raise DownloadError(f"{src.where} is not {entry.name}: its sha256 {sha[:16]}... does not match the "
                                    f"published checksum {entry.sha256}; nothing was saved")
            return dest

        return _write_verified(dest_dir, src.chunks, check, src.total, progress, cancel, entry.file_name)
    finally:
        src.close()


def import_file(path: str | Path, *, folder: str | Path | None = None, progress: Progress | None = None,
                cancel: Callable[[], bool] | None = None) -> tuple[W.WeightsEntry, Path]:
    """Copy a weights file obtained elsewhere into the weights folder after checking it is what it claims.

    The file is identified by its name (``resnet50-0676ba61.pth``) and must then match that entry's
    checksum; a renamed file is identified by its checksum alone. Anything else raises SegstudioError
    naming the file. ``progress`` and ``cancel`` work as in :func:`download`. Returns the entry and the
    path in the weights folder.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise SegstudioError(f"weights file {path} does not exist" if not path.exists()
                             else f"{path} is not a file")
    entries = W.registry()
    by_name = next((e for e in entries if e.file_name.lower() == path.name.lower()), None)
    dest_dir = Path(folder) if folder is not None else W.weights_dir()
    found: list[W.WeightsEntry] = []

    def identify(sha: str, n: int) -> Path:
        if by_name is not None:
            if not by_name.matches(sha):
                raise SegstudioError(f"refusing {path}: it is named like {by_name.name} but its sha256 {sha[:16]}... "
                                     f"does not match the published checksum {by_name.sha256} (a damaged or "
                                     "different file)")
            found.append(by_name)
        else:
            match = next((e for e in entries if e.matches(sha)), None)
            if match is None:
                raise SegstudioError(f"refusing {path}: not a known weights file (sha256 {sha[:16]}...); known: "
                                     f"{', '.join(e.file_name for e in entries)}")
            found.append(match)
        return W.weights_path(found[0], dest_dir)

    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise SegstudioError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        chunks = _file_chunks(fh, str(path))
        dest = _write_verified(dest_dir, chunks, identify, size, progress, cancel, path.name)
    return found[0], dest


# ---------------------------------------------------------------------------------- sources
def source_url(entry: W.WeightsEntry, source: str | Path | None) -> str:
    """The URL (or local path) a transfer of ``entry`` reads from, for messages and the CLI."""
    if source is None:
        return entry.url
    text = str(source)
    if _is_url(text):
        if text.rstrip("/").rsplit("/", 1)[-1] == entry.file_name:
            return text
        return text.rstrip("/") + "/" + quote(entry.file_name)
    p = Path(text).expanduser()
    return str(p if p.name == entry.file_name else p / entry.file_name)


def _is_url(text: str) -> bool:
    return len(urlparse(text).scheme) > 1  # "C:\\..." has a one-letter scheme: a Windows path


def _open_source(entry: W.WeightsEntry, source: str | Path | None, timeout: float) -> _Source:
    where = source_url(entry, source)
    if source is not None and not _is_url(str(source)):
        folder = Path(str(source)).expanduser()
        if not folder.exists():
            raise DownloadError(f"mirror folder {folder} does not exist")
        p = Path(where)
        if not p.is_file():
            raise DownloadError(f"mirror folder {p.parent} has no {entry.file_name}")
        try:
            fh = open(p, "rb")
        except OSError as exc:
            raise DownloadError(f"cannot read {p}: {exc.strerror or exc}") from None
        return _Source(str(p), os.fstat(fh.fileno()).st_size, _file_chunks(fh, str(p)), fh.close)
    req = urllib.request.Request(where, headers={"User-Agent": f"segstudio/{__version__}"})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s)/file URL the user chose
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"cannot download {where}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot reach {where}: {_reason(reason)} (offline? use 'segstudio weights import FILE' "
                            "or --from a mirror)") from None
    length = resp.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    return _Source(where, total, _http_chunks(resp, where), resp.close)


def _reason(reason: object) -> str:
    if isinstance(reason, socket.timeout):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _http_chunks(resp, where: str) -> Iterator[bytes]:
    while True:
        try:
            chunk = resp.read(CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"download of {where} was interrupted ({_reason(exc)}); nothing was saved") from None
        if not chunk:
            return
        yield chunk


def _file_chunks(fh, where: str) -> Iterator[bytes]:
    while True:
        try:
            chunk = fh.read(CHUNK)
        except OSError as exc:
            raise DownloadError(f"cannot read {where}: {exc.strerror or exc}") from None
        if not chunk:
            return
        yield chunk


# ---------------------------------------------------------------------------------- the atomic write
def _write_verified(folder: Path, chunks: Iterator[bytes], finish: Callable[[str, int], Path], total: int | None,
                    progress: Progress | None, cancel: Callable[[], bool] | None, label: str) -> Path:
    """Stream ``chunks`` into a temp file in ``folder`` while hashing; ``finish(sha256, n)`` checks them and
    names the destination; then fsync and ``os.replace``. On any failure the temp file is removed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(folder)
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise SegstudioError(f"cannot write into the weights folder {folder}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        sha, n = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                if cancel is not None and cancel():
                    raise DownloadCancelled(f"transfer of {label} cancelled; nothing was saved")
                out.write(chunk)
                sha.update(chunk)
                n += len(chunk)
                if progress is not None:
                    progress(n, total)
            if cancel is not None and cancel():
                raise DownloadCancelled(f"transfer of {label} cancelled; nothing was saved")
            out.flush()
            os.fsync(out.fileno())
        dest = finish(sha.hexdigest(), n)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, dest)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise SegstudioError(f"cannot write into the weights folder {folder}: {exc.strerror or exc}") from None
        raise
    fsync_dir(folder)
    return dest


def _remove_stale_temps(folder: Path) -> None:
    """Temp files left by a transfer that was killed before it could clean up."""
    now = time.time()
    for p in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        try:
            if now - p.stat().st_mtime > STALE_TEMP_S:
                p.unlink()
        except OSError:
            pass
