//! Large images in tiles and video frames with one normalisation: no seams where tiles meet
//! (measured against per-tile normalisation, which shows them), the untiled result where one
//! tile covers the image, frames that do not flicker, shards that normalise alike.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use image::{DynamicImage, RgbImage};
use pix2pix_studio::inference::tiling::{TileSize, Tiles, Tiling, tile_starts};
use pix2pix_studio::inference::{ModelSource, SizeMode, TranslateOptions, Translator};
use pix2pix_studio::model::NormMode;
use rand::{RngExt, SeedableRng};

use crate::engine::{binary, run_ok};
use crate::util::{sketches, temp_dir};

/// The demo sketch model: 128 px tiles, trained weights.
fn demo() -> Translator {
    let source = ModelSource::from_path(Path::new("assets/demo/sketches")).unwrap();
    Translator::load(&source, &Device::flex()).unwrap()
}

/// The sketch halves of the bundled validation pairs.
fn sketch_stamps() -> Vec<RgbImage> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(sketches().join("val"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let pair = image::open(path).unwrap().to_rgb8();
            let side = pair.height();
            image::imageops::crop_imm(&pair, 0, 0, side, side).to_image()
        })
        .collect()
}

/// A white canvas with sketches stamped at random places (darker wins), so drawings cross
/// every tile border at no particular place.
fn collage(width: u32, height: u32, stamps: usize, seed: u64) -> RgbImage {
    let sketches = sketch_stamps();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut canvas = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    for _ in 0..stamps {
        let stamp = &sketches[rng.random_range(0..sketches.len())];
        let x0 = rng.random_range(0..width.saturating_sub(stamp.width() / 2));
        let y0 = rng.random_range(0..height.saturating_sub(stamp.height() / 2));
        for (x, y, pixel) in stamp.enumerate_pixels() {
            let (cx, cy) = (x0 + x, y0 + y);
            if cx < width && cy < height {
                let under = canvas.get_pixel_mut(cx, cy);
                for channel in 0..3 {
                    under[channel] = under[channel].min(pixel[channel]);
                }
            }
        }
    }
    canvas
}

/// Mean absolute step between neighbouring pixels across `borders` (a step between column
/// x-1 and x for each x in the list; rows when `vertical`), over the mean step everywhere
/// else: about 1 when the borders cannot be told apart, above 1 where a seam shows.
fn seam_ratio(image: &RgbImage, borders: &[u32], vertical: bool) -> f64 {
    let (width, height) = image.dimensions();
    let (length, across) = if vertical {
        (height, width)
    } else {
        (width, height)
    };
    let step = |at: u32, along: u32| -> f64 {
        let (a, b) = if vertical {
            (image.get_pixel(along, at - 1), image.get_pixel(along, at))
        } else {
            (image.get_pixel(at - 1, along), image.get_pixel(at, along))
        };
        (0..3)
            .map(|c| (f64::from(a[c]) - f64::from(b[c])).abs())
            .sum::<f64>()
    };
    let (mut border_sum, mut border_count, mut inner_sum, mut inner_count) = (0.0, 0, 0.0, 0);
    for at in 1..length {
        let total: f64 = (0..across).map(|along| step(at, along)).sum();
        if borders.contains(&at) {
            border_sum += total;
            border_count += 1;
        } else {
            inner_sum += total;
            inner_count += 1;
        }
    }
    (border_sum / f64::from(border_count)) / (inner_sum / f64::from(inner_count))
}

/// Every place a tile of `side` starts or ends inside an axis of `length`.
fn tile_edges(length: u32, side: usize, overlap: usize) -> Vec<u32> {
    let mut edges: Vec<u32> = tile_starts(length as usize, side, overlap)
        .into_iter()
        .flat_map(|start| [start, start + side])
        .filter(|&edge| edge > 0 && edge < length as usize)
        .map(|edge| edge as u32)
        .collect();
    edges.sort_unstable();
    edges.dedup();
    edges
}

/// The reference's way: each tile translated alone (its own statistics), pasted side by side.
fn per_tile_translation(translator: &Translator, image: &RgbImage, side: u32) -> RgbImage {
    let options = TranslateOptions {
        size: SizeMode::Pad,
        ..TranslateOptions::default()
    };
    let mut output = RgbImage::new(image.width(), image.height());
    for y in (0..image.height()).step_by(side as usize) {
        for x in (0..image.width()).step_by(side as usize) {
            let (w, h) = (side.min(image.width() - x), side.min(image.height() - y));
            let tile = image::imageops::crop_imm(image, x, y, w, h).to_image();
            let translated = translator
                .translate(&DynamicImage::ImageRgb8(tile), &options)
                .unwrap()
                .to_rgb8();
            image::imageops::replace(&mut output, &translated, i64::from(x), i64::from(y));
        }
    }
    output
}

fn tiled(norm: NormMode) -> TranslateOptions {
    TranslateOptions {
        norm,
        size: SizeMode::Pad,
        tiling: Tiling::Tiles(TileSize::default()),
        ..TranslateOptions::default()
    }
}

#[test]
fn a_large_image_in_tiles_shows_no_seams_where_per_tile_statistics_do() {
    let translator = demo();
    // Not a multiple of the tile: the last row and column of tiles overlap more, and the
    // image is padded to the network's multiple.
    let image = collage(1000, 700, 70, 1);
    let mut progress = Vec::new();
    let ours = translator
        .translate_with(
            &DynamicImage::ImageRgb8(image.clone()),
            &tiled(NormMode::BatchStats),
            None,
            &mut |done, total| progress.push((done, total)),
        )
        .unwrap()
        .to_rgb8();
    assert_eq!(ours.dimensions(), image.dimensions());
    let Tiles { side, overlap } = Tiles::resolve(TileSize::default(), 128, 128).unwrap();
    let (across, down) = (
        tile_starts(1000, side, overlap).len(),
        tile_starts(700, side, overlap).len(),
    );
    let pooling = tile_starts(1000, side, 0).len() * tile_starts(700, side, 0).len();
    let total = pooling + across * down;
    assert_eq!(progress.len(), total, "one report per tile of both passes");
    assert_eq!(progress.last(), Some(&(total, total)));

    let naive = per_tile_translation(&translator, &image, side as u32);
    let grid_x: Vec<u32> = (1..8).map(|i| i * side as u32).collect();
    let grid_y: Vec<u32> = (1..6).map(|i| i * side as u32).collect();
    let naive_ratio = seam_ratio(&naive, &grid_x, false).max(seam_ratio(&naive, &grid_y, true));
    let ours_ratio = seam_ratio(&ours, &tile_edges(1000, side, overlap), false).max(seam_ratio(
        &ours,
        &tile_edges(700, side, overlap),
        true,
    ));
    eprintln!("seam ratio: per-tile statistics {naive_ratio:.3}, ours {ours_ratio:.3}");
    assert!(
        naive_ratio > 1.3,
        "the metric sees per-tile seams: {naive_ratio:.3}"
    );
    assert!(
        ours_ratio < 1.1,
        "tile edges are invisible: {ours_ratio:.3}"
    );
}

#[test]
fn an_image_one_tile_covers_translates_as_it_does_untiled() {
    let translator = demo();
    let image = DynamicImage::ImageRgb8(collage(128, 128, 3, 2));
    for norm in [NormMode::BatchStats, NormMode::RunningStats] {
        let untiled = translator
            .translate(
                &image,
                &TranslateOptions {
                    norm,
                    size: SizeMode::Pad,
                    ..TranslateOptions::default()
                },
            )
            .unwrap()
            .to_rgb8();
        let in_tiles = translator
            .translate(&image, &tiled(norm))
            .unwrap()
            .to_rgb8();
        let differences: Vec<u8> = untiled
            .as_raw()
            .iter()
            .zip(in_tiles.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .collect();
        let largest = differences.iter().copied().max().unwrap();
        let differing = differences.iter().filter(|&&d| d > 0).count();
        eprintln!(
            "{norm:?}: {differing} of {} values differ, by at most {largest}",
            differences.len()
        );
        // The blend divides a weighted sum by its weight, and pooled statistics are summed in
        // f64: a value may round to the other side of an 8-bit level, no more.
        assert!(largest <= 1, "{norm:?}: differs by {largest} levels");
        assert!(
            differing * 100 < differences.len(),
            "{norm:?}: {differing} values differ"
        );
    }
}

#[test]
fn auto_tiling_starts_above_the_size_limit_and_only_at_the_images_own_size() {
    let translator = demo();
    let auto = |size| TranslateOptions {
        size,
        tiling: Tiling::Auto,
        ..TranslateOptions::default()
    };
    let small = DynamicImage::new_rgb8(1024, 300);
    let large = DynamicImage::new_rgb8(1025, 300);
    assert!(
        translator
            .tiles_for(&small, &auto(SizeMode::Pad))
            .unwrap()
            .is_none()
    );
    assert!(
        translator
            .tiles_for(&large, &auto(SizeMode::Pad))
            .unwrap()
            .is_some()
    );
    assert!(
        translator
            .tiles_for(&large, &auto(SizeMode::TrainedSize))
            .unwrap()
            .is_none(),
        "resized to the trained size, nothing is large"
    );
    let dropout = TranslateOptions {
        dropout_seed: Some(1),
        ..tiled(NormMode::BatchStats)
    };
    let message = translator
        .translate(&large, &dropout)
        .unwrap_err()
        .to_string();
    assert!(message.contains("dropout"), "{message}");
    let odd = TranslateOptions {
        tiling: Tiling::Tiles(TileSize {
            side: Some(100),
            overlap: None,
        }),
        ..tiled(NormMode::BatchStats)
    };
    let message = translator.translate(&large, &odd).unwrap_err().to_string();
    assert!(message.contains("multiple of 128"), "{message}");
}

/// Frames of a clip: a 512 × 256 collage with a dark square moving through its right part.
fn frames(dir: &Path, count: u32) -> Vec<PathBuf> {
    let base = collage(512, 256, 10, 3);
    (0..count)
        .map(|index| {
            let mut frame = base.clone();
            let x0 = 340 + index * 20;
            for y in 100..140 {
                for x in x0..x0 + 40 {
                    frame.put_pixel(x, y, image::Rgb([20, 20, 20]));
                }
            }
            let path = dir.join(format!("frame_{index:04}.png"));
            frame.save(&path).unwrap();
            path
        })
        .collect()
}

/// `translate --tile` with the demo model on the CPU, from `input` into `output`.
fn translate_tiled(input: &Path, output: &Path, extra: &[&str]) {
    run_ok(
        binary()
            .args([
                "translate",
                "-m",
                "assets/demo/sketches",
                "--device",
                "cpu",
                "--tile",
            ])
            .arg(input)
            .arg("-o")
            .arg(output)
            .args(extra),
    );
}

fn frame(output: &Path, index: u32) -> RgbImage {
    image::open(output.join(format!("frame_{index:04}.png")))
        .unwrap()
        .to_rgb8()
}

/// Mean absolute change between consecutive frames of the left part (x < 280), which only
/// tiles the square never enters cover (tiles start every 96 px: 0, 96, 192, 288, 384).
fn flicker(output: &Path, count: u32) -> f64 {
    let still = |image: &RgbImage| image::imageops::crop_imm(image, 0, 0, 280, 256).to_image();
    let mut total = 0.0;
    for index in 1..count {
        let (a, b) = (
            still(&frame(output, index - 1)),
            still(&frame(output, index)),
        );
        total += a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| f64::from(x.abs_diff(*y)))
            .sum::<f64>()
            / a.as_raw().len() as f64;
    }
    total / f64::from(count - 1)
}

#[test]
fn consistent_frames_do_not_flicker_where_nothing_moves_and_shards_normalise_alike() {
    let dir = temp_dir("tiling-frames");
    let frames_dir = dir.join("frames");
    std::fs::create_dir_all(&frames_dir).unwrap();
    let count = 6;
    frames(&frames_dir, count);
    let (plain, consistent) = (dir.join("plain"), dir.join("consistent"));
    translate_tiled(&frames_dir, &plain, &[]);
    translate_tiled(&frames_dir, &consistent, &["--consistent"]);
    let (before, after) = (flicker(&plain, count), flicker(&consistent, count));
    eprintln!(
        "flicker where nothing moves: each frame its own statistics {before:.3}, consistent {after:.3}"
    );
    assert!(
        before > 0.1,
        "per-frame statistics move the still part: {before:.3}"
    );
    assert_eq!(
        after, 0.0,
        "one normalisation: the still part is the same in every frame"
    );

    // Two shards of the same sequence pool the same frames: identical outputs.
    let sharded = dir.join("sharded");
    for shard in ["0/2", "1/2"] {
        translate_tiled(&frames_dir, &sharded, &["--consistent", "--shard", shard]);
    }
    for index in 0..count {
        let same = frame(&consistent, index) == frame(&sharded, index);
        assert!(same, "frame {index}: a shard normalised differently");
    }

    let refused = binary()
        .args(["translate", "--consistent", "--dropout-seed", "1"])
        .arg(&frames_dir)
        .arg("-o")
        .arg(dir.join("refused"))
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(2),
        "dropout noise flickers: a usage error"
    );
}

#[test]
fn translate_tile_writes_a_large_image_at_its_size() {
    let dir = temp_dir("tiling-cli");
    let input = dir.join("large.png");
    collage(700, 300, 12, 4).save(&input).unwrap();
    let output = dir.join("out");
    translate_tiled(&input, &output, &["--tile-overlap", "48"]);
    let translated = image::open(output.join("large.png")).unwrap();
    assert_eq!((translated.width(), translated.height()), (700, 300));
    let refused = binary()
        .args(["translate", "--tile-size", "256"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "--tile-size needs --tile");
}
