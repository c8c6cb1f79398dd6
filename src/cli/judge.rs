//! `judge`: a run's discriminator scores an (input, output) pair patch by patch and the verdict
//! map is written as a picture over the output.

use std::path::PathBuf;

use pix2pix_studio::data::decode::read_image;
use pix2pix_studio::insight::verdict::{judge_images, load_discriminator_of};
use pix2pix_studio::platform::device::{self, DeviceChoice};

/// Options of `judge`.
#[derive(Debug, clap::Args)]
pub struct JudgeArgs {
    /// The run folder whose discriminator judges (from its latest checkpoint).
    #[arg(long, short = 'm')]
    pub model: PathBuf,
    /// The input image of the pair.
    pub input: PathBuf,
    /// The output to judge: a translation of the input, or its real target.
    pub output: PathBuf,
    /// Where the map goes (PNG): at the run's training size, green where the discriminator
    /// calls a patch real and red where it calls it fake, over the output.
    #[arg(long, short = 'o')]
    pub map: PathBuf,
}

/// Runs `judge`.
pub fn judge_command(device: DeviceChoice, args: &JudgeArgs) -> anyhow::Result<()> {
    let device = device::select(device)?.device;
    let (discriminator, config) = load_discriminator_of(&args.model, &device)?;
    let input = read_image(&args.input)?;
    let output = read_image(&args.output)?;
    let map = judge_images(&discriminator, &config, &input, &output, &device)?;
    let side = config.data.image_size_px;
    let under = output.resize_exact(side, side, pix2pix_studio::data::augment::FILTER);
    let picture = image::DynamicImage::ImageRgb8(map.over(&under.to_rgb8()));
    pix2pix_studio::platform::fs::save_image_atomic(&args.map, &picture)?;
    let (low, high) = map
        .probabilities
        .iter()
        .fold((1.0f32, 0.0f32), |(low, high), &p| {
            (low.min(p), high.max(p))
        });
    outln!(
        "{} × {} patches of {} px: P(real) mean {:.3}, lowest {low:.3}, highest {high:.3}; map \
         written to {}",
        map.rows,
        map.cols,
        map.patch(0, 0).side,
        map.mean(),
        args.map.display()
    );
    Ok(())
}
