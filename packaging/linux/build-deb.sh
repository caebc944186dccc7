#!/usr/bin/env bash
# Wraps a PyInstaller bundle (dist/photocap: the `photocap` program and its _internal folder)
# into a Debian package:
#   /opt/photocap/...                              the bundle, untouched
#   /usr/bin/photocap -> /opt/photocap/photocap    the command on the PATH
#   /usr/share/applications/photocap.desktop       menu entry; "Open with photocap" for folders
#   /usr/share/icons/hicolor/*/apps/photocap.*     the icon (SVG and PNGs)
#   /usr/share/doc/photocap/copyright
# No maintainer scripts: dpkg's triggers (desktop-file-utils, the hicolor icon cache) refresh
# the menu and icons on install and removal, and `dpkg -r photocap` removes every file above.
# Usage: packaging/linux/build-deb.sh BUNDLE_DIR OUT_DIR
set -euo pipefail
bundle=$(cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ -x "$bundle/photocap" ] || { echo "build-deb: $bundle/photocap is not a PyInstaller bundle" >&2; exit 1; }

version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$repo/photocap/__init__.py")
arch=$(dpkg --print-architecture)
# The X11 libraries Qt needs, from the one table the app's start-up check uses.
depends=$(cd "$repo" && python3 -c 'import ast, pathlib
src = pathlib.Path("photocap/system_libs.py").read_text()
table = next(n.value for n in ast.parse(src).body if isinstance(n, ast.AnnAssign) and n.target.id == "XCB_LIBRARIES")
print(", ".join(dict.fromkeys(pkg for _, pkg in ast.literal_eval(table))))')

root=$(mktemp -d "${TMPDIR:-/tmp}/photocap-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" "$root/usr/share/doc/photocap"
cp -a "$bundle" "$root/opt/photocap"
ln -s /opt/photocap/photocap "$root/usr/bin/photocap"
install -m 644 "$here/photocap.desktop" "$root/usr/share/applications/photocap.desktop"
install -m 644 "$here/copyright" "$root/usr/share/doc/photocap/copyright"
install -D -m 644 "$repo/resources/icons/photocap.svg" "$root/usr/share/icons/hicolor/scalable/apps/photocap.svg"
"${PYTHON:-python3}" - "$repo/resources/icons/photocap.png" "$root/usr/share/icons/hicolor" <<'PY'
import sys
from pathlib import Path
try:
    from PIL import Image
except ImportError:  # no Pillow on this Python: the SVG and the 512 px PNG are enough
    Image = None
src, hicolor = Path(sys.argv[1]), Path(sys.argv[2])
for size in (48, 64, 128, 256, 512):
    dest = hicolor / f"{size}x{size}" / "apps" / "photocap.png"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if size == 512 or Image is None:
        if size == 512:
            dest.write_bytes(src.read_bytes())
        continue
    Image.open(src).resize((size, size), Image.LANCZOS).save(dest)
PY
# Ownership root:root (--root-owner-group), no group/other write, executables stay executable.
chmod -R u+rwX,go+rX,go-w "$root"
find "$root/usr/share" -type f -exec chmod 644 {} +

size_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: photocap
Version: $version
Architecture: $arch
Maintainer: photocap developers <photocap@localhost>
Installed-Size: $size_kb
Depends: libc6 (>= 2.28), $depends
Recommends: desktop-file-utils, hicolor-icon-theme
Section: graphics
Priority: optional
Homepage: https://github.com/photocap/photocap
Description: photo library that describes every photo in words
 photocap keeps a library of your photo folders, writes a caption for every
 photo with a CNN+LSTM captioner that runs on your computer, finds photos by
 what is in them, and learns from the captions you correct.
 .
 This package bundles its own Python, Qt and PyTorch (CPU) under /opt/photocap.
CONTROL

deb="$out/photocap_${version}_${arch}.deb"
# DEB_COMPRESS=TYPE:LEVEL, default xz:6 (the smallest download, readable by every dpkg);
# xz:1 builds several times faster; zstd needs dpkg 1.21.18+ (Debian 12, Ubuntu 21.10) to install.
compress=${DEB_COMPRESS:-xz:6}
dpkg-deb --root-owner-group -Z"${compress%%:*}" -z"${compress#*:}" --build "$root" "$deb" >/dev/null
echo "$deb"
