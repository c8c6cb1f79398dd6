#!/usr/bin/env python3
"""Where the PyTorch reference spends a training iteration: torch.profiler over a few
iterations of Pix2PixModel.optimize_parameters for one of bench's configs. The other half of
docs/performance.md (ours comes from `pix2pix-studio bench --profile`).

    python3 scripts/profile_reference.py --config A --iterations 5
        self CPU time per operator
    python3 scripts/profile_reference.py --config A --by-layer --binary target/release/pix2pix-studio
        every convolution shape's time per iteration (forward + backward), the reference's next
        to ours (`bench --profile --json`), largest first
    python3 scripts/profile_reference.py --config A --by-part --threads 1,2
        each part of an iteration (convolutions, BatchNorm, activations, Adam, the rest) at
        each thread count, the reference's and ours, with the speed-up from the first count
        to the last: how well each part uses the cores

`--threads N` (or a list) sets torch's intra-op threads and our binary's `--threads`.

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


# The parts of an iteration both sides can name: each reference operator (self CPU time, so
# nothing is counted twice) and each of our profile's kinds falls in one; the rest is the
# iteration's time outside them (concatenation, losses, copies, autograd's bookkeeping).
PARTS = ("convolutions", "BatchNorm", "activations", "Adam", "everything else", "whole iteration")
OUR_PARTS = {"Conv": "convolutions", "ConvAdjoint": "convolutions", "WeightGrad": "convolutions",
             "BatchNorm": "BatchNorm", "Activation": "activations", "Adam": "Adam"}


def reference_part(event):
    """The part a reference operator's self time belongs to (Adam: everything under
    `Optimizer.step`, whichever of its implementations runs)."""
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("Optimizer.step"):
            return "Adam"
        parent = parent.cpu_parent
    operator = event.name
    if "convolution" in operator:
        return "convolutions"
    if "batch_norm" in operator:
        return "BatchNorm"
    if any(name in operator for name in ("leaky_relu", "aten::relu", "threshold", "tanh")):
        return "activations"
    return "everything else"


def reference_by_part(config, warmup, iterations):
    """ms per iteration of each part, the reference with torch's current thread count."""
    import time
    from torch.profiler import ProfilerActivity, profile

    _, _, iteration = training_iteration(config)
    for _ in range(warmup):
        iteration()
    times = defaultdict(float)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(iterations):
            iteration()
    for event in prof.events():
        times[reference_part(event)] += event.self_cpu_time_total / 1e3 / iterations
    # The whole iteration unprofiled (the profiler's own overhead stays out of it).
    start = time.perf_counter()
    for _ in range(iterations):
        iteration()
    whole = (time.perf_counter() - start) / iterations * 1e3
    times["everything else"] = max(0.0, whole - sum(v for k, v in times.items()
                                                    if k != "everything else"))
    times["whole iteration"] = whole
    return times


def ours_profile(binary, config, warmup, iterations, threads=None):
    thread_args = ["--threads", str(threads)] if threads else []
    out = subprocess.run([binary, "--device", "cpu", *thread_args, "bench", "--json",
                          "--profile", "--configs", config, "--warmup", str(warmup),
                          "--iterations", str(iterations)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def ours_by_part(binary, config, warmup, iterations, threads):
    """ms per iteration of each part, ours (`bench --profile --json`)."""
    result = ours_profile(binary, config, warmup, iterations, threads)
    times = defaultdict(float)
    for entry in result["profile"]["entries"]:
        times[OUR_PARTS[entry["operation"]["kind"]]] += entry["totals"]["secs"] * 1e3
    whole = result["profile"]["mean_secs_per_iter"] * 1e3
    times["everything else"] = max(0.0, whole - sum(times.values()))
    times["whole iteration"] = whole
    return times


def print_by_part(args, thread_counts):
    import torch

    reference, ours = {}, {}
    for threads in thread_counts:
        torch.set_num_threads(threads)
        reference[threads] = reference_by_part(args.config, args.warmup, args.iterations)
        ours[threads] = ours_by_part(args.binary, args.config, args.warmup, args.iterations,
                                     threads)
    first, last = thread_counts[0], thread_counts[-1]
    counts = " | ".join(f"{n} thr." for n in thread_counts)
    print(f"config {args.config}: ms per training iteration by part; speed-up = "
          f"{first} thread(s) / {last}")
    print(f"| part | reference {counts} | speed-up | ours {counts} | speed-up |")
    print("| --- |" + " --- |" * (2 * len(thread_counts) + 2))
    for part in PARTS:
        cells = []
        for side in (reference, ours):
            cells += [f"{side[n][part]:.1f}" for n in thread_counts]
            slow, fast = side[first][part], side[last][part]
            cells.append(f"{slow / fast:.2f}" if fast > 0 else "-")
        print(f"| {part} | " + " | ".join(cells) + " |")


def ours_by_layer(binary, config, warmup, iterations, threads=None):
    result = ours_profile(binary, config, warmup, iterations, threads)
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
    parser.add_argument("--by-part", action="store_true")
    parser.add_argument("--threads", default=None,
                        help="torch's threads and ours: N, or a list N,M for --by-part")
    parser.add_argument("--binary", default="target/release/pix2pix-studio")
    args = parser.parse_args()
    thread_counts = [int(n) for n in args.threads.split(",")] if args.threads else []
    if args.by_part:
        print_by_part(args, thread_counts or [1, 2])
        return

    import torch
    from torch.profiler import ProfilerActivity, profile

    if thread_counts:
        torch.set_num_threads(thread_counts[0])

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
    ours, ours_iteration = ours_by_layer(args.binary, args.config, args.warmup, args.iterations,
                                         thread_counts[0] if thread_counts else None)
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
