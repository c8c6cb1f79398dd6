//! Pairs made from plain photos, the classic tasks of the paper: colourisation (gray to
//! colour), edges to photo (a pen-like sketch to the picture) and photo to edges.
//!
//! Edges come from imageproc's Canny detector on the photo's luma, with thresholds set from the
//! photo's own gradient statistics, drawn as dark lines on white like a sketch. They are computed after cropping and resizing, at the training size, so line
//! width matches what a person draws on the canvas.

use std::fmt;

use image::{DynamicImage, GrayImage};
use imageproc::distance_transform::Norm;
use serde::{Deserialize, Serialize};

/// How a photo becomes an input/target pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SynthTask {
    /// Gray photo to colour photo.
    Colorize,
    /// Edge sketch to photo.
    EdgesToPhoto,
    /// Photo to edge sketch.
    PhotoToEdges,
}

impl SynthTask {
    /// All tasks, for menus.
    pub const ALL: [SynthTask; 3] = [
        SynthTask::Colorize,
        SynthTask::EdgesToPhoto,
        SynthTask::PhotoToEdges,
    ];

    /// `(input channels, output channels)` of the model this task trains.
    pub fn channels(self) -> (usize, usize) {
        match self {
            SynthTask::Colorize | SynthTask::EdgesToPhoto => (1, 3),
            SynthTask::PhotoToEdges => (3, 1),
        }
    }

    /// Makes `(input, target)` from a photo.
    pub fn make_pair(self, photo: &DynamicImage) -> (DynamicImage, DynamicImage) {
        match self {
            SynthTask::Colorize => (DynamicImage::ImageLuma8(photo.to_luma8()), photo.clone()),
            SynthTask::EdgesToPhoto => {
                (DynamicImage::ImageLuma8(edge_sketch(photo)), photo.clone())
            }
            SynthTask::PhotoToEdges => {
                (photo.clone(), DynamicImage::ImageLuma8(edge_sketch(photo)))
            }
        }
    }
}

impl std::str::FromStr for SynthTask {
    type Err = crate::Error;

    fn from_str(text: &str) -> crate::Result<Self> {
        match text.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
            "colorize" | "colourise" | "colorise" | "colourize" => Ok(SynthTask::Colorize),
            "edges-to-photo" | "edges2photo" => Ok(SynthTask::EdgesToPhoto),
            "photo-to-edges" | "photo2edges" => Ok(SynthTask::PhotoToEdges),
            other => Err(crate::Error::InvalidConfig(format!(
                "synthesis task must be colorize, edges-to-photo or photo-to-edges, got `{other}`"
            ))),
        }
    }
}

impl fmt::Display for SynthTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SynthTask::Colorize => "colourise (gray to colour)",
            SynthTask::EdgesToPhoto => "edges to photo",
            SynthTask::PhotoToEdges => "photo to edges",
        })
    }
}

/// Canny's blur, as imageproc applies it before its gradients.
const CANNY_SIGMA: f32 = 1.4;
/// Canny's high threshold is this percentile of the image's own gradient magnitudes (so busy
/// textures need stronger edges to count), kept within `HIGH_RANGE`; the low threshold is
/// `LOW_FRACTION` of it.
const HIGH_PERCENTILE: f64 = 0.85;
const HIGH_RANGE: (f32, f32) = (30.0, 300.0);
const LOW_FRACTION: f32 = 0.4;

/// A sketch of the photo's edges: dark, slightly thickened lines on white.
pub fn edge_sketch(photo: &DynamicImage) -> GrayImage {
    let luma = photo.to_luma8();
    let gradients = imageproc::gradients::sobel_gradients(&imageproc::filter::gaussian_blur_f32(
        &luma,
        CANNY_SIGMA,
    ));
    let mut magnitudes: Vec<f64> = gradients.pixels().map(|p| f64::from(p.0[0])).collect();
    magnitudes.sort_by(f64::total_cmp);
    let index = ((magnitudes.len() as f64 - 1.0) * HIGH_PERCENTILE) as usize;
    let percentile = magnitudes.get(index).copied().unwrap_or(0.0) as f32;
    let high = percentile.clamp(HIGH_RANGE.0, HIGH_RANGE.1);
    let edges = imageproc::edges::canny(&luma, LOW_FRACTION * high, high);
    // Thicken one-pixel edges to a pen stroke on images of training size and up.
    let thick = if photo.width().min(photo.height()) >= 96 {
        imageproc::morphology::dilate(&edges, Norm::L1, 1)
    } else {
        edges
    };
    let mut sketch = thick;
    image::imageops::invert(&mut sketch);
    sketch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square_photo() -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(128, 128, |x, y| {
            let inside = (32..96).contains(&x) && (32..96).contains(&y);
            if inside {
                image::Rgb([200, 30, 30])
            } else {
                image::Rgb([20, 120, 220])
            }
        }))
    }

    #[test]
    fn tasks_make_pairs_of_the_right_shape_and_channels() {
        let photo = square_photo();
        for task in SynthTask::ALL {
            let (input, target) = task.make_pair(&photo);
            assert_eq!((input.width(), input.height()), (128, 128));
            assert_eq!((target.width(), target.height()), (128, 128));
            let (input_channels, output_channels) = task.channels();
            assert_eq!(
                usize::from(input.color().channel_count()),
                input_channels,
                "{task}"
            );
            assert_eq!(
                usize::from(target.color().channel_count()),
                output_channels,
                "{task}"
            );
        }
    }

    #[test]
    fn the_sketch_is_dark_lines_on_white_along_the_edges() {
        let sketch = edge_sketch(&square_photo());
        let dark = sketch.pixels().filter(|p| p.0[0] < 128).count();
        assert!(dark > 4 * 60 && dark < 128 * 128 / 4, "{dark} dark pixels");
        assert_eq!(sketch.get_pixel(5, 5).0[0], 255, "flat areas stay white");
        assert!(sketch.get_pixel(32, 64).0[0] < 128 || sketch.get_pixel(31, 64).0[0] < 128);
    }
}
