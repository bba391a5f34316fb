"""Error types for user-facing problems: each message names the file or the value at fault."""

from __future__ import annotations

from pathlib import Path


class SegstudioError(Exception):
    """A problem caused by input the user can fix; ``str(err)`` is a one-line message."""


class ImageLoadError(SegstudioError):
    """An image file could not be read (unreadable, truncated, unsupported, too large)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


class ImageTooLargeError(ImageLoadError):
    """The image exceeds the decompression-bomb pixel limit; the caller may ask and retry."""

    def __init__(self, path: str | Path, pixels: int, limit: int) -> None:
        self.pixels = pixels
        self.limit = limit
        super().__init__(
            path,
            f"{pixels:,} pixels is over the limit of {limit:,} "
            "(possible decompression bomb; raise the limit if you trust the file)",
        )


class MaskError(SegstudioError):
    """A mask file is unreadable, has the wrong size, or needs a value-to-class mapping."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"mask {self.path}: {reason}")


class MaskNeedsMappingError(MaskError):
    """A mask not written by segstudio (L-mode, binary 0/255, 16-bit) needs a value-to-class map."""

    def __init__(self, path: str | Path, values: list[int]) -> None:
        self.values = values
        shown = ", ".join(str(v) for v in values[:12]) + (" ..." if len(values) > 12 else "")
        super().__init__(
            path,
            f"not a segstudio mask (values {shown}); give a value-to-class mapping, "
            "e.g. --mask-map 0:0,255:1",
        )


class ProjectError(SegstudioError):
    """The project folder or its segstudio.json is invalid."""


class UnsafePathError(SegstudioError):
    """A path read from a file points outside the folder it must stay in."""

    def __init__(self, path: str, base: str | Path) -> None:
        self.path = path
        self.base = Path(base)
        super().__init__(f"refusing path {path!r}: it points outside {self.base}")


class InvalidPathError(SegstudioError):
    """A path read from a file cannot be a file name here (too long, undecodable characters)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        shown = repr(path) if len(path) <= 80 else repr(path[:80]) + "..."
        super().__init__(f"refusing path {shown}: not a usable file name ({reason})")


class SaveError(SegstudioError):
    """A file could not be written; the previous version on disk is untouched."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot save {self.path}: {reason}")


class ChannelMismatchError(SegstudioError):
    """An image's channels (count or dtype) differ from the project's or the model's channel description."""

    def __init__(self, path: str | Path, found: str, expected: str, hint: str = "") -> None:
        self.path = Path(path)
        self.found = found
        self.expected = expected
        super().__init__(f"image {self.path} has {found}, but {expected}" + (f"; {hint}" if hint else ""))
