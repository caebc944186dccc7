"""Look and feel: light/dark palettes, the style sheet in ``resources/style.qss``, icons."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from string import Template

from PySide6.QtCore import QByteArray, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from photocap import paths
from photocap.paths import resource_path


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    surface: str
    sidebar: str
    preview: str
    text: str
    muted: str
    border: str
    hover: str
    scroll: str
    accent: str
    accent_hover: str
    accent_soft: str
    on_accent: str
    ok: str
    ok_soft: str
    warn: str
    warn_soft: str
    bad: str
    bad_soft: str
    highlight: str  # matched words in captions

    @property
    def dark(self) -> bool:
        return self.name == "dark"


LIGHT = Theme(
    "light",
    window="#f7f8fa",
    surface="#ffffff",
    sidebar="#eff1f4",
    preview="#e9ecf0",
    text="#1c2026",
    muted="#6b7280",
    border="#e1e4e9",
    hover="#e7eaee",
    scroll="#c9ced6",
    accent="#3867f0",
    accent_hover="#2c56d6",
    accent_soft="#dfe7fd",
    on_accent="#ffffff",
    ok="#177245",
    ok_soft="#dcf3e6",
    warn="#8a5a00",
    warn_soft="#fdf0d2",
    bad="#b42318",
    bad_soft="#fde4e1",
    highlight="#fff1a8",
)
DARK = Theme(
    "dark",
    window="#17191d",
    surface="#1f2227",
    sidebar="#131518",
    preview="#0f1113",
    text="#e7e9ec",
    muted="#9299a3",
    border="#2c3037",
    hover="#2a2e35",
    scroll="#3b414a",
    accent="#7090ff",
    accent_hover="#86a1ff",
    accent_soft="#26314f",
    on_accent="#0d1020",
    ok="#6fd39b",
    ok_soft="#1c3427",
    warn="#f2c45b",
    warn_soft="#3a3020",
    bad="#ff8a7a",
    bad_soft="#3d211f",
    highlight="#5a4b12",
)

_current: Theme = LIGHT


class _Notifier(QObject):
    changed = Signal()  # the theme changed: views with icons redraw them


notifier: _Notifier | None = None


def on_theme_change(slot) -> None:
    """Call ``slot`` now and whenever the theme changes (icons are drawn in theme colours).
    Pass a bound method of a QObject: the connection then ends with the object."""
    global notifier
    if notifier is None:
        notifier = _Notifier()
    notifier.changed.connect(slot)
    slot()


def current() -> Theme:
    return _current


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return bool(scheme and scheme() == Qt.ColorScheme.Dark)


def apply(app: QApplication, choice: str = "auto") -> Theme:
    """Fusion + our palette + the style sheet; ``choice`` is auto, light or dark."""
    global _current
    dark = system_prefers_dark() if choice == "auto" else choice == "dark"
    theme = DARK if dark else LIGHT
    _current = theme
    app.setStyle("Fusion")
    font = QFont()
    font.setFamilies(["Inter", "Segoe UI", "SF Pro Text", "Cantarell", "Noto Sans", "DejaVu Sans"])
    font.setPointSizeF(10.0)
    app.setFont(font)
    app.setPalette(_palette(theme))
    qss = Template(resource_path("style.qss").read_text(encoding="utf-8"))
    app.setStyleSheet(qss.safe_substitute(asdict(theme), **_themed_images(theme)))
    icon.cache_clear()
    if notifier is not None:
        notifier.changed.emit()
    return theme


def _themed_images(t: Theme) -> dict[str, str]:
    """Style-sheet images (arrows) need files: the icons, recoloured for the theme, in the cache."""
    folder = paths.cache_dir() / "style" / t.name
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in ("chevron-down", "chevron-up"):
        target = folder / f"{name}.svg"
        svg = resource_path("icons", f"{name}.svg").read_text(encoding="utf-8").replace("#000000", t.muted)
        if not target.exists() or target.read_text(encoding="utf-8") != svg:
            target.write_text(svg, encoding="utf-8")
        out[name.replace("-", "_")] = target.as_posix()
    return out


def _palette(t: Theme) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, c in (
        (role.Window, t.window),
        (role.Base, t.surface),
        (role.AlternateBase, t.hover),
        (role.Text, t.text),
        (role.WindowText, t.text),
        (role.ButtonText, t.text),
        (role.Button, t.surface),
        (role.Highlight, t.accent),
        (role.HighlightedText, t.on_accent),
        (role.ToolTipBase, t.surface),
        (role.ToolTipText, t.text),
        (role.PlaceholderText, t.muted),
        (role.Link, t.accent),
        (role.Mid, t.border),
        (role.Midlight, t.hover),
    ):
        p.setColor(r, QColor(c))
    p.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(t.muted))
    p.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(t.muted))
    return p


@lru_cache(maxsize=128)
def icon(name: str, color: str | None = None, size: int = 20) -> QIcon:
    """A line icon from ``resources/icons`` drawn in ``color`` (default: the text colour)."""
    svg = resource_path("icons", f"{name}.svg").read_text(encoding="utf-8")
    svg = svg.replace("#000000", color or _current.text)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    out = QIcon()
    for scale in (1, 2):
        pm = QPixmap(QSize(size * scale, size * scale))
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        renderer.render(painter)
        painter.end()
        pm.setDevicePixelRatio(scale)
        out.addPixmap(pm)
    return out
