"""The model versions the library knows, as a table: the built-in tagger first, then every
registered version, newest first. The name column is editable (a rename request goes out as a
signal; the library lane does the write, and the list is reloaded from it)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont

from photocap.ui.text import human_date

ModelIdRole = Qt.ItemDataRole.UserRole + 1  # the version's model id (None: the built-in tagger)
ActiveRole = Qt.ItemDataRole.UserRole + 2  # bool
BUILTIN_NAME = "ImageNet tags (built in)"
COLUMNS = ("Name", "Made", "Held-out CIDEr", "BLEU-4", "")
_Index = QModelIndex | QPersistentModelIndex


def version_name(info) -> str:
    """What the user calls a version: its name, else a short form of its id."""
    if info is None:
        return BUILTIN_NAME
    return info.name or f"Model {info.model_id[:12]}"


def lineage(versions: Sequence, active_id: str | None) -> list:
    """The active version and its ancestors, oldest first (a loop or a missing parent ends it)."""
    by_id = {v.model_id: v for v in versions}
    chain, seen = [], set()
    node = by_id.get(active_id) if active_id else None
    while node is not None and node.model_id not in seen:
        seen.add(node.model_id)
        chain.append(node)
        node = by_id.get(node.parent_model_id) if node.parent_model_id else None
    return chain[::-1]


def rollback_target(versions: Sequence) -> tuple[bool, str | None]:
    """(possible, model id) of what "Roll back" activates: the version active before the current
    one (latest ``activated_at`` among the others), else the built-in tagger (None)."""
    active = next((v for v in versions if v.active), None)
    if active is None:
        return False, None
    earlier = [v for v in versions if not v.active and v.activated_at is not None and v.path]
    if earlier:
        return True, max(earlier, key=lambda v: v.activated_at).model_id
    return True, None


def _metric(info, *keys: str) -> float | None:
    for k in keys:
        v = (info.metrics or {}).get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


class ModelVersionsModel(QAbstractTableModel):
    rename_requested = Signal(str, str)  # model id, new name

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = [None]  # None: the built-in tagger
        self._active: str | None = None

    # ---- data in ----------------------------------------------------------------------------
    def set_versions(self, versions: Sequence) -> None:
        self.beginResetModel()
        newest = sorted(versions, key=lambda v: v.created_at or _dt.datetime.min, reverse=True)
        self._rows = [None, *newest]
        active = next((v for v in versions if v.active), None)
        self._active = active.model_id if active else None
        self.endResetModel()

    def versions(self) -> list:
        return [r for r in self._rows if r is not None]

    def info(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, model_id: str | None) -> int:
        return next((i for i, r in enumerate(self._rows) if (r.model_id if r else None) == model_id), -1)

    # ---- Qt ---------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if index.column() == 0 and self._rows[index.row()] is not None:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        info, col = self._rows[index.row()], index.column()
        model_id = info.model_id if info else None
        active = model_id == self._active
        if role == ModelIdRole:
            return model_id
        if role == ActiveRole:
            return active
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == 0:
                return version_name(info)
            if col == 4 and active:
                return "Active"
            if info is None:
                return "" if col != 1 else "ships with photocap"
            if col == 1:
                return human_date(info.created_at) if info.created_at else ""
            if col in (2, 3):
                v = _metric(info, *(("CIDEr", "cider") if col == 2 else ("BLEU-4", "bleu4")))
                return "" if v is None else f"{v:.2f}"
            if col == 4:
                return "File missing" if not info.path else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            if info is None:
                return "Describes photos by the ImageNet classes the encoder sees (no sentences)."
            lines = [f"Model id {info.model_id}"]
            if info.path:
                lines.append(info.path)
            if info.parent_model_id:
                lines.append(f"Taught from {info.parent_model_id}")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.FontRole and active:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: _Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() != 0:
            return False
        info = self._rows[index.row()]
        name = str(value or "").strip()
        if info is None or not name or name == version_name(info):
            return False
        self.rename_requested.emit(info.model_id, name)  # shown once the library has it
        return True
