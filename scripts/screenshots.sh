#!/usr/bin/env bash
# Launches the real app under Xvfb with first-launch settings on the bundled sample data, shows
# its first screen (the Sketch tab with a shoe example coloured), draws shoes, a handbag, a
# balloon and picks a facade example with each shipped model, starts a short Quick-preset training, hovers a verdict
# map, translates the example sketches, judges them with a run's discriminator, compares the
# inference modes, scores a run's checkpoints, compares runs, and saves a screenshot of each
# view into docs/screenshots/.
#
# GALLERY_RUN: the run whose checkpoints are scored and whose discriminator judges (default:
# the run this session trains, which has few checkpoints yet). COMPARE_RUNS: run folders to
# compare, separated by spaces (default: that run alone).
#
# MEASURE=1 also records the frame intervals while training, with the window asking for 30
# frames a second (`--frame-log`), and prints their p50 / p95 and the steps trained: the
# responsiveness figure. (That demand slows training on a software renderer, so the
# screenshots are best taken without it.)
#
# Needs: xvfb, xdotool, imagemagick (`import`), a Vulkan or GL software driver
# (mesa-vulkan-drivers), and a release build (`cargo build --release`). Takes about
# TRAIN_SECS + 40 seconds; not part of CI. ONLY_SKETCH=1 stops after the Sketch tab's shots.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-$repo/target/release/pix2pix-studio}"
out="${OUT:-$repo/docs/screenshots}"
train_secs="${TRAIN_SECS:-90}"
display="${SCREEN:-:97}"

work="$(mktemp -d)"
mkdir -p "$out"
Xvfb "$display" -screen 0 1280x860x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
export DISPLAY="$display"
# A fresh settings folder: what a user sees on first launch.
export XDG_DATA_HOME="$work/data"
sleep 1

cd "$work" # runs/ and translated/ go here
frame_log=()
if [ "${MEASURE:-0}" = 1 ]; then frame_log=(--frame-log "$work/frames.txt"); fi
"$bin" --device cpu "${frame_log[@]}" >"$work/app.log" 2>&1 &
app=$!
window="$(xdotool search --sync --name pix2pix-studio | head -1)"
xdotool windowfocus --sync "$window"
shot() { sleep "$2"; import -window root -crop 1200x800+0+0 +repage "$out/$1.png"; echo "wrote $out/$1.png"; }

# Strokes on the sketch canvas (512 px at (8, 134)), through points given in canvas pixels.
stroke() {
    local first=1 px=0 py=0
    for point in "$@"; do
        local x=$((8 + ${point%,*})) y=$((134 + ${point#*,}))
        if [ $first = 1 ]; then
            xdotool mousemove $x $y mousedown 1
            first=0
        else
            for t in 1 2 3 4; do xdotool mousemove $((px + (x - px) * t / 4)) $((py + (y - py) * t / 4)); done
        fi
        px=$x py=$y
    done
    xdotool mouseup 1
}
clear_sheet() { xdotool mousemove 611 89 click 1; sleep 1; }
example() { xdotool mousemove 675 89 click 1; }
# The model menu's entries: 1 shoes, 2 objects, 3 facade labels.
choose_model() { xdotool mousemove 160 43 click 1; sleep 1; xdotool mousemove 100 $((47 + 23 * $1)) click 1; sleep 1; }

# First launch: the Sketch tab, a shoe example coloured by the shoes model.
shot sketch_shoes 8
# Shoes and a handbag drawn with the mouse, as a person would (thin pen, the model's default).
clear_sheet
stroke 100,190 86,240 80,300 84,350 110,372 250,376 400,376 452,366 478,340 470,312 440,296 \
    390,280 340,250 300,222 268,206 220,214 170,206 130,196 100,190
stroke 84,334 250,342 400,340 470,330
stroke 300,222 322,262 350,284
stroke 296,238 330,232
stroke 312,254 344,246
stroke 326,270 358,262
stroke 120,300 150,250 200,232 250,236
shot sketch_shoes_drawn 4
clear_sheet
stroke 170,80 166,250 152,330 150,380 160,410 300,412 440,410 470,392 462,352 400,330 \
    330,306 296,262 290,80 170,80
stroke 152,384 300,388 466,384
stroke 170,104 290,104
shot sketch_boot_drawn 4
clear_sheet
stroke 110,220 400,220 430,420 80,420 110,220
stroke 180,220 186,140 220,100 255,90 290,100 324,140 330,220
stroke 108,280 412,280
stroke 240,280 240,310 272,310 272,280
shot sketch_handbag_drawn 4
# Objects: a balloon on a string (its thick pen comes with the model).
choose_model 2
clear_sheet
cx=264 cy=330 r=130
xdotool mousemove $((cx + r)) $cy mousedown 1
for step in $(seq 1 48); do
    read -r x y < <(awk -v s="$step" -v cx=$cx -v cy=$cy -v r=$r \
        'BEGIN { a = s * 3.14159265 * 2 / 48; printf "%d %d\n", cx + r * cos(a), cy + 1.15 * r * sin(a) }')
    xdotool mousemove "$x" "$y"
done
xdotool mouseup 1
xdotool mousemove $cx $((cy + 150)) mousedown 1 mousemove $((cx - 10)) $((cy + 200)) \
    mousemove $((cx + 5)) $((cy + 250)) mousemove $((cx - 5)) $((cy + 300)) mouseup 1
shot sketch_objects 4
# Facade labels: its example label map.
choose_model 3
clear_sheet
example
shot sketch_labels 4
if [ "${ONLY_SKETCH:-0}" = 1 ]; then
    xdotool key ctrl+q
    wait $app || true
    exit 0
fi

# Data: the bundled sketches are selected on first launch.
xdotool key ctrl+1
shot data 2

# Train: Ctrl+Enter starts the Quick preset on the sample data.
xdotool key ctrl+Return
shot train "$train_secs"
# The discriminator's verdict map of the first preview, hovered: its patch outlined on the input.
xdotool mousemove 930 720
shot train_verdicts 2

# Translate: the example sketches with the demo model, while training goes on.
xdotool key ctrl+3
sleep 1
xdotool mousemove 240 43 click 1
xdotool type --delay 5 "$repo/assets/examples"
xdotool key Return
sleep 4
xdotool mousemove 64 112 click 1
shot translate 8

# The same sketches by the gallery's run, judged by its discriminator, a map cell hovered.
gallery_run="${GALLERY_RUN:-$work/runs/sketches-001}"
xdotool mousemove 274 66 click 1 # model: checkpoint (adds the Folder row)
sleep 1
xdotool mousemove 240 89 click 1
xdotool key ctrl+a
xdotool type --delay 5 "$gallery_run"
sleep 1
xdotool mousemove 64 134 click 1 # Translate images
sleep 6
xdotool mousemove 114 158 click 1 # Judge with the run's discriminator
sleep 5
xdotool mousemove 905 425
shot translate_judge 2
xdotool mousemove 313 158 click 1 # Compare inference modes
shot translate_modes 12

# Checkpoints: every checkpoint of the gallery's run scored (training goes on meanwhile).
xdotool key ctrl+5
sleep 1
xdotool mousemove 260 43 click 1
xdotool key ctrl+a
xdotool type --delay 5 "$gallery_run"
sleep 1
xdotool mousemove 585 43 click 1
shot checkpoints 40
# Scrolled to the last rows: the lowest validation L1 and best.json marked.
xdotool mousemove 600 500
for _ in $(seq 1 30); do xdotool click 5; done
shot checkpoints_best 2

# Compare: the runs overlaid, their differing options tabled.
xdotool key ctrl+6
sleep 1
for run in ${COMPARE_RUNS:-$gallery_run}; do
    xdotool mousemove 260 43 click 1
    xdotool type --delay 5 "$run"
    xdotool key Return
    sleep 1
done
shot compare 4

# Health: a run broken on purpose (learning rate 0.2, beyond the form's range: started by the
# CLI), resumed in the app; the discriminator wins within 200 steps and the Train tab says so.
xdotool key ctrl+2
sleep 1
xdotool mousemove 187 60 click 1 # Stop the run going on
sleep 5
"$bin" --device cpu train --dataroot "$repo/sample_pairs/sketches" --crop_size 128 --ngf 32 \
    --ndf 32 --n_epochs 10 --n_epochs_decay 10 --lr 0.2 --max-steps 150 \
    -o "$work/broken-run" >/dev/null 2>&1
xdotool mousemove 60 106 click 1 # Resume a run
sleep 1
xdotool mousemove 190 129 click 1
sleep 1
xdotool type --delay 40 "$work/broken-run"
sleep 1
xdotool mousemove 66 153 click 1
shot train_health 60

xdotool key ctrl+q
wait $app || true
if [ "${MEASURE:-0}" = 1 ]; then
    echo "frame intervals while training, asking for 30 fps (ms):"
    head -2 "$work/frames.txt" 2>/dev/null || echo "no frame log (see $work/app.log)"
fi
"$bin" inspect "$work/runs/sketches-001" | grep -m1 "^checkpoint" || true
