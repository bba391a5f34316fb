"""Project model, image and mask I/O, formats. numpy / Pillow / OpenCV only: no Qt, no torch."""

from __future__ import annotations
