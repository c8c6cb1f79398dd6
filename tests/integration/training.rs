//! Training steps on tiny configurations: losses finite and moving, ablations, Adam, errors.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use pix2pix_studio::config::{GanMode, TrainingConfig};
use pix2pix_studio::model::{
    Dropout, NormKind, NormMode, PatchDiscriminatorConfig, UnetGeneratorConfig,
};
use pix2pix_studio::platform::readback::reads_on_this_thread;
use pix2pix_studio::training::{
    QueuedLosses, StepLosses, TrainingState, queue_train_step, read_losses, train_step,
};

use crate::util::values;

fn tiny_config() -> TrainingConfig {
    TrainingConfig::new(
        UnetGeneratorConfig::new().with_num_downs(5).with_ngf(4),
        PatchDiscriminatorConfig::new().with_ndf(4).with_n_layers(2),
    )
    .with_seed(3)
}

/// A learnable pair: the target is a fixed function of the input.
fn pair(device: &Device) -> (Tensor<4>, Tensor<4>) {
    let input = crate::seeded::seeded_uniform([1, 3, 32, 32], device);
    let target = input.clone().neg().mul_scalar(0.5);
    (input, target)
}

fn run(config: &TrainingConfig, steps: usize) -> Vec<StepLosses> {
    let device = Device::flex();
    let mut state = TrainingState::new(config, &device).unwrap();
    let (input, target) = pair(&device);
    (0..steps)
        .map(|_| train_step(&mut state, input.clone(), target.clone(), 2e-3).unwrap())
        .collect()
}

#[test]
fn training_reduces_l1_on_a_fixed_pair() {
    let losses = run(&tiny_config(), 30);
    assert!(losses.iter().all(StepLosses::is_finite));
    let first = losses[0].g_l1;
    let last = losses[29].g_l1;
    assert!(last < 0.85 * first, "L1 {first} -> {last}");
    let falling = losses.windows(2).filter(|w| w[1].g_l1 < w[0].g_l1).count();
    assert!(falling >= 25, "L1 fell in only {falling} of 29 steps");
    assert!(
        losses
            .iter()
            .all(|l| l.d_real > 0.0 && l.d_fake > 0.0 && l.g_gan > 0.0)
    );
}

#[test]
fn the_same_seed_trains_identically() {
    let device = Device::flex();
    let (input, target) = pair(&device);
    let train = || {
        let mut state = TrainingState::new(&tiny_config(), &device).unwrap();
        for _ in 0..3 {
            train_step(&mut state, input.clone(), target.clone(), 2e-4).unwrap();
        }
        values(
            state
                .generator
                .valid()
                .forward(input.clone(), NormMode::RunningStats, Dropout::Off)
                .unwrap(),
        )
    };
    assert_eq!(train(), train());
}

#[test]
fn ablations_and_gan_modes_train() {
    let base = tiny_config();
    // L1 only: no discriminator work, D losses reported as 0.
    let l1_only = run(&base.clone().with_gan_mode(GanMode::Off), 3);
    assert!(
        l1_only
            .iter()
            .all(|l| l.g_gan == 0.0 && l.d_real == 0.0 && l.d_fake == 0.0 && l.g_l1 > 0.0)
    );
    // GAN only (lambda 0): no L1 term.
    let gan_only = run(&base.clone().with_lambda_l1(0.0), 3);
    assert!(gan_only.iter().all(|l| l.g_l1 == 0.0 && l.g_gan > 0.0));
    let lsgan = run(&base.clone().with_gan_mode(GanMode::Lsgan), 3);
    assert!(lsgan.iter().all(StepLosses::is_finite));
    let mut variants = vec![
        TrainingConfig {
            generator: base.generator.clone().with_skip_connections(false),
            ..base.clone()
        },
        TrainingConfig {
            discriminator: base.discriminator.clone().with_n_layers(0),
            ..base.clone()
        },
    ];
    for norm in [NormKind::Instance, NormKind::None] {
        variants.push(TrainingConfig {
            generator: base.generator.clone().with_norm(norm),
            discriminator: base.discriminator.clone().with_norm(norm),
            ..base.clone()
        });
    }
    for config in variants {
        let losses = run(&config, 2);
        assert!(losses.iter().all(StepLosses::is_finite), "{config:?}");
    }
}

#[test]
fn ablations_do_what_they_say() {
    let device = Device::flex();
    let base = tiny_config();
    // L1 only: the discriminator is never updated.
    let mut state = TrainingState::new(&base.clone().with_gan_mode(GanMode::Off), &device).unwrap();
    let d_before = values(state.discriminator.layers[0].conv.weight.val());
    let g_before = values(state.generator.levels[1].down.weight.val());
    for _ in 0..2 {
        let (input, target) = pair(&device);
        train_step(&mut state, input, target, 2e-4).unwrap();
    }
    assert_eq!(
        values(state.discriminator.layers[0].conv.weight.val()),
        d_before
    );
    assert_eq!(state.discriminator_optimizer.steps(), 0);
    assert_ne!(
        values(state.generator.levels[1].down.weight.val()),
        g_before
    );

    // No skips: the same seed and input give another output than the U-Net.
    let (input, _) = pair(&device);
    let output = |config: &UnetGeneratorConfig| {
        values(
            config
                .init(&device, 3)
                .unwrap()
                .forward(input.clone().inner(), NormMode::BatchStats, Dropout::Off)
                .unwrap(),
        )
    };
    let with_skips = output(&base.generator);
    let without = output(&base.generator.clone().with_skip_connections(false));
    assert_eq!(with_skips.len(), without.len());
    assert_ne!(with_skips, without);

    // PixelGAN: one verdict per pixel, each seeing only its own pixel (1×1 receptive field).
    let pixel = PatchDiscriminatorConfig::new()
        .with_ndf(4)
        .with_n_layers(0)
        .init(&device, 5)
        .unwrap();
    let pair_image = crate::seeded::seeded_uniform([1, 6, 8, 8], &device.clone().inner());
    let mut changed = values(pair_image.clone());
    for channel in 0..6 {
        changed[channel * 64 + 3 * 8 + 4] += 0.5;
    }
    let changed = Tensor::<4>::from_data(
        burn::tensor::TensorData::new(changed, [1, 6, 8, 8]),
        &device.clone().inner(),
    );
    // Running statistics: batch statistics would let every pixel move every verdict.
    let verdicts = |image| {
        values(
            pixel
                .valid()
                .forward(image, NormMode::RunningStats)
                .unwrap(),
        )
    };
    let (before, after) = (verdicts(pair_image), verdicts(changed));
    assert_eq!(before.len(), 64, "one verdict per pixel");
    let moved: Vec<usize> = (0..64).filter(|&i| before[i] != after[i]).collect();
    assert_eq!(
        moved,
        vec![3 * 8 + 4],
        "only the changed pixel's verdict moves"
    );
}

#[test]
fn a_step_moves_every_weight_and_only_running_stats_move_without_a_step() {
    let device = Device::flex();
    let mut state = TrainingState::new(&tiny_config(), &device).unwrap();
    let before = values(state.generator.levels[2].down.weight.val());
    let d_before = values(state.discriminator.layers[0].conv.weight.val());
    let (input, target) = pair(&device);
    train_step(&mut state, input, target, 2e-4).unwrap();
    let after = values(state.generator.levels[2].down.weight.val());
    // Adam's first step moves each weight by about lr (= 2e-4), whatever its gradient's size.
    let moved: Vec<f32> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| (a - b).abs())
        .collect();
    assert!(
        moved.iter().all(|&m| m > 1e-5 && m < 3e-4),
        "{:?}",
        &moved[..4]
    );
    assert_ne!(
        d_before,
        values(state.discriminator.layers[0].conv.weight.val())
    );
    assert_eq!(state.steps, 1);
    assert_eq!(state.generator_optimizer.steps(), 1);
    assert_eq!(state.discriminator_optimizer.steps(), 1);
}

#[test]
fn mismatched_pairs_and_configs_are_errors() {
    let device = Device::flex();
    let mut state = TrainingState::new(&tiny_config(), &device).unwrap();
    let input = Tensor::<4>::zeros([1, 3, 32, 32], &device);
    let target = Tensor::<4>::zeros([1, 3, 64, 64], &device);
    assert!(train_step(&mut state, input.clone(), target, 2e-4).is_err());
    let odd = Tensor::<4>::zeros([1, 3, 48, 48], &device);
    assert!(train_step(&mut state, odd.clone(), odd, 2e-4).is_err());
    let config = TrainingConfig {
        discriminator: tiny_config().discriminator.with_input_channels(4),
        ..tiny_config()
    };
    assert!(TrainingState::new(&config, &device).is_err());
    let config = tiny_config()
        .with_gan_mode(GanMode::Off)
        .with_lambda_l1(0.0);
    assert!(TrainingState::new(&config, &device).is_err());
    // The state survives a rejected batch.
    let (input, target) = pair(&device);
    assert!(
        train_step(&mut state, input, target, 2e-4)
            .unwrap()
            .is_finite()
    );
}

#[test]
fn a_training_step_reads_its_losses_back_once() {
    let device = Device::flex();
    let mut state = TrainingState::new(&tiny_config(), &device).unwrap();
    let (input, target) = pair(&device);
    for _ in 0..3 {
        let before = reads_on_this_thread();
        train_step(&mut state, input.clone(), target.clone(), 2e-4).unwrap();
        // On a GPU every read waits for the device: one per step (it was two, D's then G's).
        assert_eq!(reads_on_this_thread() - before, 1);
    }
}

#[test]
fn queued_steps_read_back_in_one_transfer_as_they_would_one_by_one() {
    let device = Device::flex();
    let (input, target) = pair(&device);
    let mut state = TrainingState::new(&tiny_config(), &device).unwrap();
    let one_by_one: Vec<StepLosses> = (0..6)
        .map(|_| train_step(&mut state, input.clone(), target.clone(), 2e-3).unwrap())
        .collect();
    let mut state = TrainingState::new(&tiny_config(), &device).unwrap();
    let before = reads_on_this_thread();
    let queued: Vec<QueuedLosses> = (0..6)
        .map(|_| queue_train_step(&mut state, input.clone(), target.clone(), 2e-3).unwrap())
        .collect();
    assert_eq!(reads_on_this_thread(), before, "queueing reads nothing");
    let together = read_losses(queued).unwrap();
    assert_eq!(reads_on_this_thread(), before + 1);
    assert_eq!(together, one_by_one);
}
