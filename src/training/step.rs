//! One pix2pix training iteration, in the reference's order: generator forward, discriminator
//! update, then the generator update against the already-updated discriminator.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

use super::loss::{Label, gan_loss, l1_loss, realness};
use super::state::TrainingState;
use crate::config::GanMode;
use crate::error::{Error, Result};
use crate::model::{Dropout, NormMode, PatchDiscriminator, UnetGenerator};
use crate::platform::readback::host_values;
use crate::util::seed::{derived_rng, stream};

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

/// The losses of one step, still on the device: nothing waits for them until they are read, so
/// a GPU runs the next steps meanwhile. Read many at once with [`read_losses`].
#[derive(Clone, Debug)]
pub struct QueuedLosses(Tensor<1>); // [LOSS_VALUES]: G_GAN, G_L1, D_real, D_fake, p_real, p_fake

/// Values per step in [`QueuedLosses`].
const LOSS_VALUES: usize = 6;

impl QueuedLosses {
    /// Losses already known (G_GAN, G_L1, D_real, D_fake, p_real, p_fake), as a step would queue
    /// them.
    #[cfg(test)]
    pub(crate) fn from_values(values: [f32; LOSS_VALUES], device: &Device) -> Self {
        Self(Tensor::from_floats(values, device))
    }

    /// Reads this step's losses back (one transfer).
    pub fn read(self) -> Result<StepLosses> {
        let mut losses = read_losses(vec![self])?;
        losses
            .pop()
            .ok_or_else(|| Error::Backend("no losses were read back".into()))
    }
}

/// Reads the losses of several steps back in one transfer, in the order given.
pub fn read_losses(queued: Vec<QueuedLosses>) -> Result<Vec<StepLosses>> {
    if queued.is_empty() {
        return Ok(Vec::new());
    }
    let steps = queued.len();
    let all = Tensor::cat(queued.into_iter().map(|losses| losses.0).collect(), 0); // [6 · steps]
    let values = host_values(all, "the losses")?;
    if values.len() != steps * LOSS_VALUES {
        return Err(Error::Backend(format!(
            "expected {} loss values for {steps} steps, got {}",
            steps * LOSS_VALUES,
            values.len()
        )));
    }
    Ok(values
        .chunks_exact(LOSS_VALUES)
        .map(|step| StepLosses {
            g_gan: step[0],
            g_l1: step[1],
            d_real: step[2],
            d_fake: step[3],
            p_real: step[4],
            p_fake: step[5],
        })
        .collect())
}

/// Trains both networks on one batch (`input` and `target` `[B, C, H, W]` in `[-1, 1]`, on the
/// state's device) with learning rate `learning_rate`, and reads the losses back (one transfer,
/// so on a GPU one wait for the step to finish). A loop that need not see every step's losses at
/// once calls [`queue_train_step`] instead.
pub fn train_step(
    state: &mut TrainingState,
    input: Tensor<4>,
    target: Tensor<4>,
    learning_rate: f64,
) -> Result<StepLosses> {
    queue_train_step(state, input, target, learning_rate)?.read()
}

/// [`train_step`] without the read: the step is queued on the device, and its losses stay there
/// until [`QueuedLosses::read`] or [`read_losses`].
pub fn queue_train_step(
    state: &mut TrainingState,
    input: Tensor<4>,
    target: Tensor<4>,
    learning_rate: f64,
) -> Result<QueuedLosses> {
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

    let discriminator_losses = if state.config.gan_mode == GanMode::Off {
        Tensor::zeros([4], &device)
    } else {
        discriminator_step(
            state,
            &input,
            &target,
            generated.clone().detach(),
            learning_rate,
        )?
    };
    let generator_losses = generator_step(state, input, target, generated, learning_rate)?;
    state.steps += 1;
    Ok(QueuedLosses(Tensor::cat(
        vec![generator_losses, discriminator_losses],
        0,
    ))) // [6]
}

/// One-element losses as one detached `[N]` tensor, computed now: its kernels are handed to the
/// device before the backward pass is recorded. On wgpu, burn's fusion otherwise let the
/// backward pass and the optimiser step overwrite buffers that losses computed after them still
/// needed (a LSGAN step reported G_GAN 4.4 where the CPU gives 0.69; tests/gpu_lane:
/// `lsgan_trains_on_the_gpu_as_on_the_cpu`). A flush, unlike a read, does not wait for them.
fn settled<const N: usize>(scalars: [Tensor<1>; N], device: &Device) -> Result<Tensor<1>> {
    let values = Tensor::cat(scalars.into_iter().map(Tensor::detach).collect(), 0); // [N]
    device
        .flush()
        .map_err(|err| Error::Backend(format!("running the loss kernels: {err:?}")))?;
    Ok(values)
}

/// Updates D on one real and one generated pair, each in its own forward pass (so each gets
/// its own batch statistics), with loss 0.5 · (BCE(real, 1) + BCE(fake, 0)). Returns the two
/// losses and D's mean verdicts, in that pass, on the real and the generated pair (`[4]`, on the
/// device).
fn discriminator_step(
    state: &mut TrainingState,
    input: &Tensor<4>,
    target: &Tensor<4>,
    generated: Tensor<4>,
    learning_rate: f64,
) -> Result<Tensor<1>> {
    let mode = state.config.gan_mode;
    let discriminator = &state.discriminator;
    let logits_fake = discriminator.forward_pair(input.clone(), generated, NormMode::Train)?;
    let p_fake = realness(logits_fake.clone().detach(), mode);
    let loss_fake = gan_loss(logits_fake, Label::Fake, mode);
    let logits_real = discriminator.forward_pair(input.clone(), target.clone(), NormMode::Train)?;
    let p_real = realness(logits_real.clone().detach(), mode);
    let loss_real = gan_loss(logits_real, Label::Real, mode);
    let loss = loss_fake.clone().add(loss_real.clone()).mul_scalar(0.5);
    let losses = settled([loss_real, loss_fake, p_real, p_fake], &state.device)?;
    let grads = GradientsParams::from_grads(loss.backward(), discriminator);
    let discriminator = take_discriminator(state);
    state.discriminator = state
        .discriminator_optimizer
        .step(learning_rate, discriminator, grads);
    Ok(losses)
}

/// Updates G with GAN(D(input, generated), real) + lambda · L1(generated, target), gradients
/// flowing through D into G but not into D's weights. Returns both terms (GAN, L1) as `[2]`, on
/// the device.
fn generator_step(
    state: &mut TrainingState,
    input: Tensor<4>,
    target: Tensor<4>,
    generated: Tensor<4>,
    learning_rate: f64,
) -> Result<Tensor<1>> {
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
    let losses = settled([gan, l1], &state.device)?;
    let grads = GradientsParams::from_grads(total.backward(), &state.generator);
    let generator = take_generator(state);
    state.generator = state
        .generator_optimizer
        .step(learning_rate, generator, grads);
    Ok(losses)
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
