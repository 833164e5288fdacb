#!/usr/bin/env bash
# Build the one-folder bundle with PyInstaller and pack it with its installer.
#   bash packaging/build_bundle.sh [--self-check]
# Needs the environment from `bash packaging/bootstrap.sh bundle` (which calls this).
# Output: dist/verbatim/ (run dist/verbatim/verbatim) and dist/verbatim-VERSION-linux-ARCH.tar.gz
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '\033[1m[verbatim]\033[0m %s\n' "$*" >&2; }
PY=.venv/bin/python
VERSION=$($PY -c 'import app; print(app.__version__)')
ARCH=$(uname -m)

say "rendering icons"
QT_QPA_PLATFORM=offscreen $PY packaging/make_icons.py build/icons >/dev/null
say "building the bundle with PyInstaller (a few minutes)"
t0=$(date +%s)
$PY -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/verbatim.spec
say "bundle built in $(( $(date +%s) - t0 )) s: dist/verbatim ($(du -sh dist/verbatim | cut -f1))"

# desktop integration files travel with the bundle
mkdir -p dist/verbatim/share
cp packaging/linux/io.github.verbatim.Verbatim.desktop packaging/linux/io.github.verbatim.Verbatim.metainfo.xml \
   packaging/linux/install.sh dist/verbatim/share/
cp -r build/icons dist/verbatim/share/icons
tar -C dist -czf "dist/verbatim-$VERSION-linux-$ARCH.tar.gz" verbatim
say "archive: dist/verbatim-$VERSION-linux-$ARCH.tar.gz ($(du -sh "dist/verbatim-$VERSION-linux-$ARCH.tar.gz" | cut -f1))"

if [ "${1:-}" = "--self-check" ]; then
  say "self-check of the bundle (no Python from the venv on the path)"
  env -i HOME="$HOME" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen VERBATIM_AUDIO_OUTPUT=silent \
      XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" dist/verbatim/verbatim --self-check
fi
