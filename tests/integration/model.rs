//! The networks' architecture: shapes, sizes, parameter counts, receptive fields, init.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use pix2pix_studio::Error;
use pix2pix_studio::model::{
    Dropout, NormKind, NormMode, PatchDiscriminatorConfig, UnetGeneratorConfig,
};
use rand::SeedableRng;

use crate::util::values;

fn tiny(num_downs: usize) -> UnetGeneratorConfig {
    UnetGeneratorConfig::new()
        .with_num_downs(num_downs)
        .with_ngf(4)
}

fn random_image(shape: [usize; 4], device: &Device) -> Tensor<4> {
    crate::seeded::seeded_uniform(shape, device)
}

#[test]
fn parameter_counts_match_the_reference() {
    let millions = |count: usize| (count as f64 / 1e4).round() / 1e2;
    // The reference's figures: 54.41 M (unet_256), 41.83 M (unet_128), D 2.77 M, ngf/ndf 64.
    assert_eq!(
        millions(UnetGeneratorConfig::new().trainable_params()),
        54.41
    );
    assert_eq!(
        millions(
            UnetGeneratorConfig::new()
                .with_num_downs(7)
                .trainable_params()
        ),
        41.83
    );
    assert_eq!(
        millions(PatchDiscriminatorConfig::new().trainable_params()),
        2.77
    );
    // The networks hold exactly that, plus three statistics per BatchNorm channel... of which
    // `num_batches_tracked` is one value per layer.
    let device = Device::flex();
    let config = UnetGeneratorConfig::new().with_ngf(8);
    let generator = config.init(&device, 0).unwrap();
    let norm_channels: usize = config
        .level_specs()
        .iter()
        .map(|s| s.down_norm.unwrap_or(0) + s.up_norm.unwrap_or(0))
        .sum();
    let norm_layers: usize = config
        .level_specs()
        .iter()
        .map(|s| usize::from(s.down_norm.is_some()) + usize::from(s.up_norm.is_some()))
        .sum();
    assert_eq!(
        generator.num_params(),
        config.trainable_params() + 2 * norm_channels + norm_layers
    );
}

#[test]
fn generator_keeps_any_multiple_of_its_size_including_non_square() {
    let device = Device::flex();
    for (channels_in, channels_out, norm) in [
        (3, 3, NormKind::Batch),
        (1, 3, NormKind::Instance),
        (3, 1, NormKind::None),
    ] {
        let config = tiny(5)
            .with_input_channels(channels_in)
            .with_output_channels(channels_out)
            .with_norm(norm);
        let generator = config.init(&device, 1).unwrap();
        let output = generator
            .forward(
                random_image([2, channels_in, 32, 64], &device),
                NormMode::BatchStats,
                Dropout::Off,
            )
            .unwrap();
        assert_eq!(output.dims(), [2, channels_out, 32, 64]);
        assert!(
            values(output).iter().all(|v| v.abs() <= 1.0),
            "tanh output in [-1, 1]"
        );
    }
}

#[test]
fn wrong_sizes_and_channels_are_errors_not_crashes() {
    let device = Device::flex();
    let generator = tiny(6).init(&device, 1).unwrap();
    for shape in [
        [1, 3, 100, 64],
        [1, 3, 64, 0],
        [1, 1, 64, 64],
        [0, 3, 64, 64],
    ] {
        let err = generator
            .forward(
                Tensor::zeros(shape, &device),
                NormMode::RunningStats,
                Dropout::Off,
            )
            .unwrap_err();
        assert!(matches!(err, Error::InputShape { .. }), "{shape:?}: {err}");
    }
    let err = generator
        .forward(
            Tensor::zeros([1, 3, 96, 64], &device),
            NormMode::RunningStats,
            Dropout::Off,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("multiples of 64"), "{err}");
    assert!(
        UnetGeneratorConfig::new()
            .with_num_downs(4)
            .init(&device, 0)
            .is_err()
    );
    assert!(
        UnetGeneratorConfig::new()
            .with_input_channels(2)
            .init(&device, 0)
            .is_err()
    );
}

#[test]
fn skip_connections_off_is_an_encoder_decoder() {
    let device = Device::flex();
    let with_skips = tiny(5).init(&device, 3).unwrap();
    let without = tiny(5)
        .with_skip_connections(false)
        .init(&device, 3)
        .unwrap();
    // Without skips each up convolution sees only the level below: half the input channels.
    assert_eq!(with_skips.levels[1].up.weight.dims(), [16, 4, 4, 4]);
    assert_eq!(without.levels[1].up.weight.dims(), [8, 4, 4, 4]);
    assert!(without.num_params() < with_skips.num_params());
    let output = without
        .forward(
            random_image([1, 3, 32, 32], &device),
            NormMode::BatchStats,
            Dropout::Off,
        )
        .unwrap();
    assert_eq!(output.dims(), [1, 3, 32, 32]);
}

#[test]
fn dropout_sits_where_the_reference_puts_it_and_is_seeded() {
    let device = Device::flex();
    let generator = UnetGeneratorConfig::new()
        .with_ngf(2)
        .init(&device, 0)
        .unwrap();
    let shapes = generator.dropout_mask_shapes([1, 3, 256, 256]);
    // unet_256: the three ngf*8 levels just outside the innermost (depths 4, 5, 6).
    assert_eq!(shapes, vec![[1, 16, 16, 16], [1, 16, 8, 8], [1, 16, 4, 4]]);
    assert!(
        tiny(5)
            .init(&device, 0)
            .unwrap()
            .dropout_mask_shapes([1, 3, 32, 32])
            .is_empty()
    );
    let no_dropout = UnetGeneratorConfig::new().with_dropout(false).with_ngf(2);
    assert!(
        no_dropout
            .init(&device, 0)
            .unwrap()
            .dropout_mask_shapes([1, 3, 256, 256])
            .is_empty()
    );

    let generator = tiny(7).init(&device, 0).unwrap();
    let input = random_image([1, 3, 128, 128], &device);
    let run = |seed: u64| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let masks = generator.sample_dropout_masks(input.dims(), &mut rng, &device);
        let kept: Vec<f32> = masks.iter().flat_map(|m| values(m.clone())).collect();
        assert!(kept.iter().all(|&v| v == 0.0 || v == 2.0));
        let output = generator
            .forward(input.clone(), NormMode::BatchStats, Dropout::Masks(&masks))
            .unwrap();
        values(output)
    };
    assert_eq!(run(5), run(5), "same seed, same output");
    assert_ne!(run(5), run(6), "another seed, another output");
    let wrong = [Tensor::<4>::ones([1, 1, 1, 1], &device)];
    assert!(
        generator
            .forward(input, NormMode::BatchStats, Dropout::Masks(&wrong))
            .is_err()
    );
}

#[test]
fn inference_mode_is_explicit_not_the_device() {
    let device = Device::flex();
    let generator = tiny(5).init(&device, 9).unwrap();
    let input = random_image([1, 3, 32, 32], &device);
    let running = values(
        generator
            .forward(input.clone(), NormMode::RunningStats, Dropout::Off)
            .unwrap(),
    );
    let batch = values(
        generator
            .forward(input.clone(), NormMode::BatchStats, Dropout::Off)
            .unwrap(),
    );
    assert_ne!(running, batch);
    // Batch statistics at inference leave the running statistics untouched.
    let again = values(
        generator
            .forward(input, NormMode::RunningStats, Dropout::Off)
            .unwrap(),
    );
    assert_eq!(running, again);
}

#[test]
fn receptive_fields_and_patch_grids() {
    let field = |n_layers| {
        PatchDiscriminatorConfig::new()
            .with_n_layers(n_layers)
            .receptive_field_px()
    };
    assert_eq!(
        [field(0), field(1), field(2), field(3), field(5)],
        [1, 16, 34, 70, 286]
    );
    let device = Device::flex();
    for (n_layers, size, grid) in [(0, 32, 32), (1, 32, 14), (3, 64, 6), (3, 256, 30)] {
        let config = PatchDiscriminatorConfig::new()
            .with_ndf(4)
            .with_n_layers(n_layers);
        let d = config.init(&device, 0).unwrap();
        let logits = d
            .forward(
                random_image([1, 6, size, size], &device),
                NormMode::BatchStats,
            )
            .unwrap();
        assert_eq!(
            logits.dims(),
            [1, 1, grid, grid],
            "n_layers {n_layers} at {size} px"
        );
    }
    let deep = PatchDiscriminatorConfig::new()
        .with_ndf(2)
        .with_n_layers(5)
        .init(&device, 0)
        .unwrap();
    let err = deep
        .forward(random_image([1, 6, 32, 32], &device), NormMode::BatchStats)
        .unwrap_err();
    assert!(matches!(err, Error::InputShape { .. }), "{err}");
}

#[test]
fn initialisation_follows_the_reference_and_the_seed() {
    let device = Device::flex();
    let config = UnetGeneratorConfig::new().with_ngf(16);
    let generator = config.init(&device, 7).unwrap();
    let weights = values(generator.levels[3].down.weight.val());
    let mean = weights.iter().sum::<f32>() / weights.len() as f32;
    let std =
        (weights.iter().map(|w| (w - mean).powi(2)).sum::<f32>() / weights.len() as f32).sqrt();
    assert!(
        mean.abs() < 1e-3 && (std - 0.02).abs() < 1e-3,
        "conv N(0, 0.02): {mean} {std}"
    );
    let norm = generator.levels[3].down_norm.batch.as_ref().unwrap();
    let gamma = values(norm.gamma.val());
    let gamma_mean = gamma.iter().sum::<f32>() / gamma.len() as f32;
    assert!(
        (gamma_mean - 1.0).abs() < 0.01 && gamma.iter().any(|&g| g != 1.0),
        "BN N(1, 0.02)"
    );
    assert!(values(norm.beta.val()).iter().all(|&b| b == 0.0));
    assert!(
        values(generator.levels[0].up.bias.as_ref().unwrap().val())
            .iter()
            .all(|&b| b == 0.0)
    );
    let same = config.init(&device, 7).unwrap();
    let other = config.init(&device, 8).unwrap();
    assert_eq!(weights, values(same.levels[3].down.weight.val()));
    assert_ne!(weights, values(other.levels[3].down.weight.val()));
}
