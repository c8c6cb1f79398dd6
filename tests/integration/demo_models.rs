//! The shipped demo models: each loads from the binary and colours its example drawings, taken
//! as the Sketch tab takes them (framed where the model's frame is known), as the committed
//! outputs in `assets/examples/expected/<model>/` within one level.
//!
//! `PIX2PIX_BLESS=1` writes those outputs instead (`scripts/train_demo_models.sh` does, after
//! training the models).

use std::path::PathBuf;

use burn::tensor::Device;
use image::{DynamicImage, RgbImage};
use pix2pix_studio::inference::drawing_frame::{DrawingFrame, frame_drawing};
use pix2pix_studio::inference::{ModelSource, TranslateOptions, Translator};
use pix2pix_studio::platform::bundled::{DemoModel, example_drawings};

/// What `demo` makes of its example drawing `png`, as the Sketch tab shows it.
fn colour_example(translator: &Translator, demo: DemoModel, png: &[u8]) -> RgbImage {
    let drawing = image::load_from_memory(png).unwrap().to_rgb8();
    let input = match DrawingFrame::of_demo(demo) {
        Some(frame) => frame_drawing(&drawing, frame),
        None => drawing,
    };
    translator
        .translate(
            &DynamicImage::ImageRgb8(input),
            &TranslateOptions::default(),
        )
        .unwrap()
        .to_rgb8()
}

#[test]
fn every_shipped_model_colours_its_examples_as_committed() {
    let expected_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/examples/expected");
    let bless = std::env::var_os("PIX2PIX_BLESS").is_some();
    for demo in DemoModel::ALL {
        let translator = Translator::load(&ModelSource::Demo(demo), &Device::flex()).unwrap();
        let examples = example_drawings(demo);
        assert!(!examples.is_empty(), "{demo:?} ships no example");
        for (name, png) in examples {
            let result = colour_example(&translator, demo, png);
            let path = expected_dir.join(demo.name()).join(format!("{name}.png"));
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                result.save(&path).unwrap();
                continue;
            }
            let expected = image::open(&path)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
                .to_rgb8();
            assert_eq!(
                result.dimensions(),
                expected.dimensions(),
                "{}",
                path.display()
            );
            let worst = result
                .as_raw()
                .iter()
                .zip(expected.as_raw())
                .map(|(&a, &b)| a.abs_diff(b))
                .max()
                .unwrap_or(0);
            assert!(
                worst <= 1,
                "{demo:?} {name}: {worst} levels from {}",
                path.display()
            );
        }
    }
}

#[test]
fn the_shoes_model_draws_a_shoe_not_a_blob() {
    // The sneaker's outline coloured: dark shoe on a light background, with shading inside.
    let demo = DemoModel::Shoes;
    let translator = Translator::load(&ModelSource::Demo(demo), &Device::flex()).unwrap();
    let (_, png) = example_drawings(demo)[0];
    let result = colour_example(&translator, demo, png);
    let luma = |x: u32, y: u32| {
        let [r, g, b] = result.get_pixel(x, y).0;
        (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000
    };
    let (width, height) = result.dimensions();
    let corners = [
        (1, 1),
        (width - 2, 1),
        (1, height - 2),
        (width - 2, height - 2),
    ];
    assert!(
        corners.iter().all(|&(x, y)| luma(x, y) > 200),
        "the background is not white"
    );
    let centre: Vec<u32> = (height / 3..2 * height / 3)
        .flat_map(|y| (width / 3..2 * width / 3).map(move |x| (x, y)))
        .map(|(x, y)| luma(x, y))
        .collect();
    let mean = centre.iter().sum::<u32>() as f64 / centre.len() as f64;
    let spread = (centre
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / centre.len() as f64)
        .sqrt();
    assert!(mean < 170.0, "the shoe is not there (mean luma {mean:.0})");
    assert!(
        spread > 12.0,
        "no shading in the shoe (luma std {spread:.1})"
    );
}
