"""Data files the app ships (icons, style sheets). Installed as ``photocap.resources``."""
