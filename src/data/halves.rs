//! What the two halves of an image say about it being an input|target pair: a seam between
//! them (a pair whose halves are narrower than tall cannot be told by its aspect ratio), and
//! halves that are the same picture (a split whose targets are copies of the inputs).

use image::DynamicImage;

/// A seam this many times stronger than the image's typical column-to-column change marks two
/// pictures side by side. Natural photos score about 1 at their centre; label maps or sketches
/// beside photos score 10 and more.
pub const SEAM_MIN_RATIO: f64 = 4.0;
/// Halves closer than this mean absolute difference (8-bit levels) are the same picture (JPEG
/// compresses two copies a little differently).
const IDENTICAL_MAX_LEVELS: f64 = 2.0;
/// Column changes below this (levels) count as this, so flat images do not divide by zero.
const FLAT_FLOOR_LEVELS: f64 = 0.5;

/// The evidence of one image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HalvesEvidence {
    /// The change across the centre column boundary over the median change across the others.
    pub seam_ratio: f64,
    /// The two halves are the same picture.
    pub identical: bool,
}

/// Measures `image` split at half its width (the last column of an odd width is left out, as
/// the loader does).
pub fn inspect_halves(image: &DynamicImage) -> HalvesEvidence {
    let rgb = image.to_rgb8();
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    let half = width / 2;
    if half < 2 || height == 0 {
        return HalvesEvidence {
            seam_ratio: 0.0,
            identical: false,
        };
    }
    let pixels = rgb.as_raw();
    let at = |x: usize, y: usize, c: usize| f64::from(pixels[(y * width + x) * 3 + c]);
    // Mean absolute change between column x and x + 1, over rows and channels.
    let column_change = |x: usize| {
        let total: f64 = (0..height)
            .flat_map(|y| (0..3).map(move |c| (y, c)))
            .map(|(y, c)| (at(x + 1, y, c) - at(x, y, c)).abs())
            .sum();
        total / (height * 3) as f64
    };
    let centre = half - 1;
    let mut others: Vec<f64> = (0..2 * half - 1)
        .filter(|&x| x != centre)
        .map(column_change)
        .collect();
    let typical = crate::util::stats::median(&mut others).max(FLAT_FLOOR_LEVELS);
    let difference: f64 = (0..height)
        .flat_map(|y| (0..half).flat_map(move |x| (0..3).map(move |c| (x, y, c))))
        .map(|(x, y, c)| (at(x, y, c) - at(x + half, y, c)).abs())
        .sum::<f64>()
        / (height * half * 3) as f64;
    HalvesEvidence {
        seam_ratio: column_change(centre) / typical,
        identical: difference < IDENTICAL_MAX_LEVELS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn photo(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let v = (f64::from(x) * 0.05).sin() * 60.0 + (f64::from(y) * 0.07).cos() * 50.0;
            Rgb([
                (128.0 + v) as u8,
                (110.0 + v * 0.5) as u8,
                (90.0 - v * 0.3) as u8,
            ])
        })
    }

    #[test]
    fn a_pair_shows_a_seam_a_photo_does_not() {
        let single = inspect_halves(&DynamicImage::ImageRgb8(photo(120, 80)));
        assert!(single.seam_ratio < 2.0, "{single:?}");
        assert!(!single.identical);
        // A flat label map beside a photo: the halves are 60×80, narrower than tall.
        let pair = RgbImage::from_fn(120, 80, |x, y| {
            if x < 60 {
                Rgb([if y < 40 { 200 } else { 30 }, 10, 10])
            } else {
                *photo(60, 80).get_pixel(x - 60, y)
            }
        });
        let evidence = inspect_halves(&DynamicImage::ImageRgb8(pair));
        assert!(evidence.seam_ratio >= SEAM_MIN_RATIO, "{evidence:?}");
    }

    #[test]
    fn identical_halves_are_seen() {
        let half = photo(50, 40);
        let copy = RgbImage::from_fn(101, 40, |x, y| *half.get_pixel(x % 50, y));
        assert!(inspect_halves(&DynamicImage::ImageRgb8(copy)).identical);
    }
}
