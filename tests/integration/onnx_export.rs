//! ONNX export checked by a second runtime: tract (a pure-Rust ONNX runtime) loads each exported
//! file and must give our generator's output within 1e-4, for unet_128 and unet_256, one and
//! three channels, batch and running statistics, fixed and dynamic sizes; bad requests give
//! clear errors and leave no file.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use pix2pix_studio::error::Error;
use pix2pix_studio::inference::{ModelSource, Translator};
use pix2pix_studio::model::blocks::NormKind;
use pix2pix_studio::model::pytorch::save_generator;
use pix2pix_studio::model::{Dropout, NormMode, UnetGenerator, UnetGeneratorConfig};
use pix2pix_studio::onnx::{OnnxOptions, OnnxSize, export_model_onnx, export_onnx};
use rand::{RngExt, SeedableRng};
use tract_onnx::prelude::{DatumExt, Framework, InferenceModelExt, IntoRunnable, tvec};

use crate::engine::binary;
use crate::util::{temp_dir, values};

const TOLERANCE: f32 = 1e-4;

/// A generator whose running statistics have moved away from their initial 0 and 1 (three
/// training-mode passes), so running-statistics export is tested on real statistics.
fn translator(config: &UnetGeneratorConfig, seed: u64) -> Translator {
    let side = config.size_multiple();
    Translator::from_generator(trained(config, seed), side as u32, &Device::flex())
}

fn trained(config: &UnetGeneratorConfig, seed: u64) -> UnetGenerator {
    let device = Device::flex();
    let generator = config.init(&device, seed).unwrap();
    let side = config.size_multiple();
    for pass in 0..3 {
        let input = random_input([1, config.input_channels, side, side], seed + pass);
        generator
            .forward(input, NormMode::Train, Dropout::Off)
            .unwrap();
    }
    generator
}

fn random_input(shape: [usize; 4], seed: u64) -> Tensor<4> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_data(TensorData::new(values, shape), &Device::flex())
}

/// The output tract computes for `input` from the ONNX file at `path`.
fn tract_output(path: &Path, input: &Tensor<4>) -> Vec<f32> {
    let shape = input.dims();
    let input_values = values(input.clone());
    let fact = f32::fact(shape);
    let model = tract_onnx::onnx()
        .model_for_path(path)
        .unwrap()
        .with_input_fact(0, fact.into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let tensor = tract_onnx::prelude::Tensor::from_shape(&shape, &input_values).unwrap();
    let outputs = model.run(tvec!(tensor.into())).unwrap();
    outputs[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "output sizes differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Exports `generator` with `norm` and `size`, runs `input` through tract and through our
/// forward pass, and asserts they agree.
fn assert_tract_agrees(
    translator: &Translator,
    norm: NormMode,
    size: OnnxSize,
    input: Tensor<4>,
    path: &Path,
) {
    let options = OnnxOptions {
        opset: 17,
        norm,
        size,
    };
    export_onnx(translator, &options, path).unwrap();
    let generator = translator.generator();
    let ours = values(
        generator
            .forward(input.clone(), norm, Dropout::Off)
            .unwrap(),
    );
    let theirs = tract_output(path, &input);
    let difference = max_abs_diff(&ours, &theirs);
    let config = generator.config();
    eprintln!(
        "num_downs {} {}→{} {norm:?} {size:?}: max |ours - tract| = {difference:.2e}",
        config.num_downs, config.input_channels, config.output_channels
    );
    assert!(
        difference <= TOLERANCE,
        "{norm:?}: tract differs by {difference:.2e}"
    );
}

#[test]
fn tract_runs_the_exported_unet_128_and_unet_256_like_translate() {
    let dir = temp_dir("onnx-architectures");
    for (num_downs, channels) in [(7, (3, 3)), (7, (1, 3)), (8, (3, 3)), (8, (1, 1))] {
        let config = UnetGeneratorConfig::new()
            .with_num_downs(num_downs)
            .with_ngf(4)
            .with_input_channels(channels.0)
            .with_output_channels(channels.1);
        let translator = translator(&config, num_downs as u64);
        let side = config.size_multiple();
        let size = OnnxSize::Fixed {
            height: side,
            width: side,
        };
        for norm in [NormMode::BatchStats, NormMode::RunningStats] {
            let input = random_input([1, channels.0, side, side], 100 + num_downs as u64);
            let path = dir.join(format!("unet{num_downs}-{}-{norm:?}.onnx", channels.0));
            assert_tract_agrees(&translator, norm, size, input, &path);
        }
    }
}

#[test]
fn a_dynamic_size_export_runs_at_any_multiple_and_any_batch_with_running_statistics() {
    let dir = temp_dir("onnx-dynamic");
    let config = UnetGeneratorConfig::new().with_num_downs(6).with_ngf(4);
    let translator = translator(&config, 3);
    // Not square, not the size it was exported at.
    let input = random_input([1, 3, 64, 192], 4);
    assert_tract_agrees(
        &translator,
        NormMode::BatchStats,
        OnnxSize::Dynamic,
        input,
        &dir.join("dynamic-batch-stats.onnx"),
    );
    let batch = random_input([2, 3, 128, 64], 5);
    assert_tract_agrees(
        &translator,
        NormMode::RunningStats,
        OnnxSize::Dynamic,
        batch,
        &dir.join("dynamic-running.onnx"),
    );
}

#[test]
fn instance_norm_and_no_skip_connection_generators_export_too() {
    let dir = temp_dir("onnx-variants");
    let instance = UnetGeneratorConfig::new()
        .with_num_downs(5)
        .with_ngf(4)
        .with_norm(NormKind::Instance);
    let no_skips = UnetGeneratorConfig::new()
        .with_num_downs(5)
        .with_ngf(4)
        .with_skip_connections(false);
    for (name, config) in [("instance", instance), ("no-skips", no_skips)] {
        let translator = translator(&config, 8);
        let input = random_input([1, 3, 64, 32], 9);
        let path = dir.join(format!("{name}.onnx"));
        assert_tract_agrees(
            &translator,
            NormMode::BatchStats,
            OnnxSize::Dynamic,
            input,
            &path,
        );
    }
}

#[test]
fn impossible_exports_say_why_and_write_nothing() {
    let dir = temp_dir("onnx-refusals");
    let config = UnetGeneratorConfig::new().with_num_downs(5).with_ngf(4);
    let translator = translator(&config, 1);
    let path = dir.join("model.onnx");
    let fixed = OnnxSize::Fixed {
        height: 32,
        width: 32,
    };
    let refuse = |options: OnnxOptions, expected: &str| {
        let err = export_onnx(&translator, &options, &path).unwrap_err();
        assert!(matches!(err, Error::Export { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("model.onnx"), "names the file: {message}");
        assert!(message.contains(expected), "{message}");
        assert!(!path.exists(), "no file is left behind");
    };
    let options = |opset, norm, size| OnnxOptions { opset, norm, size };
    refuse(
        options(12, NormMode::BatchStats, fixed),
        "opset 12 is not supported",
    );
    refuse(options(18, NormMode::BatchStats, fixed), "choose 13 to 17");
    refuse(options(17, NormMode::Train, fixed), "training pass");
    let odd = OnnxSize::Fixed {
        height: 48,
        width: 32,
    };
    refuse(options(17, NormMode::BatchStats, odd), "multiples of 32");
}

#[test]
fn a_diverged_generator_is_not_exported() {
    let dir = temp_dir("onnx-diverged");
    let config = UnetGeneratorConfig::new().with_num_downs(5).with_ngf(4);
    let mut generator = trained(&config, 2);
    let weight = generator.levels[2].down.weight.val();
    let poisoned = weight.clone().mul_scalar(f32::NAN);
    generator.levels[2].down.weight = burn::module::Param::from_tensor(poisoned);
    let translator = Translator::from_generator(generator, 32, &Device::flex());
    let path = dir.join("diverged.onnx");
    let options = OnnxOptions {
        opset: 17,
        norm: NormMode::BatchStats,
        size: OnnxSize::Dynamic,
    };
    let message = export_onnx(&translator, &options, &path)
        .unwrap_err()
        .to_string();
    assert!(message.contains("NaN"), "{message}");
    assert!(
        message.contains("model.model.1.model.3.model.1.weight"),
        "{message}"
    );
    assert!(!path.exists());
}

#[test]
fn export_writes_onnx_from_reference_weights_and_refuses_bad_requests() {
    let dir = temp_dir("onnx-cli");
    let config = UnetGeneratorConfig::new().with_num_downs(5).with_ngf(4);
    let translator = translator(&config, 6);
    let generator = translator.generator();
    let weights = dir.join("g.safetensors");
    save_generator(generator, &weights).unwrap();
    let onnx = dir.join("g.onnx");
    let run = |model: &Path, extra: &[&str], output: &Path| {
        binary()
            .arg("export")
            .arg(model)
            .arg("-o")
            .arg(output)
            .args(extra)
            .args(["--device", "cpu"])
            .output()
            .unwrap()
    };
    let written = run(&weights, &["--opset", "13"], &onnx);
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let input = random_input([1, 3, 32, 32], 7);
    let ours = values(
        generator
            .forward(input.clone(), NormMode::BatchStats, Dropout::Off)
            .unwrap(),
    );
    assert!(max_abs_diff(&ours, &tract_output(&onnx, &input)) <= TOLERANCE);

    let refused = dir.join("refused.onnx");
    for (args, expected) in [
        (vec!["--opset", "9"], "opset 9 is not supported"),
        (vec!["--half"], "--half is for .safetensors"),
        (vec!["--size", "40"], "multiples of 32"),
    ] {
        let output = run(&weights, &args, &refused);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!refused.exists());
    }

    // Weights of something that is not a U-Net generator name what is missing.
    let not_unet = dir.join("resnet.safetensors");
    let data = 0f32.to_le_bytes().repeat(4);
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4], &data).unwrap();
    std::fs::write(
        &not_unet,
        safetensors::serialize([("model.1.weight", view)], None).unwrap(),
    )
    .unwrap();
    let output = run(&not_unet, &[], &refused);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not a reference U-Net generator"),
        "{stderr}"
    );
    assert!(!refused.exists());
}

#[test]
fn the_apps_export_writes_a_checkpoint_folder_at_its_trained_size() {
    let dir = temp_dir("onnx-checkpoint");
    let path = dir.join("sketches.onnx");
    let demo = ModelSource::from_path(Path::new("assets/demo/sketches")).unwrap();
    assert!(matches!(demo, ModelSource::Checkpoint(_)));
    export_model_onnx(&demo, &OnnxOptions::default(), &path).unwrap();
    let translator = Translator::load(&demo, &Device::flex()).unwrap();
    let side = translator.trained_size_px() as usize;
    let input = random_input([1, 3, side, side], 11);
    let ours = translator
        .generator()
        .forward(input.clone(), NormMode::BatchStats, Dropout::Off)
        .unwrap();
    let difference = max_abs_diff(&values(ours), &tract_output(&path, &input));
    assert!(difference <= TOLERANCE, "{difference:.2e}");
}
