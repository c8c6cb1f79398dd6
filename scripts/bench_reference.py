#!/usr/bin/env python3
"""Benchmark pix2pix-studio against a PyTorch implementation of the reference, back to back.

Runs `pix2pix-studio bench --json` for configs A-D, then the same configs in PyTorch with the
reference's networks (junyanz/pytorch-CycleGAN-and-pix2pix: UnetGenerator, NLayerDiscriminator,
Pix2PixModel.optimize_parameters, Adam 2e-4 / (0.5, 0.999)), and prints both with the ratios
ours / reference. Each configuration runs in its own process so peak RSS is per configuration.

    python3 scripts/bench_reference.py --binary target/release/pix2pix-studio [--configs A,B,C,D]
    python3 scripts/bench_reference.py --device cuda --batch 8   # ours on the GPU, torch on CUDA

Needs torch (CPU is enough; CUDA for --device cuda). The project itself never needs Python.
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

CONFIGS = {  # name: (image size, num_downs, ngf = ndf)
    "A": (256, 8, 64),
    "B": (128, 7, 64),
    "C": (128, 7, 32),
    "D": (64, 6, 32),
}


def build_networks(num_downs, width):
    """The reference's UnetGenerator (batch norm, dropout) and 70x70 NLayerDiscriminator."""
    import torch.nn as nn

    class Block(nn.Module):  # UnetSkipConnectionBlock, same module tree and key names
        def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, dropout=False):
            super().__init__()
            self.outermost = outermost
            input_nc = outer if input_nc is None else input_nc
            down = nn.Conv2d(input_nc, inner, 4, 2, 1, bias=False)
            if outermost:
                up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
                model = [down, sub, nn.ReLU(True), up, nn.Tanh()]
            elif innermost:
                up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False)
                model = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer)]
            else:
                up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False)
                model = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), sub,
                         nn.ReLU(True), up, nn.BatchNorm2d(outer)]
                if dropout:
                    model.append(nn.Dropout(0.5))
            self.model = nn.Sequential(*model)

        def forward(self, x):
            if self.outermost:
                return self.model(x)
            import torch
            return torch.cat([x, self.model(x)], 1)

    class Unet(nn.Module):
        def __init__(self):
            super().__init__()
            block = Block(width * 8, width * 8, innermost=True)
            for _ in range(num_downs - 5):
                block = Block(width * 8, width * 8, sub=block, dropout=True)
            block = Block(width * 4, width * 8, sub=block)
            block = Block(width * 2, width * 4, sub=block)
            block = Block(width, width * 2, sub=block)
            self.model = Block(3, width, input_nc=3, sub=block, outermost=True)

        def forward(self, x):
            return self.model(x)

    layers = [nn.Conv2d(6, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, 3):
        prev, mult = mult, min(2 ** n, 8)
        layers += [nn.Conv2d(width * prev, width * mult, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(width * mult), nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** 3, 8)
    layers += [nn.Conv2d(width * prev, width * mult, 4, 1, 1, bias=False),
               nn.BatchNorm2d(width * mult), nn.LeakyReLU(0.2, True),
               nn.Conv2d(width * mult, 1, 4, 1, 1)]
    disc = nn.Sequential(*layers)

    def init(m):  # init_weights('normal', 0.02)
        name = m.__class__.__name__
        if hasattr(m, "weight") and ("Conv" in name):
            nn.init.normal_(m.weight.data, 0.0, 0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias.data, 0.0)
        elif "BatchNorm2d" in name:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0.0)

    gen = Unet()
    gen.apply(init)
    disc.apply(init)
    return gen, disc


def training_iteration(name, device="cpu", batch=1):
    """The reference's networks for config `name` and one Pix2PixModel.optimize_parameters
    step on fixed random inputs of `batch` pairs, on `device`: (generator, input, step)."""
    import torch
    import torch.nn.functional as F

    size, num_downs, width = CONFIGS[name]
    torch.manual_seed(0)
    gen, disc = build_networks(num_downs, width)
    gen, disc = gen.to(device), disc.to(device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_a = (torch.rand(batch, 3, size, size) * 2 - 1).to(device)
    real_b = (torch.rand(batch, 3, size, size) * 2 - 1).to(device)
    bce = torch.nn.BCEWithLogitsLoss()

    def iteration():  # Pix2PixModel.optimize_parameters
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

    return gen, real_a, iteration


def run_reference(name, warmup, iterations, device="cpu", batch=1, threads=None):
    """One configuration in this process: training s/iter and generator inference."""
    import torch

    torch.set_num_threads(threads or torch.get_num_threads())
    gen, real_a, iteration = training_iteration(name, device, batch)

    def sync():  # CUDA runs asynchronously: time the work, not its launch
        if device == "cuda":
            torch.cuda.synchronize()

    def timed(work):
        start = time.perf_counter()
        work()
        sync()
        return time.perf_counter() - start

    def median_time(work, skip=0):
        for _ in range(max(warmup - skip, 0)):
            timed(work)
        return statistics.median(timed(work) for _ in range(iterations))

    first_step = timed(iteration)
    train = median_time(iteration, skip=1)
    with torch.no_grad():
        gen.eval()
        infer_eval = median_time(lambda: gen(real_a))
        gen.train()
        infer_train_mode = median_time(lambda: gen(real_a))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"config": name, "batch_size": batch, "first_step_secs": first_step,
            "train_secs_per_iter": train, "infer_eval_secs": infer_eval,
            "infer_train_mode_secs": infer_train_mode, "peak_rss_bytes": peak}


def run_ours(binary, name, warmup, iterations, device="cpu", batch=1, threads=None):
    ours_device = "gpu" if device == "cuda" else "cpu"
    thread_args = ["--threads", str(threads)] if threads else []
    out = subprocess.run([binary, "--device", ours_device, *thread_args, "bench", "--json",
                          "--configs", name,
                          "--batch", str(batch), "--warmup", str(warmup),
                          "--iterations", str(iterations)],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["config"] = name
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/pix2pix-studio")
    parser.add_argument("--configs", default="A,B,C,D")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per config")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cpu: both on the CPU; cuda: ours on the GPU (--device gpu), the "
                             "reference on CUDA")
    parser.add_argument("--batch", type=int, default=1, help="pairs per training iteration")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for both (default: ours one per physical core, "
                             "PyTorch its own default)")
    parser.add_argument("--only-reference", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only_reference:
        print(json.dumps(run_reference(args.only_reference, args.warmup, args.iterations,
                                       args.device, args.batch, args.threads)))
        return
    gib = 1 << 30
    keys = ("train_secs_per_iter", "infer_eval_secs", "infer_train_mode_secs", "peak_rss_bytes")
    rows = []
    for name in args.configs.split(","):
        # Alternate ours and the reference so that drift in the machine's speed hits both.
        rounds = []
        for _ in range(args.rounds):
            ours = run_ours(args.binary, name, args.warmup, args.iterations, args.device,
                            args.batch, args.threads)
            ref = json.loads(subprocess.run(
                [sys.executable, __file__, "--only-reference", name, "--warmup", str(args.warmup),
                 "--iterations", str(args.iterations), "--device", args.device,
                 "--batch", str(args.batch),
                 *(["--threads", str(args.threads)] if args.threads else [])],
                check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            rounds.append((ours, ref))
            print(f"{name}: ours {ours['train_secs_per_iter']:.4f} s/iter "
                  f"(first step {ours.get('first_step_secs', 0):.1f} s), "
                  f"reference {ref['train_secs_per_iter']:.4f} s/iter "
                  f"(first step {ref['first_step_secs']:.1f} s)", file=sys.stderr)
        rows.append((name, rounds))
    print(f"device {args.device}, batch {args.batch}, threads {args.threads or 'default'}; medians over {args.rounds} alternating "
          "rounds; ratio = median of the per-round ratios ours / reference")
    print("| cfg | batch | train s/iter ours | reference | ratio | samples/s ours | reference "
          "| first step ours | reference "
          "| G infer eval ours | reference | ratio | G infer train-mode ours | reference | ratio "
          "| peak RSS ours | reference | ratio |")
    print("|" + " --- |" * 18)
    for name, rounds in rows:
        train_ours = statistics.median(o["train_secs_per_iter"] for o, _ in rounds)
        train_ref = statistics.median(r["train_secs_per_iter"] for _, r in rounds)
        cells = [name, str(args.batch)]
        for key in keys:
            ours = statistics.median(o[key] or 0 for o, _ in rounds)
            ref = statistics.median(r[key] for _, r in rounds)
            ratio = statistics.median((o[key] or 0) / r[key] for o, r in rounds)
            if key == "peak_rss_bytes":
                cells += [f"{ours / gib:.2f} GiB", f"{ref / gib:.2f} GiB", f"{ratio:.2f}"]
            else:
                cells += [f"{ours:.4f}", f"{ref:.4f}", f"{ratio:.2f}"]
            if key == "train_secs_per_iter":
                first_ours = statistics.median(o.get("first_step_secs", 0) for o, _ in rounds)
                first_ref = statistics.median(r["first_step_secs"] for _, r in rounds)
                cells += [f"{args.batch / train_ours:.1f}", f"{args.batch / train_ref:.1f}",
                          f"{first_ours:.1f} s", f"{first_ref:.1f} s"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
