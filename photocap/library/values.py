"""The library's plain constants: caption sources, photo and folder statuses, export formats,
the names of the library's settings.

Plain constants, importable without SQLAlchemy (the command line's search reads the file
with plain sqlite3: :mod:`photocap.library.reader`); :mod:`.schema` re-exports them.
"""

# caption sources
SOURCE_USER = "user"
SOURCE_MODEL = "model"
SOURCE_TAGS = "tags"
SOURCE_IMPORTED = "imported"
TAG_IMPORTED = "imported"  # Tag.source of keywords read from a photo's metadata
SOURCES = (SOURCE_USER, SOURCE_MODEL, SOURCE_TAGS, SOURCE_IMPORTED)
AUTOMATIC_SOURCES = (SOURCE_MODEL, SOURCE_TAGS)  # what "needs review" and re-captioning are about

# photo statuses
STATUS_OK = "ok"
STATUS_MISSING = "missing"  # the file is gone (deleted, moved away, folder unplugged): captions kept
STATUS_ERROR = "error"  # the file is there but could not be read; ``error`` says why

# folder statuses
FOLDER_OK = "ok"
FOLDER_MISSING = "missing"

# what ``photocap export`` writes and the exchange module reads (photocap.library.exchange)
EXPORT_FORMATS = ("csv", "json", "xmp")

# Library settings (stored in the file, so the app and the command line follow the same ones)
SETTING_WRITE_SIDECARS = "metadata.write_sidecars"  # the user's captions go to XMP sidecars too
SETTING_EMBED = "metadata.embed"  # ... into the photo itself (JPEG/TIFF/PNG/WebP), sidecar otherwise
SETTING_TEACH_IMPORTED = "teach.include_imported"  # imported captions teach too
SETTING_DEFAULTS = {SETTING_WRITE_SIDECARS: False, SETTING_EMBED: False, SETTING_TEACH_IMPORTED: True}
