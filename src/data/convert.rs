//! Images to and from tensors: the one place `image` meets `burn`. Pixels map to `[-1, 1]` as
//! in the reference (`x / 127.5 - 1`), and back as `(x + 1) / 2 · 255` truncated to `u8` as the
//! reference saves them (with 0.001 added first, so an 8-bit value survives the round trip
//! through `f32` instead of dropping by one).

use burn::tensor::{Device, Tensor, TensorData};
use image::{DynamicImage, GrayImage, RgbImage};

use super::decode::to_channels;
use crate::error::Result;
use crate::platform::readback::host_values;

/// Planar `[C, H, W]` values in `[-1, 1]` of an image, after the channel rule of
/// [`to_channels`].
pub fn image_to_planar(image: &DynamicImage, channels: usize) -> Vec<f32> {
    let converted = to_channels(image, channels);
    let (width, height) = (converted.width() as usize, converted.height() as usize);
    let bytes = converted.as_bytes();
    let mut planar = vec![0.0f32; channels * width * height];
    for (pixel, values) in bytes.chunks_exact(channels).enumerate() {
        for (channel, &value) in values.iter().enumerate() {
            planar[channel * width * height + pixel] = f32::from(value) / 127.5 - 1.0;
        }
    }
    planar
}

/// Stacks planar images of one shape `[C, H, W]` into a `[B, C, H, W]` tensor.
pub fn planar_to_tensor(images: Vec<Vec<f32>>, shape: [usize; 3], device: &Device) -> Tensor<4> {
    let batch = images.len();
    let values: Vec<f32> = images.into_iter().flatten().collect();
    Tensor::from_data(
        TensorData::new(values, [batch, shape[0], shape[1], shape[2]]),
        device,
    )
}

/// A `[B, C, H, W]` tensor from row-major values.
pub fn batch_to_tensor(values: Vec<f32>, shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The images of a `[B, C, H, W]` tensor in `[-1, 1]`: gray for one channel, RGB for three.
pub fn tensor_to_images(tensor: Tensor<4>) -> Result<Vec<DynamicImage>> {
    let [batch, channels, height, width] = tensor.dims();
    let values = host_values(tensor, "an image")?;
    Ok(values
        .chunks_exact((channels * height * width).max(1))
        .take(batch)
        .map(|image| planar_to_image(image, channels, height, width))
        .collect())
}

/// A value in `[-1, 1]` as an 8-bit pixel value, as the reference saves it.
pub fn unit_to_u8(value: f32) -> u8 {
    ((value.clamp(-1.0, 1.0) + 1.0) / 2.0 * 255.0 + 1e-3).min(255.0) as u8
}

/// An image from planar `[C, H, W]` values in `[-1, 1]`: gray for one channel, else RGB.
pub fn planar_to_image(
    values: &[f32],
    channels: usize,
    height: usize,
    width: usize,
) -> DynamicImage {
    let plane = height * width;
    let to_u8 = unit_to_u8;
    let (w, h) = (width as u32, height as u32);
    let value = |channel: usize, i: usize| values.get(channel * plane + i).copied().unwrap_or(-1.0);
    if channels == 1 {
        DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| {
            image::Luma([to_u8(value(0, (y * w + x) as usize))])
        }))
    } else {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            let i = (y * w + x) as usize;
            let channel = |c: usize| to_u8(value(c.min(channels.saturating_sub(1)), i));
            image::Rgb([channel(0), channel(1), channel(2)])
        }))
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "tests run on the CPU device")]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_pixels_and_layout() {
        let device = Device::flex();
        let image = DynamicImage::ImageRgb8(RgbImage::from_fn(3, 2, |x, y| {
            image::Rgb([(x * 100) as u8, (y * 200) as u8, 255])
        }));
        let planar = image_to_planar(&image, 3);
        assert_eq!(planar[0], -1.0); // R of (0, 0)
        assert_eq!(planar[2 * 6 + 1], 1.0); // B of (1, 0)
        let tensor = planar_to_tensor(vec![planar], [3, 2, 3], &device);
        assert_eq!(tensor.dims(), [1, 3, 2, 3]);
        let back = tensor_to_images(tensor).unwrap();
        assert_eq!(back[0].to_rgb8(), image.to_rgb8());
        let gray = planar_to_tensor(vec![image_to_planar(&image, 1)], [1, 2, 3], &device);
        assert_eq!(
            tensor_to_images(gray).unwrap()[0].color(),
            image::ColorType::L8
        );
    }
}
