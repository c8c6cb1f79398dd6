//! `TrainingState`: the two networks, their optimisers and the counters of a run.

use burn::module::Module;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::adam::{Adam, AdamSettings};
use crate::config::TrainingConfig;
use crate::error::Result;
use crate::model::{PatchDiscriminator, UnetGenerator};

/// Offsets that give the generator, the discriminator and the dropout masks their own random
/// streams from the one seed of the config.
const DISCRIMINATOR_SEED_OFFSET: u64 = 0x9E37_79B9_7F4A_7C15;
const DROPOUT_SEED_OFFSET: u64 = 0xD1B5_4A32_D192_ED03;

/// Everything a training step reads and updates.
pub struct TrainingState {
    /// The run's configuration.
    pub config: TrainingConfig,
    /// The generator, on an autodiff device.
    pub generator: UnetGenerator,
    /// The discriminator, on an autodiff device.
    pub discriminator: PatchDiscriminator,
    /// Adam for the generator.
    pub generator_optimizer: Adam,
    /// Adam for the discriminator.
    pub discriminator_optimizer: Adam,
    /// Source of the dropout masks.
    pub dropout_rng: StdRng,
    /// Training steps taken.
    pub steps: u64,
    /// The autodiff device everything lives on.
    pub device: Device,
}

impl TrainingState {
    /// Fresh networks initialised from the config's seed, on `device` (autodiff is turned on).
    pub fn new(config: &TrainingConfig, device: &Device) -> Result<Self> {
        config.validate()?;
        let device = device.clone().autodiff();
        let generator = config.generator.init(&device, config.seed)?;
        let discriminator = config
            .discriminator
            .init(&device, config.seed ^ DISCRIMINATOR_SEED_OFFSET)?;
        Self::from_networks(config, generator, discriminator, &device)
    }

    /// A state around existing networks (imported weights, say), moved to `device` with
    /// autodiff on and fresh optimisers. The networks are forked: every weight becomes a fresh
    /// leaf of the autodiff graph, wherever it was created.
    pub fn from_networks(
        config: &TrainingConfig,
        generator: UnetGenerator,
        discriminator: PatchDiscriminator,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        let device = device.clone().autodiff();
        let settings = AdamSettings {
            beta1: config.beta1,
            beta2: config.beta2,
            epsilon: config.epsilon,
        };
        Ok(Self {
            config: config.clone(),
            generator: generator.fork(&device).train(),
            discriminator: discriminator.fork(&device).train(),
            generator_optimizer: Adam::new(settings, &device),
            discriminator_optimizer: Adam::new(settings, &device),
            dropout_rng: StdRng::seed_from_u64(config.seed ^ DROPOUT_SEED_OFFSET),
            steps: 0,
            device,
        })
    }
}
