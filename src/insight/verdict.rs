//! The PatchGAN's verdict on a pair: patch by patch, the probability that the discriminator
//! calls it real, the square of the image each probability judges (its receptive field), and
//! the map as a picture. Computed for the training previews, by `judge`, and shown in the app.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use image::{DynamicImage, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::config::run_folder;
use crate::config::{GanMode, RunConfig};
use crate::data::augment::FILTER;
use crate::data::convert::{image_to_planar, planar_to_tensor};
use crate::error::{Error, Result};
use crate::model::pytorch::load_discriminator;
use crate::model::{NormMode, PatchDiscriminator, PatchDiscriminatorConfig};
use crate::platform::readback::host_values;
use crate::training::loss::verdicts;

/// A square of image pixels: top-left corner and side (it may reach past the image's edges,
/// where the discriminator saw padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patch {
    /// Left edge, px.
    pub x: i64,
    /// Top edge, px.
    pub y: i64,
    /// Side, px.
    pub side: usize,
}

/// The discriminator's verdicts on one pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictMap {
    /// Rows of patches.
    pub rows: usize,
    /// Columns of patches.
    pub cols: usize,
    /// The probability that each patch is real, row-major.
    pub probabilities: Vec<f32>,
    /// The image size the pair was judged at, (width, height) px.
    pub image_size: (u32, u32),
    /// The discriminator's architecture (for the patch geometry).
    pub discriminator: PatchDiscriminatorConfig,
}

impl VerdictMap {
    /// Judges `output` as the output for `input` (both `[1, C, H, W]` in [-1, 1]), with batch
    /// statistics as in training; `gan_mode` says how the outputs become probabilities.
    pub fn compute(
        discriminator: &PatchDiscriminator,
        input: Tensor<4>,
        output: Tensor<4>,
        gan_mode: GanMode,
    ) -> Result<Self> {
        let [_, _, height, width] = input.dims();
        let logits = discriminator
            .valid()
            .forward_pair(input, output, NormMode::BatchStats)?;
        let [batch, _, rows, cols] = logits.dims();
        if batch != 1 {
            return Err(Error::Backend(format!(
                "a verdict map is for one pair, got a batch of {batch}"
            )));
        }
        let probabilities = host_values(verdicts(logits, gan_mode), "the verdicts")?;
        Ok(Self {
            rows,
            cols,
            probabilities,
            image_size: (width as u32, height as u32),
            discriminator: discriminator.config().clone(),
        })
    }

    /// The probability that patch (`row`, `col`) is real.
    pub fn at(&self, row: usize, col: usize) -> f32 {
        self.probabilities[row * self.cols + col]
    }

    /// The mean probability over every patch.
    pub fn mean(&self) -> f32 {
        self.probabilities.iter().sum::<f32>() / self.probabilities.len().max(1) as f32
    }

    /// The image square patch (`row`, `col`) judges.
    pub fn patch(&self, row: usize, col: usize) -> Patch {
        let (x, y, side) = self.discriminator.patch_of(row, col);
        Patch { x, y, side }
    }

    /// The cell drawn at image pixel (`x`, `y`) in [`Self::to_image`]: the map's grid laid
    /// evenly over the image.
    pub fn cell_at(&self, x: f32, y: f32) -> Option<(usize, usize)> {
        let (width, height) = (self.image_size.0 as f32, self.image_size.1 as f32);
        if !(0.0..width).contains(&x) || !(0.0..height).contains(&y) {
            return None;
        }
        let row = ((y / height) * self.rows as f32) as usize;
        let col = ((x / width) * self.cols as f32) as usize;
        Some((row.min(self.rows - 1), col.min(self.cols - 1)))
    }

    /// The map as a picture at the image's size: each cell a block coloured from red (fake)
    /// through yellow to green (real).
    pub fn to_image(&self) -> RgbImage {
        let (width, height) = self.image_size;
        RgbImage::from_fn(width, height, |x, y| {
            let (row, col) = self
                .cell_at(x as f32 + 0.5, y as f32 + 0.5)
                .unwrap_or((0, 0));
            heat_color(self.at(row, col))
        })
    }

    /// The map laid over `image` (resized to the map's image size) at half strength.
    pub fn over(&self, image: &RgbImage) -> RgbImage {
        let (width, height) = self.image_size;
        let resized;
        let base = if image.dimensions() == (width, height) {
            image
        } else {
            resized = image::imageops::resize(image, width, height, FILTER);
            &resized
        };
        let mut heat = self.to_image();
        for (pixel, under) in heat.pixels_mut().zip(base.pixels()) {
            for (channel, below) in pixel.0.iter_mut().zip(under.0) {
                *channel = ((u16::from(*channel) + u16::from(below)) / 2) as u8;
            }
        }
        heat
    }
}

/// Red (0, fake) through yellow (0.5) to green (1, real).
pub fn heat_color(probability: f32) -> Rgb<u8> {
    let p = probability.clamp(0.0, 1.0);
    let red = (255.0 * (2.0 - 2.0 * p).min(1.0)) as u8;
    let green = (255.0 * (2.0 * p).min(1.0)) as u8;
    Rgb([red, green, 40])
}

/// The discriminator of a run folder (its latest checkpoint) or of a checkpoint folder, with
/// the configuration it was trained with.
pub fn load_discriminator_of(
    dir: &Path,
    device: &Device,
) -> Result<(PatchDiscriminator, RunConfig)> {
    let checkpoint = if dir.join(run_folder::LATEST).is_file() {
        run_folder::latest(dir)?.ok_or_else(|| Error::WeightFile {
            path: dir.to_path_buf(),
            reason: "the run has no checkpoint yet, so no trained discriminator".into(),
        })?
    } else {
        dir.to_path_buf()
    };
    let weights = checkpoint.join("discriminator.safetensors");
    if !weights.is_file() {
        return Err(Error::WeightFile {
            path: dir.to_path_buf(),
            reason: "neither a run folder nor a checkpoint: only a run's own discriminator can \
                     judge (imported and demo models come without one)"
                .into(),
        });
    }
    let config = run_folder::read_config(&checkpoint)?;
    let discriminator = load_discriminator(&weights, &config.training.discriminator, device)?;
    Ok((discriminator, config))
}

/// Judges the pair (`input`, `output`) with a run's discriminator at the run's training size
/// (both images resized to it, as the previews are judged).
pub fn judge_images(
    discriminator: &PatchDiscriminator,
    config: &RunConfig,
    input: &DynamicImage,
    output: &DynamicImage,
    device: &Device,
) -> Result<VerdictMap> {
    let side = config.data.image_size_px;
    let generator = &config.training.generator;
    let tensor = |image: &DynamicImage, channels: usize| {
        let resized = image.resize_exact(side, side, FILTER);
        let planar = image_to_planar(&resized, channels);
        planar_to_tensor(
            vec![planar],
            [channels, side as usize, side as usize],
            device,
        )
    };
    let input = tensor(input, generator.input_channels);
    let output = tensor(output, generator.output_channels);
    VerdictMap::compute(discriminator, input, output, config.training.gan_mode)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "tests run on the CPU device")]
mod tests {
    use super::*;

    #[test]
    fn a_map_has_one_probability_per_patch_and_a_patch_per_cell() {
        let device = Device::flex();
        let config = PatchDiscriminatorConfig::new().with_ndf(4);
        let discriminator = config.init(&device, 3).unwrap();
        let input = Tensor::<4>::zeros([1, 3, 64, 64], &device);
        let output = Tensor::<4>::ones([1, 3, 64, 64], &device);
        let map = VerdictMap::compute(&discriminator, input, output, GanMode::Vanilla).unwrap();
        assert_eq!((map.rows, map.cols), (6, 6));
        assert_eq!(map.probabilities.len(), 36);
        assert!(map.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(
            map.patch(1, 2),
            Patch {
                x: -7,
                y: -15,
                side: 70
            }
        );
        assert_eq!(map.cell_at(63.0, 0.0), Some((0, 5)));
        assert_eq!(map.cell_at(64.0, 0.0), None);
        let picture = map.to_image();
        assert_eq!(picture.dimensions(), (64, 64));
        assert_eq!(*picture.get_pixel(0, 0), heat_color(map.at(0, 0)));
    }

    #[test]
    fn heat_colours_run_from_red_to_green() {
        assert_eq!(heat_color(0.0), Rgb([255, 0, 40]));
        assert_eq!(heat_color(0.5), Rgb([255, 255, 40]));
        assert_eq!(heat_color(1.0), Rgb([0, 255, 40]));
    }
}
