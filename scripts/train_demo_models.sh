#!/usr/bin/env bash
# Trains the demo models shipped in assets/demo/ with this project's own CLI, exactly as they
# were made, exports their generators in half precision, and writes the example outputs the
# tests compare against (assets/examples/expected/). Not part of CI: the shoes model takes
# about an hour on two cores, the other two about 8 minutes each.
#
# SHOES_EDGES: the shoes_edges dataset (default ../shared/datasets/shoes_edges): 2000 pairs,
# photo | edges, 512×256 JPEG, from the public repository Fadhilah20Syafa/Dataset-Sketch (train
# split). Every 20th pair (by number) is held out for validation; the rest trains.
# WORK: where the split and the run folders go (default: a new temporary folder).
# ONLY: train just this model (shoes, sketches or labels).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-$repo/target/release/pix2pix-studio}"
shoes_edges="${SHOES_EDGES:-$repo/../shared/datasets/shoes_edges}"
work="${WORK:-$(mktemp -d)}"
only="${ONLY:-}"
wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }

if wanted shoes; then
    # The split: pair n goes to val/ when n % 20 == 0 (100 pairs: 50 shoes, 50 handbags).
    mkdir -p "$work/shoes_split/train" "$work/shoes_split/val"
    for file in "$shoes_edges"/train/*_AB.jpg; do
        name="$(basename "$file")"
        number="${name%%_*}"
        if [ $((number % 20)) -eq 0 ]; then split=val; else split=train; fi
        cp "$file" "$work/shoes_split/$split/$name"
    done
    # 128 px, U-Net 128 with ngf 28: the widest generator under 20 MB in f16 (16.0 MB; ngf 32
    # would be 20.9 MB), with a 70×70 PatchGAN of ndf 32. 8 epochs at the full rate, 8 decaying
    # (30,400 steps at batch 1). B (edges) to A (photo).
    "$bin" --device cpu train --dataroot "$work/shoes_split" --run-dir "$work/demo-shoes" \
        --direction BtoA --netG unet_128 --ngf 28 --ndf 32 --crop_size 128 --load_size 143 \
        --n_epochs 8 --n_epochs_decay 8 --validate-every 1900 --preview-every 1900 \
        --checkpoint-every 1900 --seed 1
    "$bin" export "$work/demo-shoes" --half -o "$repo/assets/demo/shoes"
fi

if wanted sketches; then
    "$bin" --device cpu train --dataroot "$repo/sample_pairs/sketches" \
        --run-dir "$work/demo-sketches" --crop_size 128 --netG unet_128 --ngf 16 --ndf 32 \
        --n_epochs 10 --n_epochs_decay 10 --validate-every 480 --preview-every 480 --seed 1
    "$bin" export "$work/demo-sketches" --half -o "$repo/assets/demo/sketches"
fi

if wanted labels; then
    "$bin" --device cpu train --dataroot "$repo/sample_pairs/labels" \
        --run-dir "$work/demo-labels" --crop_size 128 --netG unet_128 --ngf 12 --ndf 32 \
        --n_epochs 10 --n_epochs_decay 10 --validate-every 480 --preview-every 480 --seed 1
    "$bin" export "$work/demo-labels" --half -o "$repo/assets/demo/labels"
fi

# The shipped configs name where their data came from, not this machine's folders.
for model in shoes sketches labels; do
    config="$repo/assets/demo/$model/config.json"
    case $model in
        shoes) dataset="shoes_edges (Fadhilah20Syafa/Dataset-Sketch), train split minus every 20th pair" ;;
        *) dataset="sample_pairs/$model" ;;
    esac
    sed -i "s|\"dataset_dir\": \"[^\"]*\"|\"dataset_dir\": \"$dataset\"|" "$config"
done

# The outputs the tests hold the shipped models to (the binary embeds the new weights first).
cd "$repo"
cargo build --release
PIX2PIX_BLESS=1 cargo test --release --test integration demo_models::every_shipped_model
echo "run folders in $work"
