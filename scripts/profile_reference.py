#!/usr/bin/env python3
"""Where the PyTorch reference spends a training iteration: torch.profiler over a few
iterations of Pix2PixModel.optimize_parameters for one of bench's configs, summed by operator.
The other half of docs/performance.md (ours comes from `perf`).

    python3 scripts/profile_reference.py --config A --iterations 5

Needs torch (CPU is enough). The project itself never needs Python.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_reference import training_iteration  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="A")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()

    from torch.profiler import ProfilerActivity, profile

    _, _, iteration = training_iteration(args.config)
    for _ in range(args.warmup):
        iteration()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.iterations):
            iteration()
    print(f"config {args.config}: {args.iterations} iterations, self CPU time per operator")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
