//! The pix2pix losses: the adversarial term on PatchGAN logits and the L1 reconstruction term.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, sigmoid};

use crate::config::GanMode;

/// The label the discriminator's verdicts are compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// A real pair: target 1.
    Real,
    /// A generated pair: target 0.
    Fake,
}

/// The GAN loss of `logits` (any shape) against `label`, averaged over every patch:
/// BCE-with-logits for [`GanMode::Vanilla`], squared error for [`GanMode::Lsgan`]. Returns a
/// one-element tensor; [`GanMode::Off`] gives zero.
pub fn gan_loss<const D: usize>(logits: Tensor<D>, label: Label, mode: GanMode) -> Tensor<1> {
    let real = label == Label::Real;
    match mode {
        GanMode::Vanilla => {
            // BCE(x, z) = softplus(x) for z = 0 and softplus(-x) for z = 1, written in the
            // overflow-free form max(±x, 0) + log(1 + exp(-|x|)).
            let signed = if real {
                logits.clone().neg()
            } else {
                logits.clone()
            };
            let tail = logits.abs().neg().exp().log1p();
            relu(signed).add(tail).mean()
        }
        GanMode::Lsgan => {
            // No `sub_scalar(0.0)` for the fake label: on wgpu that fused with the
            // discriminator's next forward pass and gave wrong losses (D_fake 0.044 against the
            // CPU's 0.058; tests/gpu_lane: `lsgan_trains_on_the_gpu_as_on_the_cpu`).
            let difference = if real { logits.sub_scalar(1.0) } else { logits };
            difference.square().mean()
        }
        GanMode::Off => Tensor::zeros([1], &logits.device()),
    }
}

/// The discriminator's mean verdict that the pairs behind `logits` are real, in [0, 1]: the
/// mean of σ(logit) over every patch for the cross-entropy losses, and of the output clamped
/// to [0, 1] for [`GanMode::Lsgan`] (which regresses it onto 1 for real and 0 for generated).
/// A one-element tensor; 0 for [`GanMode::Off`], which has no discriminator.
pub fn realness<const D: usize>(logits: Tensor<D>, mode: GanMode) -> Tensor<1> {
    match mode {
        GanMode::Off => Tensor::zeros([1], &logits.device()),
        _ => verdicts(logits, mode).mean(),
    }
}

/// The discriminator's verdict, patch by patch, that a pair is real, in [0, 1]: σ(logit) for
/// the cross-entropy losses, the output clamped to [0, 1] for [`GanMode::Lsgan`] (and for
/// [`GanMode::Off`], whose runs have an untrained discriminator at most).
pub fn verdicts<const D: usize>(logits: Tensor<D>, mode: GanMode) -> Tensor<D> {
    match mode {
        GanMode::Vanilla => sigmoid(logits),
        GanMode::Lsgan | GanMode::Off => logits.clamp(0.0, 1.0),
    }
}

/// Mean absolute difference between the generated and the target image.
pub fn l1_loss(generated: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    generated.sub(target).abs().mean()
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "tests run on the CPU device")]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn value(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn bce_matches_the_closed_form() {
        let device = Device::flex();
        let logits = Tensor::<1>::from_floats([-30.0, -1.0, 0.0, 2.0, 40.0], &device);
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let xs = [-30.0f64, -1.0, 0.0, 2.0, 40.0];
        // -log(sigmoid(x)) computed stably as softplus(-x)
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        let real: f64 = xs.iter().map(|&x| softplus(-x)).sum::<f64>() / 5.0;
        let fake: f64 = xs.iter().map(|&x| softplus(x)).sum::<f64>() / 5.0;
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-12);
        let got_real = value(gan_loss(logits.clone(), Label::Real, GanMode::Vanilla)) as f64;
        let got_fake = value(gan_loss(logits, Label::Fake, GanMode::Vanilla)) as f64;
        assert!((got_real - real).abs() < 1e-5, "{got_real} vs {real}");
        assert!((got_fake - fake).abs() < 1e-5, "{got_fake} vs {fake}");
    }

    #[test]
    fn lsgan_and_l1() {
        let device = Device::flex();
        let logits = Tensor::<1>::from_floats([0.0, 2.0], &device);
        assert!((value(gan_loss(logits.clone(), Label::Real, GanMode::Lsgan)) - 1.0).abs() < 1e-6);
        assert!((value(gan_loss(logits.clone(), Label::Fake, GanMode::Lsgan)) - 2.0).abs() < 1e-6);
        let realness_of = |mode| value(realness(logits.clone(), mode));
        assert!((realness_of(GanMode::Vanilla) - (0.5 + 0.880_797) / 2.0).abs() < 1e-5);
        assert!((realness_of(GanMode::Lsgan) - 0.5).abs() < 1e-6);
        let a = Tensor::<4>::from_floats([[[[1.0, -1.0]]]], &device);
        let b = Tensor::<4>::from_floats([[[[0.5, 1.0]]]], &device);
        assert!((value(l1_loss(a, b)) - 1.25).abs() < 1e-6);
    }
}
