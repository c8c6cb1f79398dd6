//! Reading image files: the formats accepted, limits against decompression bombs, and the one
//! rule that turns any pixel format into the 8-bit gray or RGB images the networks see.
//!
//! The rule, stated once: palette images are expanded to their colours; 16-bit samples are
//! scaled to 8 bits (`v / 257`); alpha is composited over white (a transparent sketch
//! background is paper); gray becomes RGB by copying the channel; RGB becomes gray by luma
//! (`0.2126 R + 0.7152 G + 0.0722 B`, the `image` crate's rule).

use std::path::{Path, PathBuf};

use image::{ColorType, DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::error::{Error, Result};

/// File extensions read as images (case-insensitive), the reference's list plus WebP.
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "ppm"];

/// The largest side accepted, in pixels.
pub const MAX_SIDE_PX: u32 = 16_384;

/// The most memory one decoded image may take.
pub const MAX_DECODED_BYTES: u64 = 1 << 30;

/// Whether `path` has an image extension.
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| {
            IMAGE_EXTENSIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(ext))
        })
}

/// Files as given, each folder replaced by the images in it (not recursively) in name order.
/// A path that does not exist or a folder that cannot be listed is an error naming it.
pub fn image_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut images: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|err| Error::io(path, err))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.is_file() && has_image_extension(file))
                .collect();
            images.sort();
            files.extend(images);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ));
        }
    }
    Ok(files)
}

/// What an image file's header says, read without decoding the pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel format as decoded (before the conversion rule).
    pub color: ColorType,
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    limits
}

fn reader(path: &Path) -> Result<ImageReader<std::io::BufReader<std::fs::File>>> {
    let mut reader = ImageReader::open(path)
        .map_err(|err| Error::io(path, err))?
        .with_guessed_format()
        .map_err(|err| Error::io(path, err))?;
    if reader.format().is_none() {
        return Err(Error::Image {
            path: path.to_path_buf(),
            reason: "not an image (unknown format)".into(),
        });
    }
    reader.limits(limits());
    Ok(reader)
}

/// Reads the size and pixel format from the file's header.
pub fn read_header(path: &Path) -> Result<ImageHeader> {
    let decoder = reader(path)?
        .into_decoder()
        .map_err(|err| image_error(path, err))?;
    let (width, height) = decoder.dimensions();
    Ok(ImageHeader {
        width,
        height,
        color: decoder.color_type(),
    })
}

/// Decodes a whole image, within the limits.
pub fn read_image(path: &Path) -> Result<DynamicImage> {
    reader(path)?.decode().map_err(|err| image_error(path, err))
}

fn image_error(path: &Path, err: image::ImageError) -> Error {
    let reason = match &err {
        image::ImageError::Limits(_) => format!(
            "too large to decode safely ({err}; the limit is {MAX_SIDE_PX} px a side and {} MiB)",
            MAX_DECODED_BYTES >> 20
        ),
        image::ImageError::Unsupported(_) => format!("unsupported image: {err}"),
        _ => format!("unreadable image: {err}"),
    };
    Error::Image {
        path: path.to_path_buf(),
        reason,
    }
}

/// Applies the conversion rule: an 8-bit image with `channels` (1 or 3) channels.
pub fn to_channels(image: &DynamicImage, channels: usize) -> DynamicImage {
    let rgb = if image.color().has_alpha() {
        DynamicImage::ImageRgb8(over_white(image))
    } else {
        image.clone()
    };
    if channels == 1 {
        DynamicImage::ImageLuma8(rgb.to_luma8())
    } else {
        DynamicImage::ImageRgb8(rgb.to_rgb8())
    }
}

/// Composites an image with alpha over a white background.
fn over_white(image: &DynamicImage) -> image::RgbImage {
    let rgba = image.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let alpha = u16::from(a);
        let blend = |c: u8| ((u16::from(c) * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

/// A short name of a pixel format for reports, e.g. "gray 16-bit".
pub fn describe_color(color: ColorType) -> &'static str {
    match color {
        ColorType::L8 => "gray 8-bit",
        ColorType::La8 => "gray+alpha 8-bit",
        ColorType::Rgb8 => "RGB 8-bit",
        ColorType::Rgba8 => "RGBA 8-bit",
        ColorType::L16 => "gray 16-bit",
        ColorType::La16 => "gray+alpha 16-bit",
        ColorType::Rgb16 => "RGB 16-bit",
        ColorType::Rgba16 => "RGBA 16-bit",
        ColorType::Rgb32F => "RGB float",
        ColorType::Rgba32F => "RGBA float",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_goes_over_white_and_channels_follow_the_rule() {
        let mut rgba = image::RgbaImage::new(2, 1);
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0])); // transparent: white
        rgba.put_pixel(1, 0, image::Rgba([0, 0, 0, 255])); // opaque black
        let image = DynamicImage::ImageRgba8(rgba);
        let rgb = to_channels(&image, 3).to_rgb8();
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [0, 0, 0]);
        let gray = to_channels(&image, 1);
        assert_eq!(gray.color(), ColorType::L8);
        let sixteen = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(
            1,
            1,
            image::Luma([65535u16]),
        ));
        assert_eq!(
            to_channels(&sixteen, 3).to_rgb8().get_pixel(0, 0).0,
            [255, 255, 255]
        );
    }

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(has_image_extension(Path::new("a/B.JPG")));
        assert!(has_image_extension(Path::new("x.webp")));
        assert!(!has_image_extension(Path::new("notes.txt")));
        assert!(!has_image_extension(Path::new("README")));
    }
}
