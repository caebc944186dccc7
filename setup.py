"""Package layout only; everything else is in pyproject.toml.

The top-level ``resources/`` folder (the project's fixed layout) installs as the package
``photocap.resources``, so the wheel, an editable install and the PyInstaller bundle all find
icons and style sheets next to the code (``photocap.paths.resource_path``), never through the
working directory. ``pyproject.toml`` cannot map a folder outside the package tree while also
finding packages automatically, hence this file.

Folders of data without an ``__init__.py`` (the Alembic migrations, the icons) are listed as
namespace packages so that setuptools installs them without warning that they are "absent
from the packages configuration".
"""

from setuptools import find_namespace_packages, setup

_CODE = find_namespace_packages(include=["photocap", "photocap.*", "trainer", "trainer.*"], exclude=["*.__pycache__"])

setup(
    packages=[*_CODE, "photocap.resources", "photocap.resources.icons"],
    package_dir={"photocap.resources": "resources"},
    package_data={
        "photocap.resources": ["*.qss", "*.json", "WORDNET-LICENSE"],
        "photocap.resources.icons": ["*.svg", "*.png", "*.ico", "*.icns"],
        "photocap.library.migrations": ["*.ini", "*.mako"],
    },
)
