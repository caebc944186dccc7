#!/usr/bin/env bash
# Wraps dist/photocap.app (PyInstaller's BUNDLE in photocap.spec) into a disk image that opens
# as a window with the app and a shortcut to /Applications: drag one onto the other to install,
# drag the app to the Bin to uninstall (user data stays in ~/Library/Application Support/photocap).
# Usage: packaging/macos/build-dmg.sh PATH/TO/photocap.app OUT_DIR          (macOS only: hdiutil)
#
# Not run by this project (no Mac was available); written from hdiutil(1) and PyInstaller's
# macOS documentation. Unsigned: the first open needs right-click > Open (Gatekeeper). To sign
# and notarise, set CODESIGN_IDENTITY (a "Developer ID Application" identity) and
# NOTARY_PROFILE (a profile stored with `xcrun notarytool store-credentials`).
set -euo pipefail
app=$1
out=$(mkdir -p "$2" && cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$here/../../photocap/__init__.py")
[ -d "$app/Contents/MacOS" ] || { echo "build-dmg: $app is not an .app bundle" >&2; exit 1; }

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$app"
fi

stage=$(mktemp -d -t photocap-dmg)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/photocap.app"
ln -s /Applications "$stage/Applications"
dmg="$out/photocap-$version.dmg"
rm -f "$dmg"
hdiutil create -volname "photocap $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg" >/dev/null

if [ -n "${CODESIGN_IDENTITY:-}" ] && [ -n "${NOTARY_PROFILE:-}" ]; then
    codesign --sign "$CODESIGN_IDENTITY" --timestamp "$dmg"
    xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
fi
echo "$dmg"
