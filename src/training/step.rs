//! One pix2pix training iteration, in the reference's order: generator forward, discriminator
//! update, then the generator update against the already-updated discriminator.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use super::loss::{Label, gan_loss, l1_loss, realness};
use super::state::TrainingState;
use crate::config::GanMode;
use crate::error::{Error, Result};
use crate::model::{Dropout, NormMode, PatchDiscriminator, UnetGenerator};
use crate::seed::{derived_rng, stream};

/// The four losses of one step, as the reference logs them.
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct StepLosses {
    /// Generator's adversarial loss: D should call its output real.
    pub g_gan: f32,
    /// Generator's L1 loss, already multiplied by lambda (as the reference reports it).
    pub g_l1: f32,
    /// Discriminator's loss on real pairs.
    pub d_real: f32,
    /// Discriminator's loss on generated pairs.
    pub d_fake: f32,
    /// D(x, y): the discriminator's mean probability that the real pairs are real, in its
    /// update's forward pass ([`realness`]); 0 without a GAN term.
    #[serde(default)]
    pub p_real: f32,
    /// D(x, G(x)): its mean probability that the generated pairs are real.
    #[serde(default)]
    pub p_fake: f32,
}

impl StepLosses {
    /// Whether every loss is a finite number.
    pub fn is_finite(&self) -> bool {
        let values = [self.g_gan, self.g_l1, self.d_real, self.d_fake];
        values
            .iter()
            .chain([&self.p_real, &self.p_fake])
            .all(|v| v.is_finite())
    }
}

/// Trains both networks on one batch (`input` and `target` `[B, C, H, W]` in `[-1, 1]`, on the
/// state's device) with learning rate `learning_rate`, and returns the losses, read back from
/// the device in two transfers (D's, then G's).
pub fn train_step(
    state: &mut TrainingState,
    input: Tensor<4>,
    target: Tensor<4>,
    learning_rate: f64,
) -> Result<StepLosses> {
    let device = state.device.clone();
    let input = input.to_device(&device);
    let target = target.to_device(&device);
    if input.dims()[0] != target.dims()[0] || input.dims()[2..] != target.dims()[2..] {
        return Err(Error::InputShape {
            found: target.dims(),
            reason: format!("the target does not match the input {:?}", input.dims()),
        });
    }
    // Masks depend on the run's seed and the step only, so a resumed run draws the same ones.
    let mut rng = derived_rng(state.config.seed, stream::DROPOUT, state.steps);
    let masks = state
        .generator
        .sample_dropout_masks(input.dims(), &mut rng, &device);
    let generated =
        state
            .generator
            .forward(input.clone(), NormMode::Train, Dropout::Masks(&masks))?;

    let [d_real, d_fake, p_real, p_fake] = if state.config.gan_mode == GanMode::Off {
        [0.0; 4]
    } else {
        discriminator_step(
            state,
            &input,
            &target,
            generated.clone().detach(),
            learning_rate,
        )?
    };
    let (g_gan, g_l1) = generator_step(state, input, target, generated, learning_rate)?;
    state.steps += 1;
    Ok(StepLosses {
        g_gan,
        g_l1,
        d_real,
        d_fake,
        p_real,
        p_fake,
    })
}

/// Reads `N` one-element values back in one transfer. Called before their backward pass: on
/// wgpu, burn's fusion let the backward pass and the optimiser step overwrite buffers that
/// losses read after them still needed (a LSGAN step reported G_GAN 4.4 where the CPU gives
/// 0.69; tests/gpu_lane: `lsgan_trains_on_the_gpu_as_on_the_cpu`).
fn read_scalars<const N: usize>(scalars: [Tensor<1>; N]) -> Result<[f32; N]> {
    let detached = scalars.into_iter().map(Tensor::detach).collect();
    let values = Tensor::cat(detached, 0) // [N]
        .try_into_data()
        .map_err(|err| Error::Backend(format!("reading the losses: {err:?}")))?
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| Error::Backend(format!("reading the losses: {err:?}")))?;
    let count = values.len();
    values
        .try_into()
        .map_err(|_| Error::Backend(format!("expected {N} losses, got {count}")))
}

/// Updates D on one real and one generated pair, each in its own forward pass (so each gets
/// its own batch statistics), with loss 0.5 · (BCE(real, 1) + BCE(fake, 0)). Returns the two
/// losses and D's mean verdicts, in that pass, on the real and the generated pair.
fn discriminator_step(
    state: &mut TrainingState,
    input: &Tensor<4>,
    target: &Tensor<4>,
    generated: Tensor<4>,
    learning_rate: f64,
) -> Result<[f32; 4]> {
    let mode = state.config.gan_mode;
    let discriminator = &state.discriminator;
    let logits_fake = discriminator.forward_pair(input.clone(), generated, NormMode::Train)?;
    let p_fake = realness(logits_fake.clone().detach(), mode);
    let loss_fake = gan_loss(logits_fake, Label::Fake, mode);
    let logits_real = discriminator.forward_pair(input.clone(), target.clone(), NormMode::Train)?;
    let p_real = realness(logits_real.clone().detach(), mode);
    let loss_real = gan_loss(logits_real, Label::Real, mode);
    let loss = loss_fake.clone().add(loss_real.clone()).mul_scalar(0.5);
    let losses = read_scalars([loss_real, loss_fake, p_real, p_fake])?;
    let grads = GradientsParams::from_grads(loss.backward(), discriminator);
    let discriminator = take_discriminator(state);
    state.discriminator = state
        .discriminator_optimizer
        .step(learning_rate, discriminator, grads);
    Ok(losses)
}

/// Updates G with GAN(D(input, generated), real) + lambda · L1(generated, target), gradients
/// flowing through D into G but not into D's weights. Returns both terms (GAN, L1).
fn generator_step(
    state: &mut TrainingState,
    input: Tensor<4>,
    target: Tensor<4>,
    generated: Tensor<4>,
    learning_rate: f64,
) -> Result<(f32, f32)> {
    let config = &state.config;
    let l1 = l1_loss(generated.clone(), target).mul_scalar(config.lambda_l1);
    let (gan, total) = if config.gan_mode == GanMode::Off {
        (Tensor::zeros([1], &state.device), l1.clone())
    } else {
        // `no_grad`, not `freeze`: D keeps normalising by batch statistics (and moving its
        // running statistics, as the reference's third D forward does).
        let discriminator = state.discriminator.clone().no_grad();
        let logits = discriminator.forward_pair(input, generated, NormMode::Train)?;
        let gan = gan_loss(logits, Label::Real, config.gan_mode);
        (gan.clone(), gan.add(l1.clone()))
    };
    let [gan_value, l1_value] = read_scalars([gan, l1])?;
    let grads = GradientsParams::from_grads(total.backward(), &state.generator);
    let generator = take_generator(state);
    state.generator = state
        .generator_optimizer
        .step(learning_rate, generator, grads);
    Ok((gan_value, l1_value))
}

/// Moves the generator out of the state for its optimiser step (which consumes the module),
/// leaving an empty placeholder that the step replaces at once. Moving rather than cloning
/// leaves the optimiser the only owner of the weights, so the CPU update runs in place.
fn take_generator(state: &mut TrainingState) -> UnetGenerator {
    let placeholder = UnetGenerator::from_levels(state.config.generator.clone(), Vec::new());
    std::mem::replace(&mut state.generator, placeholder)
}

/// As [`take_generator`], for the discriminator.
fn take_discriminator(state: &mut TrainingState) -> PatchDiscriminator {
    let placeholder =
        PatchDiscriminator::from_layers(state.config.discriminator.clone(), Vec::new());
    std::mem::replace(&mut state.discriminator, placeholder)
}
