//! The PNG files a translation writes carry the identity of their input in a text chunk (its
//! file name, size and FNV-1a hash), so `--skip-existing` can tell a result of this input from a
//! file that only shares its name. Written with the `png` crate, which `image` uses underneath
//! but whose encoder does not expose text chunks (an iTXt chunk: names are any Unicode).

use std::hash::Hasher;
use std::path::Path;

use image::DynamicImage;

use crate::error::{Error, Result};

/// The text chunk's keyword.
const SOURCE_KEYWORD: &str = "pix2pix-studio source";

/// What identifies an input file: name, size and content hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceTag {
    /// The file name (no folder: a job moved to another machine still matches).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// FNV-1a (64-bit) of the bytes.
    pub hash: u64,
}

impl SourceTag {
    /// The tag of a file, read whole.
    pub fn of_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|err| Error::io(path, err))?;
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(&bytes);
        Ok(Self {
            name: path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: bytes.len() as u64,
            hash: hasher.finish(),
        })
    }

    fn to_text(&self) -> String {
        format!("{}\t{}\t{:016x}", self.name, self.size, self.hash)
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.rsplitn(3, '\t');
        let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
        let size = parts.next()?.parse().ok()?;
        let name = parts.next()?.to_string();
        Some(Self { name, size, hash })
    }
}

/// `image` as PNG bytes (8-bit gray or RGB), with `source`'s tag when given; `path` names the
/// file in errors.
pub fn encode(image: &DynamicImage, source: Option<&SourceTag>, path: &Path) -> Result<Vec<u8>> {
    let (color, pixels) = match image {
        DynamicImage::ImageLuma8(gray) => (png::ColorType::Grayscale, gray.as_raw().clone()),
        other => (png::ColorType::Rgb, other.to_rgb8().into_raw()),
    };
    let encode_error = |err: png::EncodingError| Error::Image {
        path: path.to_path_buf(),
        reason: format!("could not encode: {err}"),
    };
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, image.width(), image.height());
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    if let Some(source) = source {
        encoder
            .add_itxt_chunk(SOURCE_KEYWORD.into(), source.to_text())
            .map_err(encode_error)?;
    }
    let mut writer = encoder.write_header().map_err(encode_error)?;
    writer.write_image_data(&pixels).map_err(encode_error)?;
    writer.finish().map_err(encode_error)?;
    Ok(bytes)
}

/// The source tag of a PNG this app wrote, if it has one (`None` for any other file, or one
/// that cannot be read).
pub fn read_source(path: &Path) -> Option<SourceTag> {
    let file = std::fs::File::open(path).ok()?;
    let reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .ok()?;
    // iTXt: file names are any Unicode; its text is inflated with the crate's 2 MiB bound.
    reader
        .info()
        .utf8_text
        .iter()
        .find(|chunk| chunk.keyword == SOURCE_KEYWORD)
        .and_then(|chunk| chunk.get_text().ok())
        .and_then(|text| SourceTag::from_text(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_png_carries_its_source_and_reads_back_as_the_image() {
        let dir = std::env::temp_dir().join(format!("p2p-png-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("фото\twith tab.jpg");
        std::fs::write(&input, b"not really a jpeg").unwrap();
        let tag = SourceTag::of_file(&input).unwrap();
        assert_eq!((tag.name.as_str(), tag.size), ("фото\twith tab.jpg", 17));
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(5, 3, |x, y| {
            image::Rgb([x as u8 * 40, y as u8 * 80, 7])
        }));
        let output = dir.join("photo.png");
        std::fs::write(&output, encode(&image, Some(&tag), &output).unwrap()).unwrap();
        assert_eq!(read_source(&output), Some(tag));
        assert_eq!(image::open(&output).unwrap().to_rgb8(), image.to_rgb8());
        // A PNG from elsewhere has no tag.
        image.save(dir.join("plain.png")).unwrap();
        assert_eq!(read_source(&dir.join("plain.png")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
