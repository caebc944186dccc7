"""Package layout only; everything else is in pyproject.toml.

The top-level ``resources/`` folder (the project's fixed layout) installs as the package
``photocap.resources``, so the wheel, an editable install and the PyInstaller bundle all find
icons and style sheets next to the code (``photocap.paths.resource_path``), never through the
working directory. ``pyproject.toml`` cannot map a folder outside the package tree while also
finding packages automatically, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["photocap", "photocap.*", "trainer", "trainer.*"]), "photocap.resources"],
    package_dir={"photocap.resources": "resources"},
    package_data={
        "photocap.resources": ["*.qss", "*.json", "WORDNET-LICENSE", "icons/*.svg", "icons/*.png", "icons/*.ico", "icons/*.icns"],
        "photocap.library": ["migrations/*.ini", "migrations/*.py", "migrations/*.mako", "migrations/versions/*.py"],
    },
)
