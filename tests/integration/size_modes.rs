//! Translation's size modes give the pixels their definitions say, not only the right size:
//! each is rebuilt here by hand (resize, or pad by repeating the border) around one forward
//! pass of the generator and compared pixel for pixel.

use std::path::PathBuf;

use burn::tensor::Device;
use image::{DynamicImage, GenericImageView, RgbImage};
use pix2pix_studio::data::augment::FILTER;
use pix2pix_studio::data::convert::{image_to_planar, planar_to_tensor, tensor_to_images};
use pix2pix_studio::inference::{ModelSource, SizeMode, TranslateOptions, Translator};
use pix2pix_studio::model::{Dropout, NormMode};

fn demo() -> Translator {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo/sketches");
    Translator::load(&ModelSource::Checkpoint(dir), &Device::flex()).unwrap()
}

/// The generator once over `image` (batch statistics, no dropout), as a picture.
fn forward(translator: &Translator, image: &DynamicImage) -> DynamicImage {
    let channels = translator.config().input_channels;
    let (width, height) = (image.width() as usize, image.height() as usize);
    let input = planar_to_tensor(
        vec![image_to_planar(image, channels)],
        [channels, height, width],
        &Device::flex().inner(),
    );
    let output = translator
        .generator()
        .forward(input, NormMode::BatchStats, Dropout::Off)
        .unwrap();
    tensor_to_images(output).unwrap().remove(0)
}

fn translated(translator: &Translator, image: &DynamicImage, size: SizeMode) -> RgbImage {
    let options = TranslateOptions {
        size,
        ..TranslateOptions::default()
    };
    translator.translate(image, &options).unwrap().to_rgb8()
}

#[test]
fn size_modes_give_the_pixels_of_their_definition() {
    let translator = demo();
    assert_eq!(translator.config().size_multiple(), 128);
    let image = DynamicImage::ImageRgb8(RgbImage::from_fn(300, 170, |x, y| {
        let ink = (x as i32 - 150).abs() < 4 || (y as i32 - 85).abs() < 3 || (x + y) % 97 < 3;
        if ink {
            image::Rgb([0, 0, 0])
        } else {
            image::Rgb([255, 255, 255])
        }
    }));

    // Trained size (128 px): squeezed to 128×128, translated, stretched back.
    let squeezed = image.resize_exact(128, 128, FILTER);
    let expected = forward(&translator, &squeezed).resize_exact(300, 170, FILTER);
    let trained = translated(&translator, &image, SizeMode::TrainedSize);
    assert_eq!(trained, expected.to_rgb8(), "trained size");

    // Pad: 300×170 sits centred in 384×256 (the next multiples of 128), the border pixels
    // repeated outwards; the result is cut back out of the same place.
    let (offset_x, offset_y) = ((384 - 300) / 2, (256 - 170) / 2);
    let padded = DynamicImage::ImageRgb8(RgbImage::from_fn(384, 256, |x, y| {
        let source_x = (x.saturating_sub(offset_x)).min(299);
        let source_y = (y.saturating_sub(offset_y)).min(169);
        image.get_pixel(source_x, source_y).0[..3]
            .try_into()
            .map(image::Rgb)
            .unwrap()
    }));
    let expected = forward(&translator, &padded).crop_imm(offset_x, offset_y, 300, 170);
    let pad = translated(&translator, &image, SizeMode::Pad);
    assert_eq!(pad, expected.to_rgb8(), "pad");

    // Resize: to the nearest multiples of 128 (300 -> 256, 170 -> 128), and back.
    let resized = image.resize_exact(256, 128, FILTER);
    let expected = forward(&translator, &resized).resize_exact(300, 170, FILTER);
    let resize = translated(&translator, &image, SizeMode::Resize);
    assert_eq!(resize, expected.to_rgb8(), "resize");

    // Padding sees the drawing unstretched: its result differs from the squeezed one.
    assert_ne!(pad, trained);
}
