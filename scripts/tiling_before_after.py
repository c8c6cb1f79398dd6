#!/usr/bin/env python3
"""The before/after picture of tiled translation in docs/: a large collage of the bundled
sketches translated by the demo model (1) tile by tile, each tile normalised by its own
statistics (what running the reference on crops gives) and (2) with `translate --tile`
(overlapping tiles, one set of statistics). Prints the seam ratio of both: the mean step
between neighbouring pixels across tile borders over the mean step elsewhere.

    python3 scripts/tiling_before_after.py --binary target/release/pix2pix-studio \
        -o docs/tiling_before_after.png

Needs Pillow. The project itself does not use Python; this only draws the documentation.
"""

import argparse
import random
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

TILE = 128  # the demo model's trained size
OVERLAP = TILE // 4


def collage(width, height, stamps, seed):
    sketches = sorted(Path("sample_pairs/sketches/val").glob("*.png"))
    halves = [Image.open(p).convert("RGB").crop((0, 0, 128, 128)) for p in sketches]
    rng = random.Random(seed)
    canvas = Image.new("RGB", (width, height), "white")
    for _ in range(stamps):
        stamp = rng.choice(halves)
        x, y = rng.randrange(width - 64), rng.randrange(height - 64)
        region = canvas.crop((x, y, x + 128, y + 128))
        canvas.paste(ImageChops.darker(region, stamp), (x, y))
    return canvas


def translate(binary, inputs, output, *extra):
    subprocess.run(
        [binary, "translate", "-m", "assets/demo/sketches", str(inputs), "-o", str(output),
         "--device", "cpu", *extra],
        check=True,
    )


def per_tile(binary, image, work):
    tiles, out = work / "tiles", work / "tiles_out"
    tiles.mkdir()
    for y in range(0, image.height, TILE):
        for x in range(0, image.width, TILE):
            image.crop((x, y, x + TILE, y + TILE)).save(tiles / f"t_{y:05d}_{x:05d}.png")
    translate(binary, tiles, out, "--size", "pad")
    result = Image.new("RGB", image.size)
    for path in out.glob("t_*.png"):
        _, y, x = path.stem.split("_")
        result.paste(Image.open(path), (int(x), int(y)))
    return result


def starts(length, side, overlap):
    if length <= side:
        return [0]
    return list(range(0, length - side, side - overlap)) + [length - side]


def seam_ratio(image, borders_x, borders_y):
    pixels = image.load()
    width, height = image.size

    def step(a, b):
        return sum(abs(p - q) for p, q in zip(a, b))

    def ratio(length, across, borders, at):
        border, inner = [], []
        for i in range(1, length):
            total = sum(step(*at(i, j)) for j in range(0, across, 2))
            (border if i in borders else inner).append(total)
        return (sum(border) / len(border)) / (sum(inner) / len(inner))

    vertical = ratio(width, height, borders_x, lambda i, j: (pixels[i - 1, j], pixels[i, j]))
    horizontal = ratio(height, width, borders_y, lambda i, j: (pixels[j, i - 1], pixels[j, i]))
    return max(vertical, horizontal)


def edges(length, side, overlap):
    found = {s for s in starts(length, side, overlap) if s > 0}
    found |= {s + side for s in starts(length, side, overlap) if s + side < length}
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/pix2pix-studio")
    parser.add_argument("-o", "--output", default="docs/tiling_before_after.png")
    args = parser.parse_args()
    image = collage(1536, 1024, 150, 7)
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        image.save(work / "large.png")
        translate(args.binary, work / "large.png", work / "ours", "--tile")
        ours = Image.open(work / "ours" / "large.png").convert("RGB")
        naive = per_tile(args.binary, image, work)
    grid = set(range(TILE, 1536, TILE)), set(range(TILE, 1024, TILE))
    print(f"seam ratio, each tile its own statistics: {seam_ratio(naive, *grid):.3f}")
    ours_edges = edges(1536, TILE, OVERLAP), edges(1024, TILE, OVERLAP)
    print(f"seam ratio, translate --tile: {seam_ratio(ours, *ours_edges):.3f}")

    box = (256, 192, 768, 576)
    label_height = 28
    picture = Image.new("RGB", (3 * 512 + 32, 384 + label_height), "white")
    draw = ImageDraw.Draw(picture)
    for column, (title, source) in enumerate(
        [("input (part of a 1536 x 1024 image)", image),
         ("tile by tile, each its own statistics", naive),
         ("translate --tile", ours)]
    ):
        x = column * (512 + 16)
        draw.text((x + 4, 8), title, fill="black")
        picture.paste(source.crop(box), (x, label_height))
    picture.save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
