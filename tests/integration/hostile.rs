//! Files made to hurt: a run folder whose `config.json` asks for absurd sizes, image headers that
//! claim billions of pixels in every format read, and an export interrupted before its config
//! was written. Each is refused with the file named, without allocating what it asks for.

use std::path::Path;

use burn::tensor::Device;
use pix2pix_studio::config::run_folder;
use pix2pix_studio::data::decode::read_image;
use pix2pix_studio::model::pytorch::save_generator;

use crate::engine::binary;
use crate::util::{temp_dir, tiny_run};

/// A run folder holding `config` as its config.json.
fn run_folder_with(test: &str, config: &serde_json::Value) -> std::path::PathBuf {
    let dir = temp_dir(test);
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

/// `image_size_px` had no upper bound, so a shared run folder could make the default size mode
/// allocate side²; widths were only checked for ≠ 0 (`ngf * 8` can overflow). Every field read
/// from disk is in a range now, and the error names the file and the field.
#[test]
fn a_run_config_with_absurd_sizes_is_refused_naming_file_and_field() {
    let good = serde_json::to_value(tiny_run(10)).unwrap();
    let cases: [(&str, &[&str], serde_json::Value, &str); 5] = [
        (
            "size",
            &["data", "image_size_px"],
            1_000_000_000u64.into(),
            "data.image_size_px",
        ),
        (
            "load",
            &["data", "load_size_px"],
            70_000u64.into(),
            "data.load_size_px",
        ),
        (
            "ngf",
            &["training", "generator", "ngf"],
            (1u64 << 61).into(),
            "ngf",
        ),
        (
            "ndf",
            &["training", "discriminator", "ndf"],
            (1u64 << 40).into(),
            "ndf",
        ),
        (
            "batch",
            &["data", "batch_size"],
            (1u64 << 50).into(),
            "data.batch_size",
        ),
    ];
    for (name, field, value, said) in cases {
        let mut config = good.clone();
        let mut slot = &mut config;
        for key in field {
            slot = &mut slot[*key];
        }
        *slot = value;
        let dir = run_folder_with(&format!("absurd-{name}"), &config);
        let err = run_folder::read_config(&dir).unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains(said),
            "{name}: {err}"
        );
    }
    let dir = run_folder_with("absurd-none", &good);
    run_folder::read_config(&dir).unwrap();
}

/// `export` to a folder wrote `config.json` before the generator, so a failed write left a
/// folder that every reader takes for a model folder. The config comes last now.
#[test]
fn an_export_that_fails_leaves_no_config_behind() {
    let dir = temp_dir("export-order");
    let checkpoint = dir.join("checkpoint");
    std::fs::create_dir_all(&checkpoint).unwrap();
    let config = tiny_run(10);
    run_folder::write_config(&checkpoint, &config).unwrap();
    let generator = config.training.generator.init(&Device::flex(), 1).unwrap();
    save_generator(&generator, &checkpoint.join("generator.safetensors")).unwrap();
    let target = dir.join("model");
    // The weights cannot be written: their name is taken by a folder.
    std::fs::create_dir_all(target.join("generator.safetensors")).unwrap();
    let done = binary()
        .args(["--device", "cpu", "export"])
        .arg(&checkpoint)
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(1));
    assert!(!target.join("config.json").exists());
}

/// A 16 × 16 image encoded as `format`.
fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 9, y as u8, 60]));
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(picture)
        .write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

/// Decodes `bytes` as `name` with allocations capped at 64 MiB: a bomb must be refused from its
/// header, before its pixels are allocated.
fn refused_from_header(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let (outcome, largest) = crate::alloc_cap::watch(64 << 20, || read_image(&path));
    assert!(
        largest <= 64 << 20,
        "{name}: an allocation of {largest} bytes"
    );
    let err = outcome.expect_err(name).to_string();
    assert!(err.contains(name), "{err}");
    err
}

#[test]
fn jpeg_tiff_and_webp_bombs_are_refused_before_their_pixels_are_allocated() {
    let dir = temp_dir("bombs");
    // JPEG: the start-of-frame segment says 65535 × 65535 (12.9 GB as RGB).
    let mut jpeg = encoded(image::ImageFormat::Jpeg);
    let sof = jpeg
        .windows(2)
        .position(|marker| marker == [0xFF, 0xC0])
        .unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let err = refused_from_header(&dir, "bomb.jpg", &jpeg);
    assert!(err.contains("too large"), "{err}");

    // TIFF: ImageWidth and ImageLength (tags 256 and 257) say 65535 each.
    let mut tiff = encoded(image::ImageFormat::Tiff);
    let ifd = u32::from_le_bytes(tiff[4..8].try_into().unwrap()) as usize;
    let entries = u16::from_le_bytes([tiff[ifd], tiff[ifd + 1]]) as usize;
    for entry in 0..entries {
        let at = ifd + 2 + 12 * entry;
        let tag = u16::from_le_bytes([tiff[at], tiff[at + 1]]);
        if tag == 256 || tag == 257 {
            let kind = u16::from_le_bytes([tiff[at + 2], tiff[at + 3]]);
            let value: &[u8] = if kind == 3 {
                &[0xFF, 0xFF, 0, 0]
            } else {
                &[0xFF, 0xFF, 0xFF, 0]
            };
            tiff[at + 8..at + 12].copy_from_slice(value);
        }
    }
    // The TIFF decoder refuses it on its own (the strips do not add up) before any limit.
    refused_from_header(&dir, "bomb.tiff", &tiff);

    // WebP: an extended header (VP8X) whose canvas is 16 777 216 px a side, before the image.
    let webp = encoded(image::ImageFormat::WebP);
    let mut vp8x = b"VP8X".to_vec();
    vp8x.extend_from_slice(&10u32.to_le_bytes());
    vp8x.extend_from_slice(&[0, 0, 0, 0]); // flags, reserved
    vp8x.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]); // width - 1, height - 1
    let mut bomb = b"RIFF".to_vec();
    bomb.extend_from_slice(&((4 + vp8x.len() + webp.len() - 12) as u32).to_le_bytes());
    bomb.extend_from_slice(b"WEBP");
    bomb.extend_from_slice(&vp8x);
    bomb.extend_from_slice(&webp[12..]); // the image's own chunk
    refused_from_header(&dir, "bomb.webp", &bomb);
}
