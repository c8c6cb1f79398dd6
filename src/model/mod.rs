//! The pix2pix networks: the U-Net generator, the PatchGAN discriminator, their building blocks
//! and initialisation, and import/export of the reference's PyTorch weights.

pub mod blocks;
pub mod defaults;
pub mod discriminator;
pub mod generator;
pub mod init;
pub mod pytorch;
pub mod weight_files;

pub use blocks::{NormKind, NormMode};
pub use discriminator::{PatchDiscriminator, PatchDiscriminatorConfig};
pub use generator::{Dropout, UnetGenerator, UnetGeneratorConfig};
