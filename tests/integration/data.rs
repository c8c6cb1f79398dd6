//! Paired data: every layout on temporary folders, the real datasets in ../shared/datasets,
//! synthesised pairs, shared augmentation, the loader, and bad files.

use std::path::{Path, PathBuf};

use image::{DynamicImage, Rgb, RgbImage};
use pix2pix_studio::data::augment::{AugmentConfig, Jitter, Preprocess};
use pix2pix_studio::data::loader::{
    Loader, LoaderMessage, LoaderOptions, SampleConfig, load_sample,
};
use pix2pix_studio::data::report::Issue;
use pix2pix_studio::data::{
    Direction, DiscoverOptions, LayoutHint, PairFiles, Split, SynthTask, discover,
};
use pix2pix_studio::samples::{SampleCounts, make_samples};

use crate::util::temp_dir;

/// A colourful test image whose left and right halves differ.
fn picture(width: u32, height: u32, seed: u8) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width.max(1)) as u8 ^ seed,
            (y * 255 / height.max(1)) as u8,
            if x < width / 2 { 40 } else { 220 },
        ])
    })
}

fn save(path: &Path, image: &RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image.save(path).unwrap();
}

fn auto() -> DiscoverOptions {
    DiscoverOptions::default()
}

fn has_issue(
    report: &pix2pix_studio::data::Report,
    name: &str,
    predicate: impl Fn(&Issue) -> bool,
) -> bool {
    report
        .problems
        .iter()
        .any(|p| p.path.to_string_lossy().contains(name) && predicate(&p.issue))
}

pub(crate) fn config(preprocess: Preprocess, size: u32) -> SampleConfig {
    SampleConfig {
        augment: AugmentConfig::new(preprocess, size, 32),
        direction: Direction::AtoB,
        synth: None,
        input_channels: 3,
        output_channels: 3,
    }
}

#[test]
fn side_by_side_with_splits_and_flat() {
    let dir = temp_dir("layout-aligned");
    for (split, count) in [("train", 3), ("val", 2), ("test", 1)] {
        for i in 0..count {
            save(
                &dir.join(split).join(format!("{i}.jpg")),
                &picture(128, 64, i as u8),
            );
        }
    }
    let dataset = discover(&dir, &auto()).unwrap();
    assert_eq!(dataset.report.pairs_per_split.get(&Split::Train), Some(&3));
    assert_eq!(dataset.report.pairs_per_split.get(&Split::Val), Some(&2));
    assert_eq!(dataset.report.pairs_per_split.get(&Split::Test), Some(&1));
    assert!(dataset.pairs.iter().all(|p| p.side_px == (64, 64)));
    assert!(dataset.report.problems.is_empty(), "{}", dataset.report);

    let flat = temp_dir("layout-flat");
    save(&flat.join("a.png"), &picture(64, 32, 1));
    save(&flat.join("b.png"), &picture(64, 32, 2));
    let dataset = discover(&flat, &auto()).unwrap();
    assert_eq!(dataset.split(Split::Train).len(), 2);
    dataset.ensure_trainable().unwrap();
}

#[test]
fn separate_folder_layouts_are_matched_by_name() {
    let layouts: [(&str, &[(&str, &str)]); 7] = [
        ("a-b", &[("A", "B")]),
        ("input-target", &[("input", "target")]),
        ("a-b-splits", &[("A/train", "B/train"), ("A/val", "B/val")]),
        ("splits-a-b", &[("train/A", "train/B"), ("val/A", "val/B")]),
        (
            "underscore",
            &[("train_A", "train_B"), ("test_A", "test_B")],
        ),
        ("cyclegan", &[("trainA", "trainB")]),
        ("pix2pixhd", &[("train_label", "train_img")]),
    ];
    for (name, folders) in layouts {
        let dir = temp_dir(&format!("layout-{name}"));
        for (a, b) in folders {
            for i in 0..3 {
                // Sorted order differs between the sides: pairing by position would be wrong.
                save(
                    &dir.join(a).join(format!("img{i}.png")),
                    &picture(32, 32, i),
                );
                save(
                    &dir.join(b).join(format!("img{}.png", 2 - i)),
                    &picture(32, 32, 2 - i),
                );
            }
        }
        let dataset = discover(&dir, &auto()).unwrap();
        assert_eq!(
            dataset.pairs.len(),
            3 * folders.len(),
            "{name}: {}",
            dataset.report
        );
        for pair in &dataset.pairs {
            let PairFiles::Separate { a, b } = &pair.files else {
                panic!("{name}: not a separate pair");
            };
            assert_eq!(a.file_name(), b.file_name(), "{name}: paired by name");
        }
        assert!(dataset.report.layout.contains("separate"), "{name}");
    }
}

#[test]
fn names_with_different_suffixes_pair_up_and_strays_are_reported() {
    let dir = temp_dir("layout-suffix");
    for city in ["aachen_000000", "aachen_000001", "bonn_000002"] {
        save(
            &dir.join("train_label")
                .join(format!("{city}_000019_gtFine_labelIds.png")),
            &picture(32, 16, 1),
        );
        save(
            &dir.join("train_img")
                .join(format!("{city}_000019_leftImg8bit.png")),
            &picture(32, 16, 2),
        );
    }
    save(
        &dir.join("train_label")
            .join("zurich_000003_000019_gtFine_labelIds.png"),
        &picture(32, 16, 3),
    );
    save(
        &dir.join("train_img")
            .join("wrong_size_000019_leftImg8bit.png"),
        &picture(32, 16, 3),
    );
    std::fs::write(dir.join("train_img").join("notes.txt"), "hello").unwrap();
    save(
        &dir.join("train_inst")
            .join("aachen_000000_000019_gtFine_instanceIds.png"),
        &picture(32, 16, 3),
    );
    save(
        &dir.join("test_label")
            .join("frankfurt_000000_000019_gtFine_labelIds.png"),
        &picture(32, 16, 4),
    );
    let dataset = discover(&dir, &auto()).unwrap();
    let report = &dataset.report;
    assert_eq!(dataset.pairs.len(), 3, "{report}");
    assert!(
        has_issue(report, "zurich", |i| *i == Issue::NoTarget),
        "{report}"
    );
    assert!(
        has_issue(report, "wrong_size", |i| *i == Issue::NoInput),
        "{report}"
    );
    assert!(
        has_issue(report, "notes.txt", |i| *i == Issue::NotImageFile),
        "{report}"
    );
    assert!(
        has_issue(report, "train_inst", |i| matches!(
            i,
            Issue::IgnoredFolder(_)
        )),
        "{report}"
    );
    assert!(
        has_issue(report, "test_label", |i| matches!(
            i,
            Issue::InputOnlyFolder { images: 1, .. }
        )),
        "{report}"
    );
}

#[test]
fn bad_files_and_folders_get_their_messages() {
    let dir = temp_dir("bad-files");
    save(&dir.join("train/good.png"), &picture(64, 32, 1));
    std::fs::write(dir.join("train/garbage.png"), b"definitely not a png").unwrap();
    std::fs::write(dir.join("train/readme.txt"), b"text").unwrap();
    // A PNG cut short: the header reads, the pixels do not.
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(picture(64, 32, 9))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    std::fs::write(dir.join("train/truncated.png"), &bytes[..bytes.len() / 2]).unwrap();
    save(&dir.join("train/odd.png"), &picture(65, 32, 2));
    let dataset = discover(&dir, &auto()).unwrap();
    let report = &dataset.report;
    assert!(
        has_issue(report, "garbage.png", |i| matches!(
            i,
            Issue::NotAnImage(_) | Issue::Unreadable(_)
        )),
        "{report}"
    );
    assert!(
        has_issue(report, "readme.txt", |i| *i == Issue::NotImageFile),
        "{report}"
    );
    assert!(
        has_issue(report, "odd.png", |i| *i == Issue::OddWidth { width: 65 }),
        "{report}"
    );
    let odd = dataset
        .pairs
        .iter()
        .find(|p| p.files.path().ends_with("odd.png"))
        .unwrap();
    assert_eq!(odd.side_px, (32, 32));
    // The truncated file passes the header check and fails, with its name, when loaded.
    let truncated = dataset
        .pairs
        .iter()
        .find(|p| p.files.path().ends_with("truncated.png"))
        .unwrap();
    let err = load_sample(truncated, &config(Preprocess::None, 32), Jitter::none()).unwrap_err();
    assert!(err.to_string().contains("truncated.png"), "{err}");
    let odd_sample = load_sample(odd, &config(Preprocess::None, 32), Jitter::none()).unwrap();
    assert_eq!((odd_sample.width, odd_sample.height), (32, 32));

    let empty = temp_dir("empty-folder");
    let dataset = discover(&empty, &auto()).unwrap();
    let err = dataset.ensure_trainable().unwrap_err().to_string();
    assert!(
        err.contains("no usable training pairs") && err.contains("empty-folder"),
        "{err}"
    );
    let missing = discover(&empty.join("nope"), &auto())
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope"), "{missing}");
}

#[test]
fn a_decompression_bomb_is_refused() {
    // A PNG header claiming 100 000 × 100 000 pixels.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    let dir = temp_dir("bomb");
    std::fs::create_dir_all(dir.join("train")).unwrap();
    std::fs::write(dir.join("train/bomb.png"), png).unwrap();
    save(&dir.join("train/ok.png"), &picture(64, 32, 1));
    let dataset = discover(&dir, &auto()).unwrap();
    assert!(
        has_issue(
            &dataset.report,
            "bomb.png",
            |i| matches!(i, Issue::Unreadable(r) if r.contains("too large"))
        ),
        "{}",
        dataset.report
    );
    assert_eq!(dataset.pairs.len(), 1);
}

#[test]
fn plain_photos_are_recognised_and_synthesised() {
    let dir = temp_dir("photos");
    for i in 0..3 {
        // Smooth, as photos are (`picture` has an edge down its middle, which reads as a pair).
        let photo = RgbImage::from_fn(96, 80, |x, y| {
            Rgb([(x * 2 + i) as u8, (y * 3) as u8, ((x + y) / 2) as u8])
        });
        save(&dir.join(format!("photo{i}.jpg")), &photo);
    }
    let dataset = discover(&dir, &auto()).unwrap();
    assert!(dataset.pairs.is_empty());
    assert!(
        dataset.report.layout.contains("plain photos"),
        "{}",
        dataset.report
    );
    for task in SynthTask::ALL {
        let options = DiscoverOptions {
            hint: LayoutHint::Photos(task),
            ..DiscoverOptions::default()
        };
        let dataset = discover(&dir, &options).unwrap();
        assert_eq!(dataset.pairs.len(), 3);
        let (input_channels, output_channels) = task.channels();
        let sample_config = SampleConfig {
            synth: Some(task),
            input_channels,
            output_channels,
            ..config(Preprocess::ResizeAndCrop, 64)
        };
        let sample = load_sample(&dataset.pairs[0], &sample_config, Jitter::none()).unwrap();
        assert_eq!((sample.width, sample.height), (64, 64));
        assert_eq!(sample.input.len(), input_channels * 64 * 64, "{task}");
        assert_eq!(sample.target.len(), output_channels * 64 * 64, "{task}");
    }
}

#[test]
fn input_and_target_get_the_same_crop_and_flip() {
    let dir = temp_dir("same-jitter");
    // Both halves hold the same picture, so any shared crop and flip keep them equal.
    let half = picture(80, 80, 3);
    let mut pair = RgbImage::new(160, 80);
    for (x, y, pixel) in pair.enumerate_pixels_mut() {
        *pixel = *half.get_pixel(x % 80, y);
    }
    save(&dir.join("pair.png"), &pair);
    let dataset = discover(&dir, &auto()).unwrap();
    for preprocess in [
        Preprocess::ResizeAndCrop,
        Preprocess::Crop,
        Preprocess::ScaleWidthAndCrop,
    ] {
        for jitter in [
            Jitter {
                crop_x: 0.0,
                crop_y: 1.0,
                flip: true,
            },
            Jitter {
                crop_x: 0.7,
                crop_y: 0.2,
                flip: false,
            },
        ] {
            let sample = load_sample(&dataset.pairs[0], &config(preprocess, 64), jitter).unwrap();
            assert_eq!((sample.width, sample.height), (64, 64));
            assert_eq!(sample.input, sample.target, "{preprocess:?} {jitter:?}");
        }
    }
    // And the crop really moves: two offsets give different samples.
    let a = load_sample(
        &dataset.pairs[0],
        &config(Preprocess::Crop, 32),
        Jitter {
            crop_x: 0.0,
            crop_y: 0.0,
            flip: false,
        },
    )
    .unwrap();
    let b = load_sample(
        &dataset.pairs[0],
        &config(Preprocess::Crop, 32),
        Jitter {
            crop_x: 1.0,
            crop_y: 1.0,
            flip: false,
        },
    )
    .unwrap();
    assert_ne!(a.input, b.input);
}

#[test]
fn direction_swaps_the_sides() {
    let dir = temp_dir("direction");
    save(&dir.join("pair.png"), &picture(64, 32, 0)); // left half blue 40, right half 220
    let dataset = discover(&dir, &auto()).unwrap();
    let a_to_b = load_sample(
        &dataset.pairs[0],
        &config(Preprocess::None, 32),
        Jitter::none(),
    )
    .unwrap();
    let b_to_a_config = SampleConfig {
        direction: Direction::BtoA,
        ..config(Preprocess::None, 32)
    };
    let b_to_a = load_sample(&dataset.pairs[0], &b_to_a_config, Jitter::none()).unwrap();
    assert_eq!(a_to_b.input, b_to_a.target);
    assert_eq!(a_to_b.target, b_to_a.input);
    let blue = |plane: &[f32]| plane[2 * 32 * 32];
    assert!(blue(&a_to_b.input) < 0.0 && blue(&a_to_b.target) > 0.0);
}

fn collect_batches(loader: &Loader, count: usize) -> Vec<LoaderMessage> {
    (0..count).filter_map(|_| loader.next()).collect()
}

#[test]
fn the_loader_batches_shuffles_reproducibly_and_skips_broken_pairs() {
    let dir = temp_dir("loader");
    for i in 0..5u8 {
        save(&dir.join(format!("{i}.png")), &picture(64, 32, i * 40));
    }
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(picture(64, 32, 1))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    std::fs::write(dir.join("5.png"), &bytes[..bytes.len() / 2]).unwrap();
    let dataset = discover(&dir, &auto()).unwrap();
    assert_eq!(dataset.pairs.len(), 6);
    let options = LoaderOptions {
        batch_size: 2,
        shuffle: true,
        seed: 11,
        start_epoch: 0,
        start_batch: 0,
        prefetch: 2,
    };
    let sample_config = config(Preprocess::ResizeAndCrop, 32);
    let run = |options: LoaderOptions| {
        let loader = Loader::spawn(dataset.split(Split::Train), sample_config, options).unwrap();
        assert_eq!(loader.batches_per_epoch(), 3);
        collect_batches(&loader, 9)
    };
    let first = run(options);
    let batches: Vec<_> = first
        .iter()
        .filter_map(|m| match m {
            LoaderMessage::Batch(b) => Some(b),
            _ => None,
        })
        .collect();
    let end_of_first_epoch = first
        .iter()
        .position(|m| *m == LoaderMessage::EpochEnd { epoch: 0 })
        .unwrap();
    let skipped: Vec<_> = first[..end_of_first_epoch]
        .iter()
        .filter_map(|m| match m {
            LoaderMessage::Skipped(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 1, "the truncated pair, once in the epoch");
    assert!(skipped[0].path.ends_with("5.png"));
    let sizes: Vec<usize> = batches
        .iter()
        .filter(|b| b.epoch == 0)
        .map(|b| b.input_shape[0])
        .collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        5,
        "every good pair once in epoch 0: {sizes:?}"
    );
    assert!(batches.iter().all(|b| b.input_shape[1..] == [3, 32, 32]
        && b.input.len() == b.input_shape.iter().product::<usize>()));
    // The same seed gives the same batches; starting at batch 1 skips exactly the first.
    assert_eq!(run(options), first);
    let resumed = run(LoaderOptions {
        start_batch: 1,
        ..options
    });
    let first_batches: Vec<_> = first
        .iter()
        .filter(|m| matches!(m, LoaderMessage::Batch(b) if b.epoch == 0 && b.index >= 1))
        .collect();
    let resumed_batches: Vec<_> = resumed
        .iter()
        .filter(|m| matches!(m, LoaderMessage::Batch(b) if b.epoch == 0))
        .collect();
    assert_eq!(first_batches, resumed_batches);
    // Variable-size preprocessing cannot batch.
    assert!(
        Loader::spawn(
            dataset.split(Split::Train),
            config(Preprocess::None, 32),
            options
        )
        .is_err()
    );
}

/// The real datasets next to the repository (never copied into it: their licences are for
/// local testing). Absent on a developer's clone, the test says it skipped; under CI
/// (`CI=true`), which always has them, their absence fails the test.
fn shared_datasets() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    if dir.is_dir() {
        return Some(dir);
    }
    let in_ci = std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false");
    assert!(!in_ci, "CI=true but {} is missing", dir.display());
    eprintln!("skipped: {} is absent", dir.display());
    None
}

#[test]
fn real_datasets_load_or_are_refused_for_the_right_reasons() {
    let Some(root) = shared_datasets() else {
        return;
    };

    // Non-square halves load.
    let person = discover(&root.join("person_outline"), &auto()).unwrap();
    assert_eq!(person.split(Split::Train).len(), 100, "{}", person.report);
    assert_eq!(person.split(Split::Val).len(), 155);
    assert!(person.report.sizes.keys().any(|(w, h)| w != h));
    let tall = person.pairs.iter().find(|p| p.side_px.1 < 240).unwrap();
    let sample = load_sample(tall, &config(Preprocess::ResizeAndCrop, 64), Jitter::none()).unwrap();
    assert_eq!((sample.width, sample.height), (64, 64));

    // Input-only val/test folders are refused; the train pairs load.
    let sat = discover(&root.join("sat_mask"), &auto()).unwrap();
    assert_eq!(sat.split(Split::Train).len(), 478, "{}", sat.report);
    assert!(sat.split(Split::Val).is_empty() && sat.split(Split::Test).is_empty());
    let single = |split: &str| {
        sat.report
            .problems
            .iter()
            .filter(|p| {
                p.path.to_string_lossy().contains(&format!("/{split}/"))
                    && matches!(p.issue, Issue::SingleImage { .. })
            })
            .count()
    };
    assert_eq!((single("val"), single("test")), (92, 29));

    // pix2pixHD: labels matched to images across suffixes, 1-channel labels in, 16-bit ignored.
    let city = discover(&root.join("cityscapes_pix2pixhd_sample"), &auto()).unwrap();
    assert_eq!(city.split(Split::Train).len(), 8, "{}", city.report);
    assert!(city.report.formats.contains_key("gray 8-bit"));
    assert!(has_issue(&city.report, "test_label", |i| matches!(
        i,
        Issue::InputOnlyFolder { images: 15, .. }
    )));
    assert!(has_issue(&city.report, "train_inst", |i| matches!(
        i,
        Issue::IgnoredFolder(_)
    )));
    let label_config = SampleConfig {
        input_channels: 1,
        ..config(Preprocess::ScaleWidthAndCrop, 64)
    };
    let sample = load_sample(&city.pairs[0], &label_config, Jitter::none()).unwrap();
    assert_eq!(sample.input.len(), 64 * 64);
    assert_eq!(sample.target.len(), 3 * 64 * 64);
    // A 16-bit instance map decodes and converts by the stated rule.
    let inst = root
        .join("cityscapes_pix2pixhd_sample/train_inst/aachen_000000_000019_gtFine_instanceIds.png");
    let header = pix2pix_studio::data::decode::read_header(&inst).unwrap();
    assert_eq!(header.color, image::ColorType::L16);
    let image = pix2pix_studio::data::decode::read_image(&inst).unwrap();
    let gray = pix2pix_studio::data::decode::to_channels(&image, 1);
    assert_eq!(gray.color(), image::ColorType::L8);
}

#[test]
fn make_samples_is_deterministic_and_loadable() {
    let dir = temp_dir("make-samples");
    let counts = SampleCounts { train: 6, val: 2 };
    make_samples(&dir.join("a"), 5, counts).unwrap();
    make_samples(&dir.join("b"), 5, counts).unwrap();
    make_samples(&dir.join("c"), 6, counts).unwrap();
    let read = |root: &Path| {
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for set in ["sketches", "labels"] {
            for split in ["train", "val"] {
                let folder = root.join(set).join(split);
                let mut names: Vec<_> = std::fs::read_dir(&folder)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect();
                names.sort();
                for path in names {
                    let bytes = std::fs::read(&path).unwrap();
                    files.push((path.strip_prefix(root).unwrap().to_path_buf(), bytes));
                }
            }
        }
        files
    };
    assert_eq!(read(&dir.join("a")), read(&dir.join("b")));
    assert_ne!(read(&dir.join("a")), read(&dir.join("c")));
    for set in ["sketches", "labels"] {
        let dataset = discover(&dir.join("a").join(set), &auto()).unwrap();
        assert_eq!(dataset.split(Split::Train).len(), 6);
        assert_eq!(dataset.split(Split::Val).len(), 2);
        assert!(dataset.pairs.iter().all(|p| p.side_px == (128, 128)));
        assert!(dataset.report.problems.is_empty());
    }
}

#[test]
fn the_committed_sample_pairs_are_what_make_samples_writes() {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample_pairs");
    let fresh = temp_dir("sample-pairs-check");
    make_samples(&fresh, 1, SampleCounts::default()).unwrap();
    for set in ["sketches", "labels"] {
        for split in ["train", "val"] {
            let list = |root: &Path| {
                let mut names: Vec<_> = std::fs::read_dir(root.join(set).join(split))
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                names.sort();
                names
            };
            let names = list(&committed);
            assert_eq!(names, list(&fresh), "{set}/{split}: file names");
            // Decoded pixels, not file bytes: a newer PNG encoder (another compression level or
            // filter choice) writes other bytes for the same picture.
            for name in names {
                let decode = |root: &Path| {
                    image::open(root.join(set).join(split).join(&name))
                        .unwrap()
                        .to_rgb8()
                };
                assert!(
                    decode(&committed) == decode(&fresh),
                    "{set}/{split}/{name:?}: other pixels than `make-samples --seed 1` writes"
                );
            }
        }
    }
    let readme = std::fs::read_to_string(committed.join("README.md")).unwrap();
    assert_eq!(
        readme,
        std::fs::read_to_string(fresh.join("README.md")).unwrap()
    );
}
