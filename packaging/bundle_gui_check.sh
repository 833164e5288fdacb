#!/usr/bin/env bash
# End-to-end check of the built bundle through its window: on a private Xvfb display, type a
# phrase, translate it with the local engine, and require one verified ("match") entry in the
# bundle's own history. Also prints the peak RSS of the bundle's process tree meanwhile.
#   bash packaging/bundle_gui_check.sh            (after packaging/build_bundle.sh)
# Needs Xvfb and xdotool (apt-get install xvfb xdotool).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=$PWD/dist/verbatim/verbatim
[ -x "$BIN" ] || { echo "no bundle at $BIN: run packaging/build_bundle.sh first" >&2; exit 2; }
command -v Xvfb >/dev/null && command -v xdotool >/dev/null || { echo "needs Xvfb and xdotool" >&2; exit 2; }
WORK=$(mktemp -d)
DISPLAY_NUM=:$((90 + RANDOM % 100))
Xvfb "$DISPLAY_NUM" -screen 0 1280x900x24 >/dev/null 2>&1 &
XPID=$!
APID=
cleanup() { [ -n "$APID" ] && kill "$APID" 2>/dev/null; kill "$XPID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
sleep 1
mkdir -p "$WORK/home" "$WORK/data"
run() {
  env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 DISPLAY="$DISPLAY_NUM" QT_QPA_PLATFORM=xcb \
      VERBATIM_AUDIO_OUTPUT=silent VERBATIM_DATA_DIR="$WORK/data" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" \
      PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring "$BIN" "$@"
}
peak=0
sample() {
  local total=0 rss p
  for p in $APID $(pgrep -P "$APID" || true); do
    rss=$(awk '/VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${rss:-0}))
  done
  [ "$total" -gt "$peak" ] && peak=$total
  return 0
}
run --engine local >"$WORK/app.log" 2>&1 &
APID=$!
WID=
for _ in $(seq 1 100); do
  sample
  WID=$(DISPLAY=$DISPLAY_NUM xdotool search --onlyvisible --name "Verbatim" 2>/dev/null | tail -1 || true)
  [ -n "$WID" ] && break
  sleep 0.1
done
[ -n "$WID" ] || { echo "the window did not appear" >&2; cat "$WORK/app.log" >&2; exit 1; }
sleep 2
export DISPLAY=$DISPLAY_NUM
xdotool windowfocus --sync "$WID"
xdotool mousemove --window "$WID" 200 150 click 1
xdotool key ctrl+l
xdotool type --delay 20 "Where is the train station? I need to be there by ten."
xdotool key ctrl+Return
status=
for i in $(seq 1 600); do
  sample
  sleep 0.1
  [ $((i % 20)) -eq 0 ] || continue     # ask the history every 2 s
  status=$(run history list --json 2>/dev/null | grep -o '"status": "[a-z]*"' | head -1 || true)
  case "$status" in *match*|*mismatch*|*repaired*) break ;; esac
done
echo "history: $(run history list --json)"
echo "peak RSS of the bundle's process tree: $((peak / 1024)) MB"
[ "$status" = '"status": "match"' ] || { echo "no verified entry in the bundle's history ($status)" >&2; exit 1; }
echo "translated, verified and saved by the bundle: OK"
