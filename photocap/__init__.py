"""photocap: a photo library that describes every photo in words and learns from your corrections."""

__version__ = "0.1.0"
APP_NAME = "photocap"
