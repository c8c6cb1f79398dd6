#!/usr/bin/env bash
# The GPU check: one prepared run for a machine with a real GPU (and PyTorch with CUDA), for
# docs/performance.md. It prints the device line (which compiler the kernels use) and checks the
# GPU's training steps against the CPU's (`check-gpu`), then for each batch size ours (`bench
# --device gpu`) beside the reference on CUDA (scripts/bench_reference.py, same step, same
# shapes), with samples/s and the first step's time in an empty tuning cache.
#
#   scripts/gpu_check.sh [BINARY] [OUT_DIR]
#
# BINARY defaults to target/release/pix2pix-studio; a `.xz` is decompressed first. The Vulkan
# loader comes from the system or from `.gl/*.deb` beside the repo (see the device notes in
# docs/performance.md). CONFIGS (default A,B,C,D) and BATCHES (default "1 8 32") narrow the
# run; every new shape costs a first step of kernel tuning, which is what the check measures.
set -uo pipefail
cd "$(dirname "$0")/.."

binary="${1:-target/release/pix2pix-studio}"
out_dir="${2:-${OUT:-/tmp/gpu-check}}"
configs="${CONFIGS:-A,B,C,D}"
batches="${BATCHES:-1 8 32}"
mkdir -p "$out_dir"
log="$out_dir/gpu_check.log"
exec > >(tee "$log") 2>&1

# The Vulkan loader, when the machine has none of its own.
if ! ldconfig -p | grep -q 'libvulkan.so.1' && compgen -G ".gl/*.deb" >/dev/null; then
    for deb in .gl/*.deb; do dpkg -x "$deb" /; done
    ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
    export VK_DRIVER_FILES="$nvidia_icd"
fi

if [[ "$binary" == *.xz ]]; then
    xz -dc "$binary" > /tmp/pix2pix-studio && chmod +x /tmp/pix2pix-studio
    binary=/tmp/pix2pix-studio
fi

echo "== $(date -u +%Y-%m-%dT%H:%MZ)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null \
    || echo "(no nvidia-smi)"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' \
    || echo "(no torch: the reference columns will fail)"

# An empty tuning cache, so the first steps are what a new user meets.
export XDG_CACHE_HOME="$out_dir/cache"
rm -rf "$XDG_CACHE_HOME"

echo "== the device line, and the GPU's training steps against the CPU's"
timeout 300 "$binary" check-gpu || echo "(check-gpu failed: the figures below are suspect)"

for batch in $batches; do
    echo "== batch $batch"
    timeout 600 python3 scripts/bench_reference.py --binary "$binary" --device cuda \
        --batch "$batch" --configs "$configs" --rounds 1 --warmup 3 --iterations 10 \
        || echo "(batch $batch did not finish)"
done
# The same first steps with cubecl's least tuning (fewer candidates per kernel): what they cost,
# and what the steady state loses, decide the default.
echo "== batch 1, minimal tuning, empty cache"
export XDG_CACHE_HOME="$out_dir/cache-minimal"
rm -rf "$XDG_CACHE_HOME"
CUBECL_AUTOTUNE_LEVEL=minimal timeout 600 "$binary" --device gpu bench --configs "$configs" \
    --warmup 3 --iterations 10 || echo "(minimal tuning did not finish)"
echo "== log in $log"
