#!/usr/bin/env bash
# Install the unpacked Verbatim bundle for the current user and add it to the desktop menu.
#   tar xzf verbatim-*.tar.gz && verbatim/share/install.sh          (--uninstall to remove)
set -euo pipefail
APP_ID=io.github.verbatim.Verbatim
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${XDG_DATA_HOME:-$HOME/.local/share}"
DEST="$HOME/.local/opt/verbatim"
BIN="$HOME/.local/bin"

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$DEST" "$BIN/verbatim" "$PREFIX/applications/$APP_ID.desktop" "$PREFIX/metainfo/$APP_ID.metainfo.xml"
  find "$PREFIX/icons/hicolor" -name "$APP_ID.*" -delete 2>/dev/null || true
  echo "Verbatim removed."; exit 0
fi

mkdir -p "$DEST" "$BIN" "$PREFIX/applications" "$PREFIX/metainfo"
if [ "$SRC" != "$DEST" ]; then rm -rf "$DEST"; cp -a "$SRC" "$DEST"; fi
ln -sf "$DEST/verbatim" "$BIN/verbatim"
sed "s|^Exec=verbatim|Exec=$DEST/verbatim|; s|^TryExec=verbatim|TryExec=$DEST/verbatim|" \
    "$DEST/share/$APP_ID.desktop" > "$PREFIX/applications/$APP_ID.desktop"
cp "$DEST/share/$APP_ID.metainfo.xml" "$PREFIX/metainfo/"
mkdir -p "$PREFIX/icons"
cp -r "$DEST/share/icons/hicolor" "$PREFIX/icons/"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$PREFIX/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$PREFIX/icons/hicolor" 2>/dev/null || true
echo "Verbatim installed: $BIN/verbatim, and in the desktop menu."
