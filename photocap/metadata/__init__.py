"""Descriptions other applications keep in and beside photos: read on scan, written on request.

No Qt, no torch, no database: Pillow and defusedxml to read, exiv2 (pyexiv2) to write.
"""

from photocap.metadata.read import (
    SIDECAR_SUFFIXES,
    Described,
    is_junk,
    newest_sidecar,
    photos_for_sidecar,
    read_descriptions,
    sidecar_paths,
    takeout_paths,
)
from photocap.metadata.write import MetadataWriteError, can_embed, embed, target_sidecar, write_sidecar

__all__ = [
    "SIDECAR_SUFFIXES",
    "Described",
    "MetadataWriteError",
    "can_embed",
    "embed",
    "is_junk",
    "newest_sidecar",
    "photos_for_sidecar",
    "read_descriptions",
    "sidecar_paths",
    "takeout_paths",
    "target_sidecar",
    "write_sidecar",
]
