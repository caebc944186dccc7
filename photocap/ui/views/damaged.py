"""The dialog shown when the library file is found damaged (at start-up, or by the weekly check)."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

RESTORE, OTHER, QUIT = "restore", "other", "quit"


def damaged_dialog(parent: QWidget, error) -> QMessageBox:
    """A window-modal box for a ``LibraryCorrupt``; each button carries its action in the
    ``action`` property (``restore``, ``other``, ``quit``). Shown with ``open()``: never blocks."""
    box = QMessageBox(parent)
    box.setObjectName("DamagedLibrary")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("The library is damaged")
    newest = error.backups[0] if error.backups else None
    box.setText(f"The library file {error.path} is damaged, so photocap cannot use it.")
    found = "; ".join(error.problems[:3]) or "unreadable"
    if newest is not None:
        more = (
            f"The newest backup is from {newest.label} ({newest.kind}). Restoring it brings back the library "
            "as it was then: photos added since are found again by the next scan and described again, but "
            "caption edits made since then are not in it. The damaged file is kept aside, not deleted."
        )
    else:
        more = "No backup of it was found. You can open (or start) another library; the damaged file is left as it is."
    box.setInformativeText(more)
    box.setDetailedText(f"SQLite reports: {found}")
    if newest is not None:
        _button(box, f"Restore from backup of {newest.label}", QMessageBox.ButtonRole.AcceptRole, RESTORE)
    _button(box, "Open another library…", QMessageBox.ButtonRole.ActionRole, OTHER)
    quit_button = _button(box, "Quit", QMessageBox.ButtonRole.RejectRole, QUIT)
    box.setEscapeButton(quit_button)
    return box


def _button(box: QMessageBox, text: str, role, action: str):
    button = box.addButton(text, role)
    button.setProperty("action", action)
    return button
