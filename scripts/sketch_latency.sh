#!/usr/bin/env bash
# Measures the Sketch tab's round trip (stroke sent to the worker, result back in the app) while
# a Quick-preset run trains, with the current run as the sketch's model: launches the real app
# under Xvfb with first-launch settings on the bundled sample data, starts training (Ctrl+Enter),
# draws STROKES short strokes on the canvas, one every PAUSE seconds, and prints the round trips'
# p50 / p95 / max from the app's `--frame-log` (which also asks for 30 frames a second, the
# harder case on a software renderer).
#
# Needs: xvfb, xdotool and a release build (`cargo build --release`). Takes about
# 30 + STROKES * PAUSE seconds; not part of CI.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-$repo/target/release/pix2pix-studio}"
strokes="${STROKES:-40}"
pause="${PAUSE:-1}"
display="${SCREEN:-:96}"

work="$(mktemp -d)"
Xvfb "$display" -screen 0 1280x860x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
export DISPLAY="$display"
export XDG_DATA_HOME="$work/data"
sleep 1

cd "$work"
"$bin" --device cpu --frame-log "$work/frames.txt" >"$work/app.log" 2>&1 &
app=$!
window="$(xdotool search --sync --name pix2pix-studio | head -1)"
xdotool windowfocus --sync "$window"
sleep 6

# Train the Quick preset on the bundled sketches; let it get past its start.
xdotool key ctrl+Return
sleep 20

# Sketch with the current run (the "current run" radio of the Model row).
xdotool key ctrl+4
sleep 1
xdotool mousemove 183 43 click 1
sleep 1
for i in $(seq 1 "$strokes"); do
    x=$((60 + (i * 53) % 400))
    y=$((180 + (i * 37) % 400))
    xdotool mousemove "$x" "$y" mousedown 1 mousemove $((x + 30)) $((y + 20)) \
        mousemove $((x + 60)) $((y + 10)) mouseup 1
    sleep "$pause"
done

xdotool key ctrl+q
wait $app || true
sed -n 2p "$work/frames.txt" 2>/dev/null || echo "no frame log (see $work/app.log)"
echo "training reached: $(tr -d ' \n' <"$work/runs/sketches-001/latest.json" 2>/dev/null)"
