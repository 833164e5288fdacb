#!/usr/bin/env bash
# Set up Verbatim on a fresh Debian/Ubuntu machine, then launch it or test it.
#
#   bash packaging/bootstrap.sh run      # install, then open the app (local engine if no API key)
#   bash packaging/bootstrap.sh test     # install with test tools, run the whole test suite,
#                                        # then build the bundle and run its --self-check
#   bash packaging/bootstrap.sh bundle   # build the double-click bundle (dist/) and self-check it
#
# Idempotent: a second run only installs what is missing. Extra arguments after `test`
# go to pytest (e.g. `bash packaging/bootstrap.sh test -k engine`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODE="${1:-run}"
[ $# -gt 0 ] && shift

say() { printf '\033[1m[verbatim]\033[0m %s\n' "$*" >&2; }

# --- system packages -------------------------------------------------------------
APT_COMMON=(python3 python3-venv python3-pip espeak-ng libespeak-ng1 libportaudio2
            libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
            libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1
            libfontconfig1 libdbus-1-3 fonts-dejavu-core)
APT_TEST=(xvfb xauth sox libsox-fmt-all imagemagick openssl)
want=("${APT_COMMON[@]}")
[ "$MODE" = test ] && want+=("${APT_TEST[@]}")
command -v node >/dev/null 2>&1 || { [ "$MODE" = test ] && want+=(nodejs npm); }

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    say "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  say "not a Debian/Ubuntu system: install espeak-ng, PortAudio and Python >= 3.11 yourself"
fi

# --- Python environment ----------------------------------------------------------
PY=""
for cand in python3.13 python3.12 python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY="$cand"; break
  fi
done
[ -n "$PY" ] || { say "Python >= 3.11 is required (found: $(python3 --version 2>&1))"; exit 1; }

if [ ! -x .venv/bin/python ]; then
  say "creating virtual environment .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
extras="."
[ "$MODE" = test ] && extras=".[test,package]"
[ "$MODE" = bundle ] && extras=".[package]"
stamp=".venv/.verbatim-installed-$MODE"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ packaging/constraints.txt -nt "$stamp" ]; then
  say "installing Python packages (first time: a few minutes, ~1 GB)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c packaging/constraints.txt -e "$extras"
  touch "$stamp"
fi

case "$MODE" in
  run)
    say "starting Verbatim"
    exec .venv/bin/python -m app "$@"
    ;;
  test)
    if [ -f tests/npm/package.json ] && command -v npm >/dev/null 2>&1; then
      if [ ! -d tests/npm/node_modules/openai ]; then
        say "installing the openai npm package for the cross-SDK test"
        (cd tests/npm && npm ci --no-audit --no-fund --loglevel=error)
      fi
    fi
    if [ $# -eq 0 ]; then
      say "checking the code with ruff"
      .venv/bin/python -m ruff check .
    fi
    say "running the test suite"
    export QT_QPA_PLATFORM=offscreen
    .venv/bin/python -m pytest -p no:cacheprovider "$@"
    if [ -z "${VERBATIM_SKIP_BUNDLE:-}" ] && [ $# -eq 0 ]; then
      bash packaging/build_bundle.sh --self-check
    fi
    ;;
  bundle)
    bash packaging/build_bundle.sh --self-check
    ;;
  *)
    say "usage: bash packaging/bootstrap.sh run|test|bundle"; exit 2 ;;
esac
