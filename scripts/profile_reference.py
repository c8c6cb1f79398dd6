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
from bench_reference import CONFIGS, build_networks  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="A")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile

    size, num_downs, width = CONFIGS[args.config]
    torch.manual_seed(0)
    gen, disc = build_networks(num_downs, width)
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_a = torch.rand(1, 3, size, size) * 2 - 1
    real_b = torch.rand(1, 3, size, size) * 2 - 1
    bce = torch.nn.BCEWithLogitsLoss()

    def iteration():  # Pix2PixModel.optimize_parameters, as in bench_reference.py
        fake_b = gen(real_a)
        for p in disc.parameters():
            p.requires_grad = True
        opt_d.zero_grad()
        pred_fake = disc(torch.cat((real_a, fake_b), 1).detach())
        loss_d_fake = bce(pred_fake, torch.zeros_like(pred_fake))
        pred_real = disc(torch.cat((real_a, real_b), 1))
        loss_d_real = bce(pred_real, torch.ones_like(pred_real))
        ((loss_d_fake + loss_d_real) * 0.5).backward()
        opt_d.step()
        for p in disc.parameters():
            p.requires_grad = False
        opt_g.zero_grad()
        pred_fake = disc(torch.cat((real_a, fake_b), 1))
        loss_g = bce(pred_fake, torch.ones_like(pred_fake)) + F.l1_loss(fake_b, real_b) * 100.0
        loss_g.backward()
        opt_g.step()

    for _ in range(args.warmup):
        iteration()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.iterations):
            iteration()
    print(f"config {args.config}: {args.iterations} iterations, self CPU time per operator")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
