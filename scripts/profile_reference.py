#!/usr/bin/env python3
"""Where the PyTorch reference spends a training iteration: torch.profiler over a few
iterations of Pix2PixModel.optimize_parameters for one of bench's configs. The other half of
docs/performance.md (ours comes from `pix2pix-studio bench --profile`).

    python3 scripts/profile_reference.py --config A --iterations 5
        self CPU time per operator
    python3 scripts/profile_reference.py --config A --by-layer --binary target/release/pix2pix-studio
        every convolution shape's time per iteration (forward + backward), the reference's next
        to ours (`bench --profile --json`), largest first

Needs torch (CPU is enough). The project itself never needs Python.
"""
import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_reference import training_iteration  # noqa: E402


def describe(name, shapes):
    """`C→O @H×W` of the convolution a call belongs to, as bench --profile names it: the
    convolution y = conv(x, w) with x [1, C, H, W]; a transposed convolution is named by the
    convolution it is the adjoint of (its output side is x). None for other shapes."""
    if name == "aten::convolution":
        x, w = shapes[0], shapes[1]
        if len(x) != 4 or len(w) != 4:
            return None
        # The flag is not among the recorded shapes. A transposed weight is [in, out, k, k]
        # with in = x's channels; when in = out (the U-Net's innermost up layer), its input is
        # the 1×1 bottleneck, which no 4×4 stride-2 convolution could take.
        transposed = w[0] == x[1] and (w[1] != x[1] or x[2] == 1)
    else:  # aten::convolution_backward(grad_output, input, weight, ...)
        grad_out, x, w = shapes[0], shapes[1], shapes[2]
        if len(x) != 4 or len(w) != 4:
            return None
        transposed = grad_out[2] > x[2]
    if transposed:
        return f"{w[1]}→{w[0]} @{x[2] * 2}×{x[3] * 2}"
    return f"{x[1]}→{w[0]} @{x[2]}×{x[3]}"


def by_layer(prof, iterations):
    """Inclusive CPU time of aten::convolution (forward) and aten::convolution_backward per
    layer shape, ms per iteration."""
    times = defaultdict(float)
    for event in prof.key_averages(group_by_input_shape=True):
        if event.key in ("aten::convolution", "aten::convolution_backward"):
            key = describe(event.key, [list(shape) for shape in event.input_shapes])
            if key is not None:
                times[key] += event.cpu_time_total / 1e3 / iterations
    return times


def ours_by_layer(binary, config, warmup, iterations):
    out = subprocess.run([binary, "--device", "cpu", "bench", "--json", "--profile",
                          "--configs", config, "--warmup", str(warmup),
                          "--iterations", str(iterations)],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    times = defaultdict(float)
    for entry in result["profile"]["entries"]:
        operation = entry["operation"]
        if operation["kind"] in ("Conv", "ConvAdjoint", "WeightGrad"):
            c, o, h, w = operation["shape"][:4]
            times[f"{c}→{o} @{h}×{w}"] += entry["totals"]["secs"] * 1e3
    return times, result["profile"]["mean_secs_per_iter"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="A")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--by-layer", action="store_true")
    parser.add_argument("--binary", default="target/release/pix2pix-studio")
    args = parser.parse_args()

    from torch.profiler import ProfilerActivity, profile

    _, _, iteration = training_iteration(args.config)
    for _ in range(args.warmup):
        iteration()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=args.by_layer) as prof:
        for _ in range(args.iterations):
            iteration()
    if not args.by_layer:
        print(f"config {args.config}: {args.iterations} iterations, self CPU time per operator")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
        return
    reference = by_layer(prof, args.iterations)
    ours, ours_iteration = ours_by_layer(args.binary, args.config, args.warmup, args.iterations)
    print(f"config {args.config}: convolution time per iteration and layer shape, forward + "
          f"backward, ms (ours: {ours_iteration:.3f} s/iter)")
    print("| layer (C→O @ input) | reference ms | ours ms | ratio |")
    print("| --- | --- | --- | --- |")
    total_ref = total_ours = 0.0
    for key in sorted(set(reference) | set(ours), key=lambda k: -reference.get(k, 0.0)):
        ref, our = reference.get(key, 0.0), ours.get(key, 0.0)
        total_ref, total_ours = total_ref + ref, total_ours + our
        ratio = f"{our / ref:.2f}" if ref > 0 else "-"
        print(f"| {key} | {ref:.1f} | {our:.1f} | {ratio} |")
    print(f"| all convolutions | {total_ref:.1f} | {total_ours:.1f} | {total_ours / total_ref:.2f} |")


if __name__ == "__main__":
    main()
