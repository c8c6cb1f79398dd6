//! `TrainingState`: the two networks, their optimisers and the counters of a run.

use burn::module::Module;
use burn::tensor::Device;
use rand::RngExt;

use super::adam::{Adam, AdamSettings};
use crate::config::TrainingConfig;
use crate::error::Result;
use crate::model::{PatchDiscriminator, UnetGenerator};
use crate::util::seed::{derived_rng, stream};

/// The seed of one network's initial weights.
fn init_seed(seed: u64, stream: u64) -> u64 {
    derived_rng(seed, stream, 0).random()
}

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
        let generator = config
            .generator
            .init(&device, init_seed(config.seed, stream::GENERATOR_INIT))?;
        let discriminator = config
            .discriminator
            .init(&device, init_seed(config.seed, stream::DISCRIMINATOR_INIT))?;
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
            steps: 0,
            device,
        })
    }
}
