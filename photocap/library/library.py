"""The ``Library`` facade: the one object the CLI, the Qt app and the trainer talk to.

Thread-safe by construction: every call opens its own session for one unit of work and
closes it before returning, so any thread may call any method (the Qt app calls it
from worker threads; watchdog's thread never does, see :mod:`photocap.ingest.watcher`).
Writes begin with ``BEGIN IMMEDIATE`` and wait on SQLite's busy timeout, so concurrent
writers queue instead of failing. Results are plain dataclasses from :mod:`.records`,
never ORM objects.

Units of work, for code outside the store that writes rows itself (:mod:`photocap.ingest`:
the scanner and the watcher) with the store's session functions (:mod:`.photos`)::

    with lib.reading() as session: ...             # one read transaction
    with lib.writing(durable=False) as session: ...  # one write transaction, committed at the end
    with lib.reading_sql() as conn: ...            # the same, as a plain sqlite3 connection
    with lib.writing_sql() as conn: ...

Scanning and watching are not methods: ``photocap.ingest.scan(lib, folder)``,
``photocap.ingest.apply_changes(lib, changes)`` (the store never imports ingest).

API (all paths may be ``str`` or ``PathLike[str]``)::

    open_library(path=None, create=True, read_only=None, check=True) -> Library   # the one way in
    add_folder(path, polling=False) -> FolderInfo
    remove_folder(folder, delete_photos=False)      # default keeps photos, marked missing
    set_folder_polling(folder, polling)              # watch it by polling (network share, watch limit)
    folders() -> list[FolderInfo]                    # with photo and missing counts
    folder_for(path) -> FolderInfo | None            # the watched folder holding path
    photos_needing_caption(model_id, limit=None, first_ids=None) -> list[PhotoRef]
    count_needing_caption(model_id) -> int
    record_caption(photo_id, text, source, model_version=None, tags=None, file_version=None) -> bool
    set_user_caption(photo_id, text) -> str | None ; mark_reviewed(photo_id, reviewed=True)
    get_setting(key) -> bool ; set_setting(key, value)   # metadata.write_sidecars, metadata.embed, ...
    record_problem(path_or_id, reason) ; problems() -> list[Problem]
    photo_by_path(path) -> PhotoSummary | None ; photo_detail(photo_id) -> PhotoDetail | None
    list_photo_ids(filter=None, order="taken", offset=0, limit=None) -> list[int]
    count_photos(filter=None) -> int ; photos_by_ids(ids) -> list[PhotoSummary]
    search(query, filters=None, limit=50, offset=0, marks=("[", "]"), should_stop=None, query_vector=None,
           vector_model=None) -> list[SearchHit]
    texts_needing_vectors(model_id, limit) -> [(photo id, text)] ; store_text_vectors(model_id, items) -> int
    count_needing_vectors(model_id) -> int ; store_image_feature(photo_id, encoder_id, vector)
    similar_photos(photo_id, limit=50) -> list[SearchHit] | None ; similar_to_vector(encoder_id, vector, limit)
    user_captions(split=None) -> list[UserCaption]
    register_model_version(model_id, path, name=None, parent_model_id=None, metrics=None)
    model_versions() ; active_model() ; activate_model(model_id)   # rollback = activate older
    remove_model_version(model_id) ; rename_model_version(model_id, name) ; models_folder
    teaching_stats() -> dict                                         # user, imported, since_last
    start_training_run(base_model_id=None, params=None, n_examples=None) -> int
    finish_training_run(run_id, status="done", result_model_id=None, metrics=None, error=None)
    training_runs() ; check_integrity() -> list[str] ; integrity_check_due() -> bool ; close()
    export_captions(sources=("user", "imported")) -> list[dict] ; import_captions(rows) -> ImportReport

``sql_engine`` is the library's SQLAlchemy engine (the SQL engine; "engine" alone is the caption engine).

A library opened read-only (``read_only``, ``why_read_only``) answers every read; every
write raises :class:`~photocap.library.db.LibraryReadOnly`. SQLite errors met on the way
become :class:`~photocap.library.db.LibraryFull` / ``LibraryReadOnly`` / ``LibraryCorrupt``
(one line for people, see :func:`photocap.library.db.translate`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from photocap.library import captions, exchange, hybrid, model_versions, photos, vector_rows, vectors
from photocap.library import search as _search
from photocap.library.db import (
    CHECK_EVERY,
    DURABLE_OPTION,
    WRITE_OPTION,
    LibraryReadOnly,
    driver_connection,
    make_checked_backup,
    open_sql_engine,
    translate,
)
from photocap.library.fts import INTEGRITY_SQL
from photocap.library.records import (
    FolderInfo,
    ModelVersionInfo,
    PhotoDetail,
    PhotoRef,
    PhotoSummary,
    Problem,
    SearchHit,
    TrainingRunInfo,
    UserCaption,
)
from photocap.library.schema import Folder, LibrarySetting, Photo
from photocap.library.schema import Problem as ProblemRow
from photocap.library.search import PhotoFilter
from photocap.library.values import (
    SETTING_DEFAULTS,
    SETTING_EMBED,
    SETTING_WRITE_SIDECARS,
    SOURCE_IMPORTED,
    STATUS_ERROR,
    STATUS_MISSING,
)


def _driver(session: Session) -> sqlite3.Connection:
    """The plain sqlite3 connection under ``session``'s transaction (begun by SQLAlchemy)."""
    return driver_connection(session.connection().connection)


class Library:
    def __init__(self, sql_engine: Engine, path: Path, read_only: bool = False, why_read_only: str | None = None):
        self.path = path
        self.sql_engine = sql_engine
        self.read_only = read_only
        self.why_read_only = why_read_only if read_only else None
        self._reader = sessionmaker(sql_engine, expire_on_commit=False)
        self._writer = sessionmaker(sql_engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        self._durable_writer = sessionmaker(
            sql_engine.execution_options(**{WRITE_OPTION: True, DURABLE_OPTION: True}), expire_on_commit=False
        )
        self._vectors = vectors.VectorStore()

    # ---- units of work (public: photocap.ingest writes through them) --------------------
    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read transaction: a session on a consistent snapshot, closed when the block ends.
        Take plain values out of it, not ORM objects (their session is gone after the block)."""
        with self._transaction(self._reader) as s:
            yield s

    @contextmanager
    def writing(self, durable: bool = False) -> Iterator[Session]:
        """One write transaction (``BEGIN IMMEDIATE``), committed when the block ends, rolled back if it
        raises; ``durable``: the user's own change, on the disk before this returns. Keep file I/O
        outside it: other writers wait while it is open. A read-only library raises ``LibraryReadOnly``."""
        if self.read_only:
            raise LibraryReadOnly(f"{self.path} is open read-only ({self.why_read_only}): changes cannot be saved.")
        with self._transaction(self._durable_writer if durable else self._writer) as s:
            yield s

    @contextmanager
    def _transaction(self, sessions: sessionmaker[Session]) -> Iterator[Session]:
        """A session of ``sessions`` in one transaction; driver errors as the library errors people read."""
        try:
            with sessions() as s, s.begin():
                yield s
        except Exception as error:
            translated = translate(error, self.path)
            if translated is error:
                raise
            raise translated from error

    @contextmanager
    def reading_sql(self) -> Iterator[sqlite3.Connection]:
        """A read transaction's plain sqlite3 connection (search, vectors: SQL written out)."""
        with self.reading() as s:
            yield _driver(s)

    @contextmanager
    def writing_sql(self) -> Iterator[sqlite3.Connection]:
        """A write transaction's plain sqlite3 connection (automatic writes, ``synchronous=NORMAL``)."""
        with self.writing() as s:
            yield _driver(s)

    def close(self) -> None:
        self.sql_engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- folders -----------------------------------------------------------------------
    def add_folder(self, path: str | os.PathLike[str], polling: bool = False) -> FolderInfo:
        """Watch ``path``. Inside an already watched folder: that folder is returned (set to be
        watched by polling if ``polling``).
        Around watched folders: they are merged into the new one.

        Watched folders never nest: a sub-folder of a watched folder is that folder. The
        check and the insert are one ``BEGIN IMMEDIATE`` transaction, so any number of
        processes and threads adding the same or nested folders at once agree."""
        path = photos.norm(path)
        with self.writing(durable=True) as s:
            inside = photos.root_of(s, path)
            if inside is not None:
                folder_id = inside.id
                if polling and not inside.polling:
                    inside.polling = True
            else:
                folder = Folder(path=path, polling=polling, status="ok")
                s.add(folder)
                s.flush()
                nested = s.scalars(select(Folder).where(photos.under(Folder.path, path))).all()
                for child in nested:
                    s.execute(update(Photo).where(Photo.folder_id == child.id).values(folder_id=folder.id))
                    s.delete(child)
                s.execute(
                    update(Photo)
                    .where(photos.under(Photo.path, path), Photo.folder_id.is_(None))
                    .values(folder_id=folder.id)
                )
                if nested:
                    photos.relabel(s, path)
                folder_id = folder.id
        return self._folder_info(folder_id)

    def remove_folder(self, folder: int | str | os.PathLike[str], delete_photos: bool = False) -> None:
        """Stop following a folder. Its photos stay (missing, captions kept) unless ``delete_photos``."""
        folder_id = self._folder_id(folder)
        with self.writing(durable=True) as s:
            row = s.get(Folder, folder_id)
            if row is None:
                raise KeyError(f"folder {folder_id} is not a library folder")
            if delete_photos:
                s.execute(delete(Photo).where(Photo.folder_id == folder_id))
            else:
                photos.mark_missing(s, prefix=row.path)
            s.delete(row)

    def set_folder_polling(self, folder: int | str | os.PathLike[str], polling: bool) -> None:
        """Watch this folder by polling (network shares, or when the system's watch limit is reached)."""
        folder_id = self._folder_id(folder)
        with self.writing() as s:
            s.execute(update(Folder).where(Folder.id == folder_id).values(polling=polling))

    def folders(self) -> list[FolderInfo]:
        with self.reading() as s:
            ids = list(s.scalars(select(Folder.id).order_by(Folder.path)))
        return [self._folder_info(i) for i in ids]

    def folder_for(self, path: str | os.PathLike[str]) -> FolderInfo | None:
        path = photos.norm(path)
        for f in self.folders():
            if photos.is_inside(path, f.path):
                return f
        return None

    def _folder_info(self, folder_id: int) -> FolderInfo:
        with self.reading() as s:
            f = s.get(Folder, folder_id)
            if f is None:
                raise KeyError(f"folder {folder_id} is not a library folder")
            counts = dict(
                s.execute(
                    select(Photo.status == STATUS_MISSING, func.count())
                    .where(Photo.folder_id == folder_id)
                    .group_by(Photo.status == STATUS_MISSING)
                ).all()
            )
            return FolderInfo(
                f.id, f.path, f.status, f.polling, counts.get(False, 0), counts.get(True, 0), f.last_scan_at
            )

    def _folder_id(self, folder: int | str | os.PathLike[str]) -> int:
        if isinstance(folder, int):
            return folder
        with self.reading() as s:
            folder_id = s.scalar(select(Folder.id).where(Folder.path == photos.norm(folder)))
        if folder_id is None:
            raise KeyError(f"{folder} is not a library folder")
        return folder_id

    # ---- captions ----------------------------------------------------------------------
    def photos_needing_caption(
        self, model_id: str, limit: int | None = None, first_ids: Sequence[int] | None = None
    ) -> list[PhotoRef]:
        with self.reading() as s:
            return captions.needing_caption(s, model_id, limit, first_ids)

    def count_needing_caption(self, model_id: str) -> int:
        """How many photos :meth:`photos_needing_caption` would list (one COUNT query)."""
        with self.reading() as s:
            return captions.count_needing_caption(s, model_id)

    def record_caption(
        self,
        photo_id: int,
        text: str,
        source: str,
        model_version: str | None = None,
        tags: Sequence[tuple[str, float]] | None = None,
        file_version: tuple[int, int] | None = None,
        confidence: float | None = None,
    ) -> bool:
        """Write an automatic caption; False (and nothing changed) if the user wrote the current one,
        or if ``file_version`` ((size, mtime_ns) read before decoding) is not the file the library
        has recorded (the photo stays queued). ``confidence``: how sure the model was (0-1)."""
        with self.writing(durable=source == SOURCE_IMPORTED) as s:  # imported captions are people's words
            return captions.record_caption(s, photo_id, text, source, model_version, tags, file_version, confidence)

    def set_user_caption(self, photo_id: int, text: str) -> str | None:
        """Save the user's caption. With "write captions to XMP" on (:meth:`set_setting`), also write it
        where other apps read it; returns why that part failed (the caption is saved either way), or None."""
        with self.writing(durable=True) as s:
            path = captions.set_user_caption(s, photo_id, text)
            sidecars, embedded = (self._setting(s, k) for k in (SETTING_WRITE_SIDECARS, SETTING_EMBED))
        if not (sidecars or embedded):
            return None
        return self._write_metadata(path, " ".join(text.split()), embedded)

    @staticmethod
    def _write_metadata(path: str, text: str, embedded: bool) -> str | None:
        from photocap.metadata import MetadataWriteError, can_embed, embed, write_sidecar

        try:
            if embedded and can_embed(path):
                embed(path, text)
            else:
                write_sidecar(path, text)
        except (MetadataWriteError, OSError) as exc:
            return f"saved in the library, but not written to the photo's metadata: {exc}"
        return None

    # ---- preferences that belong to the library ----------------------------------------------
    def get_setting(self, key: str) -> bool:
        with self.reading() as s:
            return self._setting(s, key)

    @staticmethod
    def _setting(s: Session, key: str) -> bool:
        row = s.get(LibrarySetting, key)
        return (row.value == "1") if row is not None else SETTING_DEFAULTS.get(key, False)

    def set_setting(self, key: str, value: bool) -> None:
        if key not in SETTING_DEFAULTS:
            raise KeyError(f"unknown library setting {key!r}")
        with self.writing(durable=True) as s:
            s.merge(LibrarySetting(key=key, value="1" if value else "0"))

    def mark_reviewed(self, photo_id: int, reviewed: bool = True) -> None:
        with self.writing(durable=True) as s:
            captions.mark_reviewed(s, photo_id, reviewed)

    def record_problem(self, path_or_id: int | str | os.PathLike[str], reason: str) -> None:
        """A photo that failed (status "error", not retried until the file changes), or any other path."""
        with self.writing() as s:
            if isinstance(path_or_id, int):
                photo = s.get(Photo, path_or_id)
                if photo is None:
                    raise KeyError(path_or_id)
            else:
                path = photos.norm(path_or_id)
                photo = s.scalars(select(Photo).where(Photo.path == path)).one_or_none()
            if photo is not None:
                photo.status, photo.error = STATUS_ERROR, reason
                return
            row = s.scalars(select(ProblemRow).where(ProblemRow.path == path)).one_or_none()
            if row is None:
                s.add(ProblemRow(path=path, reason=reason))
            else:
                row.reason = reason

    def problems(self) -> list[Problem]:
        """Photos with status "error" and other recorded problems, by path."""
        with self.reading() as s:
            out = [
                Problem(p, r or "")
                for p, r in s.execute(
                    select(Photo.path, Photo.error).where(Photo.status == STATUS_ERROR).order_by(Photo.path)
                )
            ]
            out += [Problem(p.path, p.reason) for p in s.scalars(select(ProblemRow).order_by(ProblemRow.path))]
        return out

    # ---- photos ------------------------------------------------------------------------
    def photo_by_path(self, path: str | os.PathLike[str]) -> PhotoSummary | None:
        with self.reading() as s:
            pid = s.scalar(select(Photo.id).where(Photo.path == photos.norm(path)))
        return self.photos_by_ids([pid])[0] if pid is not None else None

    def photos_by_ids(self, ids: Sequence[int]) -> list[PhotoSummary]:
        """Summaries in the order of ``ids`` (unknown ids are left out)."""
        found: dict[int, PhotoSummary] = {}
        ids = list(ids)
        with self.reading() as s:
            for i in range(0, len(ids), 900):
                for p in s.execute(
                    select(
                        Photo.id,
                        Photo.path,
                        Photo.name,
                        Photo.status,
                        Photo.caption,
                        Photo.caption_source,
                        Photo.reviewed,
                        Photo.taken_at,
                        Photo.width,
                        Photo.height,
                    ).where(Photo.id.in_(ids[i : i + 900]))
                ):
                    found[p.id] = PhotoSummary(*p[:10])  # the ten columns (SQLAlchemy types the row with an open tail)
        return [found[i] for i in ids if i in found]

    def photo_detail(self, photo_id: int) -> PhotoDetail | None:
        with self.reading() as s:
            p = s.get(Photo, photo_id)
            if p is None:
                return None
            folder = p.folder.path if p.folder else None
            return PhotoDetail(
                p.id,
                p.path,
                folder,
                p.status,
                p.error,
                p.caption,
                p.caption_source,
                p.caption_model,
                p.reviewed,
                captions.history(s, p.id),
                captions.tags(s, p.id),
                p.size,
                p.mtime_ns,
                p.identity,
                p.width,
                p.height,
                p.format,
                p.taken_at,
                p.camera,
            )

    def list_photo_ids(
        self, filter: PhotoFilter | None = None, order: str = "taken", offset: int = 0, limit: int | None = None
    ) -> list[int]:
        """Ids for a grid (orders: taken, -taken, path, added, -added); fetch rows with photos_by_ids."""
        with self.reading_sql() as conn:
            return _search.list_ids(conn, filter, order, offset, limit)

    def count_photos(self, filter: PhotoFilter | None = None) -> int:
        with self.reading_sql() as conn:
            return _search.count(conn, filter)

    def search(
        self,
        query: str,
        filters: PhotoFilter | None = None,
        limit: int = 50,
        offset: int = 0,
        marks: tuple[str, str] = ("[", "]"),
        should_stop: Callable[[], bool] | None = None,
        query_vector: Any = None,
        vector_model: str | None = None,
    ) -> list[SearchHit]:
        """Ranked hits for whatever the user typed; never raises on odd input. A library that
        cannot answer raises a :class:`~photocap.library.search.SearchError` saying why;
        ``should_stop()`` turning true stops it with ``SearchCancelled``.

        With ``query_vector`` (the query's sentence vector from ``vector_model``) photos are
        found by meaning too, fused with the word ranking (see :mod:`.hybrid`)."""
        try:
            with self.reading_sql() as conn:
                if query_vector is None:
                    return _search.search(conn, query, filters, limit, offset, marks, should_stop)
                return hybrid.fused_search(
                    conn, self._vectors, query, query_vector, vector_model, filters, limit, offset, marks, should_stop
                )
        except sa_exc.DBAPIError as error:  # opening the read transaction, before the search ran
            raise _search.explain(error) from error

    # ---- meaning: sentence vectors and image features ---------------------------------------
    def texts_needing_vectors(self, model_id: str, limit: int = 64) -> list[tuple[int, str]]:
        """(photo id, text to embed) for photos with words and no sentence vector from ``model_id``."""
        with self.reading_sql() as conn:
            return vector_rows.needing_text_vectors(conn, model_id, limit)

    def count_needing_vectors(self, model_id: str) -> int:
        with self.reading_sql() as conn:
            return vector_rows.count_needing_text_vectors(conn, model_id)

    def has_text_vectors(self, model_id: str | None = None) -> bool:
        """Whether any photo has a sentence vector (from ``model_id``, or from any model)."""
        with self.reading_sql() as conn:
            return vector_rows.has_text_vectors(conn, model_id)

    def warm_vectors(self, model_id: str) -> None:
        """Read the sentence vectors into memory now (seconds at 100,000 photos), so the first
        search by meaning does not pay for it; call from a background thread."""
        with self.reading_sql() as conn:
            self._vectors.matrix(conn, "text_vectors", model_id)

    def store_text_vectors(self, model_id: str, items: Sequence[tuple[int, str, Any]]) -> int:
        """Store (photo id, embedded text, vector); skips photos whose words changed meanwhile."""
        with self.writing_sql() as conn:
            return vectors.store_text_vectors(conn, model_id, items)

    def store_image_feature(self, photo_id: int, encoder_id: str, vector: Any) -> None:
        """Keep a photo's pooled encoder feature (float16) for "similar photos"."""
        with self.writing_sql() as conn:
            vectors.store_image_feature(conn, photo_id, encoder_id, vector)

    def similar_photos(self, photo_id: int, limit: int = 50) -> list[SearchHit] | None:
        """Photos that look like ``photo_id``, most alike first; None if it has no feature yet."""
        with self.reading_sql() as conn:
            return hybrid.similar_photos(conn, self._vectors, photo_id, limit)

    def similar_to_vector(self, encoder_id: str, vector: Any, limit: int = 50) -> list[SearchHit]:
        """Photos that look like a feature computed elsewhere (a photo outside the library)."""
        with self.reading_sql() as conn:
            return hybrid.similar_to_vector(conn, self._vectors, encoder_id, vector, limit)

    def user_captions(self, split: str | None = None, include_imported: bool = False) -> list[UserCaption]:
        with self.reading() as s:
            return captions.user_captions(s, split, include_imported=include_imported)

    # ---- models and training -----------------------------------------------------------
    def register_model_version(
        self,
        model_id: str,
        path: str | os.PathLike[str] | None,
        name: str | None = None,
        parent_model_id: str | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> ModelVersionInfo:
        with self.writing(durable=True) as s:
            return model_versions.register(
                s, model_id, os.fspath(path) if path else None, name, parent_model_id, metrics
            )

    def model_versions(self) -> list[ModelVersionInfo]:
        with self.reading() as s:
            return model_versions.versions(s)

    def active_model(self) -> ModelVersionInfo | None:
        with self.reading() as s:
            return model_versions.active(s)

    def activate_model(self, model_id: str | None) -> int:
        """Switch models (rollback = activate an older one); every automatic caption is marked to be
        described again by it (returns how many), user and imported captions are never touched."""
        with self.writing(durable=True) as s:
            return model_versions.activate(s, model_id)

    @property
    def models_folder(self) -> Path:
        """Where this library keeps its model files: ``models/`` beside the library file."""
        return self.path.parent / "models"

    def remove_model_version(self, model_id: str) -> ModelVersionInfo:
        """Forget a version and delete its file when it lies in :attr:`models_folder` (files
        elsewhere are the user's own and are left alone). The active version is refused."""
        with self.writing(durable=True) as s:
            info = model_versions.remove(s, model_id)
        if info.path and photos.is_inside(photos.norm(info.path), photos.norm(self.models_folder)):
            Path(info.path).unlink(missing_ok=True)
        return info

    def rename_model_version(self, model_id: str, name: str) -> ModelVersionInfo:
        with self.writing(durable=True) as s:
            return model_versions.rename(s, model_id, name)

    def teaching_stats(self) -> dict[str, Any]:
        """{"user": n, "imported": n, "since_last": n written since the last teaching, "last_taught_at"}."""
        with self.reading() as s:
            return model_versions.teaching_stats(s)

    def start_training_run(
        self, base_model_id: str | None = None, params: dict[str, Any] | None = None, n_examples: int | None = None
    ) -> int:
        with self.writing() as s:
            return model_versions.start_run(s, base_model_id, params, n_examples)

    def finish_training_run(
        self,
        run_id: int,
        status: str = "done",
        result_model_id: str | None = None,
        metrics: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self.writing(durable=True) as s:
            model_versions.finish_run(s, run_id, status, result_model_id, metrics, error)

    def training_runs(self) -> list[TrainingRunInfo]:
        with self.reading() as s:
            return model_versions.runs(s)

    # ---- captions in and out (CSV, JSON, XMP sidecars) -----------------------------------
    def export_captions(self, sources: Sequence[str] = ("user", "imported")) -> list[dict[str, Any]]:
        with self.reading() as s:
            return list(exchange.export_rows(s, sources))

    def import_captions(self, rows: Iterable[dict[str, Any]]) -> exchange.ImportReport:
        with self.writing(durable=True) as s:
            return exchange.import_rows(s, rows)

    # ---- health ------------------------------------------------------------------------
    def check_integrity(self, backup: bool = True) -> list[str]:
        """Problems SQLite finds in the file and in the search index (empty: all is well).

        Records when it ran (``NAME.check.json`` beside the library, so
        :meth:`integrity_check_due` knows) and, when all is well and ``backup``, leaves a
        backup of this sound library (``NAME.checked-DATE.bak``, the newest two kept): what
        a later restore brings back."""
        try:
            with self.sql_engine.connect() as conn:
                found = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check") if r[0] != "ok"]
        except sa_exc.DatabaseError as error:  # damaged beyond listing what is wrong
            return [str(error.orig)]
        if not self.read_only:
            try:
                with self.writing() as s:
                    s.connection().exec_driver_sql(INTEGRITY_SQL)
            except Exception as exc:
                found.append(f"search index: {exc}")
        if not self.read_only:
            try:
                self._check_record.write_text(
                    json.dumps({"checked_at": _dt.datetime.now().isoformat(timespec="seconds"), "problems": found[:20]})
                )
                if not found and backup:
                    make_checked_backup(self.sql_engine, self.path)
            except OSError as error:  # a full disk is said; the check's answer stands either way
                translated = translate(error, self.path)
                if translated is not error:
                    raise translated from error
        return found

    @property
    def _check_record(self) -> Path:
        return self.path.with_name(self.path.name + ".check.json")

    def last_integrity_check(self) -> _dt.datetime | None:
        try:
            return _dt.datetime.fromisoformat(json.loads(self._check_record.read_text())["checked_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def integrity_check_due(self, now: _dt.datetime | None = None) -> bool:
        """A full ``integrity_check`` has not run for a week (or ever) on a writable library."""
        if self.read_only:
            return False
        last = self.last_integrity_check()
        return last is None or (now or _dt.datetime.now()) - last >= CHECK_EVERY


def open_library(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = True,
    read_only: bool | None = None,
    check: bool = True,
) -> Library:
    """Open the library at ``path`` (default: the one in the user's data folder); see :mod:`.db`.

    ``create=False``: a missing library raises :class:`~photocap.library.db.LibraryNotFound` instead of
    being made. ``read_only``: None decides from the file's and folder's permissions; True forces it.
    ``check``: run ``quick_check`` before use (:class:`~photocap.library.db.LibraryCorrupt` if damaged).
    """
    opened = open_sql_engine(path, create=create, read_only=read_only, check=check)
    return Library(opened.sql_engine, opened.path, read_only=opened.read_only, why_read_only=opened.why_read_only)
