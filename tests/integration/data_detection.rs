//! Discovery where the evidence is subtle: pairs whose halves are narrower than tall, halves
//! that are the same picture, an empty folder, pairs of the wrong size, duplicate names, a
//! forced layout, and the PNG formats other encoders write (palette, 16-bit).

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use pix2pix_studio::data::augment::Jitter;
use pix2pix_studio::data::loader::load_sample;
use pix2pix_studio::data::report::Issue;
use pix2pix_studio::data::{DiscoverOptions, LayoutHint, PairFiles, Preprocess, Split, discover};

use crate::util::temp_dir;

fn save(path: &Path, image: &RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image.save(path).unwrap();
}

/// A smooth photo-like picture (no edge down its middle).
fn photo(width: u32, height: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let t = f64::from(seed);
        let v = (f64::from(x) * 0.045 + t).sin() * 60.0 + (f64::from(y) * 0.06 - t).cos() * 50.0;
        Rgb([
            (128.0 + v) as u8,
            (120.0 + v * 0.4) as u8,
            (100.0 - v * 0.3) as u8,
        ])
    })
}

/// A label map (flat regions) beside a photo: a face-parsing style pair of `half`×`height`
/// halves.
fn label_photo_pair(half: u32, height: u32, seed: u32) -> RgbImage {
    let right = photo(half, height, seed);
    RgbImage::from_fn(2 * half, height, |x, y| {
        if x < half {
            let region = (x * 3 / half + y * 2 / height + seed) % 3;
            [Rgb([200, 30, 30]), Rgb([30, 160, 30]), Rgb([20, 20, 20])][region as usize]
        } else {
            *right.get_pixel(x - half, y)
        }
    })
}

fn auto() -> DiscoverOptions {
    DiscoverOptions::default()
}

#[test]
fn side_by_side_pairs_with_portrait_halves_are_found_by_their_seam() {
    // 145×100 images (1.45:1, as a public face-parsing set at 708-908 × 512): the aspect ratio
    // alone says "photos", the seam between label map and photo says "pairs".
    let dir = temp_dir("detect-seam");
    for i in 0..6 {
        save(
            &dir.join(format!("train/{i}.png")),
            &label_photo_pair(72 + i % 2, 100, i),
        );
    }
    let dataset = discover(&dir, &auto()).unwrap();
    assert_eq!(dataset.split(Split::Train).len(), 6, "{}", dataset.report);
    assert!(
        dataset.report.layout.contains("seam"),
        "{}",
        dataset.report.layout
    );
    assert!(matches!(dataset.pairs[0].files, PairFiles::SideBySide(_)));

    // Photos of the same shape have no seam: they stay photos.
    let photos = temp_dir("detect-seam-photos");
    for i in 0..6 {
        save(&photos.join(format!("{i}.png")), &photo(145, 100, i));
    }
    let dataset = discover(&photos, &auto()).unwrap();
    assert!(dataset.pairs.is_empty());
    assert!(
        dataset.report.layout.contains("plain photos"),
        "{}",
        dataset.report.layout
    );
}

#[test]
fn identical_halves_are_noted() {
    let dir = temp_dir("detect-identical");
    for i in 0..4 {
        let half = photo(32, 32, i);
        let copy = RgbImage::from_fn(64, 32, |x, y| *half.get_pixel(x % 32, y));
        save(&dir.join(format!("test/{i}.jpg")), &copy);
        save(
            &dir.join(format!("train/{i}.png")),
            &label_photo_pair(32, 32, i),
        );
    }
    let dataset = discover(&dir, &auto()).unwrap();
    let noted: Vec<&PathBuf> = dataset
        .report
        .problems
        .iter()
        .filter(|p| matches!(p.issue, Issue::IdenticalHalves { sampled: 4 }))
        .map(|p| &p.path)
        .collect();
    assert_eq!(noted, vec![&dir.join("test")], "{}", dataset.report);
    // A note, not a skip: the pairs are still there.
    assert_eq!(dataset.split(Split::Test).len(), 4);
    assert!(dataset.report.to_string().contains("same picture"));
}

#[test]
fn an_empty_folder_says_no_images_found() {
    let dir = temp_dir("detect-empty");
    std::fs::create_dir_all(dir.join("train")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
    let dataset = discover(&dir, &auto()).unwrap();
    assert_eq!(dataset.report.layout, "no images found");
    let text = dataset.report.to_string();
    assert!(text.contains("no images found"), "{text}");
    let err = dataset.ensure_trainable().unwrap_err().to_string();
    assert!(err.contains("no images found"), "{err}");
}

#[test]
fn size_mismatch_and_too_small_pairs_are_reported_and_skipped() {
    let dir = temp_dir("detect-sizes");
    save(&dir.join("A/good.png"), &photo(64, 64, 1));
    save(&dir.join("B/good.png"), &photo(64, 64, 2));
    save(&dir.join("A/mismatch.png"), &photo(64, 64, 3));
    save(&dir.join("B/mismatch.png"), &photo(80, 64, 4));
    save(&dir.join("A/small.png"), &photo(20, 20, 5));
    save(&dir.join("B/small.png"), &photo(20, 20, 6));
    let options = DiscoverOptions {
        min_side_px: 32,
        ..auto()
    };
    let dataset = discover(&dir, &options).unwrap();
    let report = &dataset.report;
    assert_eq!(dataset.pairs.len(), 1, "{report}");
    let issue_of = |name: &str| {
        report
            .problems
            .iter()
            .find(|p| p.path.to_string_lossy().contains(name))
            .map(|p| p.issue.clone())
    };
    assert_eq!(
        issue_of("mismatch"),
        Some(Issue::SizeMismatch {
            input: (64, 64),
            target: (80, 64)
        }),
        "{report}"
    );
    assert_eq!(
        issue_of("small"),
        Some(Issue::TooSmall {
            width: 20,
            height: 20,
            min_side_px: 32
        }),
        "{report}"
    );
}

#[test]
fn duplicate_stems_are_never_guessed() {
    // `img1.png` and `img1.jpg` on one side: which one is the input is unknowable.
    let dir = temp_dir("detect-duplicates");
    save(&dir.join("A/img1.png"), &photo(32, 32, 1));
    save(&dir.join("A/img1.jpg"), &photo(32, 32, 2));
    save(&dir.join("B/img1.png"), &photo(32, 32, 3));
    save(&dir.join("A/img2.png"), &photo(32, 32, 4));
    save(&dir.join("B/img2.png"), &photo(32, 32, 5));
    let dataset = discover(&dir, &auto()).unwrap();
    let report = &dataset.report;
    assert_eq!(dataset.pairs.len(), 1, "{report}");
    let PairFiles::Separate { a, .. } = &dataset.pairs[0].files else {
        panic!("a separate pair");
    };
    assert!(a.ends_with("A/img2.png"));
    for name in ["img1.png", "img1.jpg"] {
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.path.ends_with(format!("A/{name}"))),
            "{name} is reported: {report}"
        );
    }
}

#[test]
fn a_forced_side_by_side_layout_splits_square_images() {
    let dir = temp_dir("detect-forced");
    for i in 0..3 {
        save(&dir.join(format!("{i}.png")), &photo(64, 64, i));
    }
    assert!(discover(&dir, &auto()).unwrap().pairs.is_empty());
    let forced = DiscoverOptions {
        hint: LayoutHint::SideBySide,
        ..auto()
    };
    let dataset = discover(&dir, &forced).unwrap();
    assert_eq!(dataset.pairs.len(), 3, "{}", dataset.report);
    assert!(dataset.pairs.iter().all(|pair| pair.side_px == (32, 64)));
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name)
}

/// Value of channel `c` at `(x, y)` of a planar `[3, 32, 32]` buffer.
fn at(planar: &[f32], c: usize, x: usize, y: usize) -> f32 {
    planar[c * 32 * 32 + y * 32 + x]
}

#[test]
fn palette_and_16_bit_pngs_load_with_their_values() {
    let dir = temp_dir("detect-formats");
    for name in ["palette_pair.png", "gray16_pair.png"] {
        std::fs::copy(fixture(name), dir.join(name)).unwrap();
    }
    let dataset = discover(&dir, &auto()).unwrap();
    assert_eq!(dataset.pairs.len(), 2, "{}", dataset.report);
    let config = crate::data::config(Preprocess::None, 32);
    let load = |name: &str| {
        let entry = dataset
            .pairs
            .iter()
            .find(|pair| pair.files.path().ends_with(name))
            .unwrap();
        load_sample(entry, &config, Jitter::none()).unwrap()
    };
    // Palette: input top-left red, bottom-left green; target blue with a black square.
    let palette = load("palette_pair.png");
    assert_eq!((palette.width, palette.height), (32, 32));
    let rgb = |planar: &[f32], x, y| [0, 1, 2].map(|c| at(planar, c, x, y));
    assert_eq!(rgb(&palette.input, 0, 0), [1.0, -1.0, -1.0]);
    assert_eq!(rgb(&palette.input, 0, 31), [-1.0, 1.0, -1.0]);
    assert_eq!(rgb(&palette.target, 0, 0), [-1.0, -1.0, 1.0]);
    assert_eq!(rgb(&palette.target, 8, 8), [-1.0, -1.0, -1.0]);
    // 16-bit gray: a ramp over the whole 64×32 image, row-major, 0 to 65535.
    let gray = load("gray16_pair.png");
    let expected = |x: usize, y: usize| {
        let value = ((y * 64 + x) as f64 * 65535.0 / 2047.0).floor();
        (value / 65535.0 * 2.0 - 1.0) as f32
    };
    for (x, y) in [(0, 0), (31, 0), (5, 17), (31, 31)] {
        let input = at(&gray.input, 0, x, y);
        let target = at(&gray.target, 1, x, y);
        assert!(
            (input - expected(x, y)).abs() < 1.0 / 255.0,
            "input ({x}, {y}): {input}"
        );
        assert!(
            (target - expected(x + 32, y)).abs() < 1.0 / 255.0,
            "target ({x}, {y}): {target}"
        );
    }
}
