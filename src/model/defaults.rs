//! The reference's network defaults (`--input_nc`, `--output_nc`, `--netG unet_256`, `--ngf`,
//! `--ndf`, `--n_layers_D`, `--norm batch`, dropout and skips on): the one place each is written.
//! The model configs' own defaults and `RunOptions::default()` both read them.

use super::blocks::NormKind;

/// Input channels (RGB).
pub const INPUT_CHANNELS: usize = 3;
/// Output channels (RGB).
pub const OUTPUT_CHANNELS: usize = 3;
/// U-Net depth: 8 is unet_256, whose bottleneck is 1×1 at 256 px.
pub const NUM_DOWNS: usize = 8;
/// Generator width: filters of the outermost level.
pub const NGF: usize = 64;
/// Discriminator width: filters of the first layer.
pub const NDF: usize = 64;
/// Discriminator stride-2 layers: 3 is the 70×70 PatchGAN.
pub const N_LAYERS_D: usize = 3;
/// Normalisation of both networks.
pub const NORM: NormKind = NormKind::Batch;
/// Dropout in the generator's decoder (the paper's noise).
pub const DROPOUT: bool = true;
/// U-Net skip connections.
pub const SKIPS: bool = true;
