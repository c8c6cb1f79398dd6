//! PyTorch interop: export with the reference's keys, re-import, and clear errors for files
//! that do not fit.

use std::path::Path;

use burn::tensor::Device;
use pix2pix_studio::Error;
use pix2pix_studio::model::pytorch::{
    StateDict, generator_state_dict, load_discriminator, load_generator, save_discriminator,
    save_generator,
};
use pix2pix_studio::model::{
    Dropout, NormKind, NormMode, PatchDiscriminatorConfig, UnetGeneratorConfig,
};

use crate::util::{parity_dir, temp_dir, values};

fn parity_config() -> UnetGeneratorConfig {
    UnetGeneratorConfig::new().with_ngf(4)
}

#[test]
fn export_uses_the_reference_keys_and_shapes() {
    let device = Device::flex();
    let generator = parity_config().init(&device, 1).unwrap();
    let dir = temp_dir("export-keys");
    let path = dir.join("G.safetensors");
    save_generator(&generator, &path).unwrap();
    let ours = StateDict::read(&path).unwrap();
    let reference = StateDict::read(&parity_dir().join("G_unet256_ngf4.safetensors")).unwrap();
    let ours_keys: Vec<&str> = ours.keys().collect();
    let reference_keys: Vec<&str> = reference.keys().collect();
    assert_eq!(ours_keys, reference_keys);
    for key in reference_keys {
        assert_eq!(
            ours.shape(key).unwrap(),
            reference.shape(key).unwrap(),
            "{key}"
        );
    }
    // num_batches_tracked is int64 as in PyTorch; everything else float32.
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let count = file
        .tensor("model.model.1.model.2.num_batches_tracked")
        .unwrap();
    assert_eq!(count.dtype(), safetensors::Dtype::I64);
    assert_eq!(
        file.tensor("model.model.0.weight").unwrap().dtype(),
        safetensors::Dtype::F32
    );
    // The in-memory view lists keys in the reference's state-dict order.
    let ordered: Vec<String> = generator_state_dict(&generator)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(ordered.first().unwrap(), "model.model.0.weight");
    assert_eq!(ordered.last().unwrap(), "model.model.3.bias");
}

#[test]
fn export_then_import_gives_identical_outputs() {
    let device = Device::flex();
    let dir = temp_dir("export-roundtrip");
    for norm in [NormKind::Batch, NormKind::Instance, NormKind::None] {
        let config = UnetGeneratorConfig::new()
            .with_num_downs(5)
            .with_ngf(4)
            .with_input_channels(1)
            .with_norm(norm);
        let generator = config.init(&device, 11).unwrap();
        // Move the running statistics away from their initial values first.
        let input = crate::seeded::seeded_uniform([2, 1, 32, 32], &device);
        generator
            .forward(input.clone(), NormMode::Train, Dropout::Off)
            .unwrap();
        let path = dir.join(format!("G-{norm:?}.safetensors"));
        save_generator(&generator, &path).unwrap();
        let loaded = load_generator(&path, &config, &device).unwrap();
        for mode in [NormMode::RunningStats, NormMode::BatchStats] {
            let a = values(
                generator
                    .forward(input.clone(), mode, Dropout::Off)
                    .unwrap(),
            );
            let b = values(loaded.forward(input.clone(), mode, Dropout::Off).unwrap());
            assert_eq!(a, b, "{norm:?} {mode:?}");
        }

        let d_config = PatchDiscriminatorConfig::new()
            .with_ndf(4)
            .with_input_channels(4)
            .with_norm(norm);
        for n_layers in [0, 3] {
            let d_config = d_config.clone().with_n_layers(n_layers);
            let d = d_config.init(&device, 5).unwrap();
            let pair = crate::seeded::seeded_uniform([1, 4, 32, 32], &device);
            let path = dir.join(format!("D-{norm:?}-{n_layers}.safetensors"));
            save_discriminator(&d, &path).unwrap();
            let loaded = load_discriminator(&path, &d_config, &device).unwrap();
            let a = values(d.forward(pair.clone(), NormMode::RunningStats).unwrap());
            let b = values(loaded.forward(pair, NormMode::RunningStats).unwrap());
            assert_eq!(a, b, "D {norm:?} n_layers {n_layers}");
        }
    }
}

fn load_error(path: &Path, config: &UnetGeneratorConfig) -> String {
    let err = load_generator(path, config, &Device::flex()).unwrap_err();
    err.to_string()
}

#[test]
fn a_wrong_width_names_the_key_and_both_shapes() {
    let path = parity_dir().join("G_unet256_ngf4.pth");
    let err = load_generator(
        &path,
        &UnetGeneratorConfig::new().with_ngf(8),
        &Device::flex(),
    )
    .unwrap_err();
    match &err {
        Error::ShapeMismatch {
            key,
            expected,
            found,
            ..
        } => {
            assert_eq!(key, "model.model.0.weight");
            assert_eq!(expected, &vec![8, 3, 4, 4]);
            assert_eq!(found, &vec![4, 3, 4, 4]);
        }
        other => panic!("expected a shape mismatch, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("G_unet256_ngf4.pth") && message.contains("[8, 3, 4, 4]"),
        "{message}"
    );
}

#[test]
fn another_architecture_or_network_is_refused_with_the_key() {
    let g_path = parity_dir().join("G_unet256_ngf4.safetensors");
    // unet_128 against unet_256 weights: the innermost level sits where a middle one is.
    let err = load_error(&g_path, &parity_config().with_num_downs(7));
    assert!(err.contains("model.model.1.model.3"), "{err}");
    // A discriminator file read as a generator.
    let err = load_error(
        &parity_dir().join("D_basic_ndf4.safetensors"),
        &parity_config(),
    );
    assert!(err.contains("missing key `model.model.0.weight`"), "{err}");
    // A generator file read as a discriminator.
    let err = load_discriminator(
        &g_path,
        &PatchDiscriminatorConfig::new().with_ndf(4),
        &Device::flex(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.0.weight"), "{err}");
    // Instance norm expects conv biases the batch-norm file does not have.
    let err = load_error(&g_path, &parity_config().with_norm(NormKind::Instance));
    assert!(err.contains(".bias"), "{err}");
}

#[test]
fn extra_keys_are_refused() {
    let device = Device::flex();
    let config = UnetGeneratorConfig::new().with_num_downs(5).with_ngf(2);
    let generator = config.init(&device, 0).unwrap();
    let dir = temp_dir("extra-keys");
    let path = dir.join("G.safetensors");
    save_generator(&generator, &path).unwrap();
    // Re-read as a bigger U-Net's weights with one key too many: build by hand.
    let mut entries = generator_state_dict(&generator).unwrap();
    entries.push(("model.extra.weight".into(), entries[0].1.clone()));
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = entries
        .iter()
        .map(|(k, t)| {
            (
                k.clone(),
                t.shape.clone(),
                t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(&str, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(k, s, d)| {
            (
                k.as_str(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                    .unwrap(),
            )
        })
        .collect();
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let err = load_error(&path, &config);
    assert!(
        err.contains("unexpected key") && err.contains("model.extra.weight"),
        "{err}"
    );
}

#[test]
fn wrapped_state_dicts_are_found() {
    let device = Device::flex();
    let config = UnetGeneratorConfig::new().with_num_downs(5).with_ngf(2);
    let generator = config.init(&device, 0).unwrap();
    let entries = generator_state_dict(&generator).unwrap();
    // As saved from nn.DataParallel: every key under `module.`.
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = entries
        .iter()
        .map(|(k, t)| {
            let data = if k.ends_with("num_batches_tracked") {
                (t.values[0] as i64).to_le_bytes().to_vec()
            } else {
                t.values.iter().flat_map(|v| v.to_le_bytes()).collect()
            };
            (format!("module.{k}"), t.shape.clone(), data)
        })
        .collect();
    let views: Vec<(&str, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(k, s, d)| {
            let dtype = if k.ends_with("num_batches_tracked") {
                safetensors::Dtype::I64
            } else {
                safetensors::Dtype::F32
            };
            (
                k.as_str(),
                safetensors::tensor::TensorView::new(dtype, s.clone(), d).unwrap(),
            )
        })
        .collect();
    let path = temp_dir("wrapped").join("G.safetensors");
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    load_generator(&path, &config, &device).unwrap();
}

#[test]
fn broken_files_give_clear_errors() {
    let dir = temp_dir("broken-files");
    let config = parity_config();
    let missing = dir.join("nope.pth");
    assert!(load_error(&missing, &config).contains("nope.pth"));

    let text = dir.join("notes.pth");
    std::fs::write(&text, "this is not a checkpoint").unwrap();
    let err = load_error(&text, &config);
    assert!(
        err.contains("notes.pth") && err.contains("not a readable PyTorch state dict"),
        "{err}"
    );

    let fake = dir.join("fake.safetensors");
    std::fs::write(&fake, [7u8; 64]).unwrap();
    assert!(load_error(&fake, &config).contains("fake.safetensors"));

    for name in ["G_unet256_ngf4.pth", "G_unet256_ngf4.safetensors"] {
        let bytes = std::fs::read(parity_dir().join(name)).unwrap();
        let truncated = dir.join(format!("truncated-{name}"));
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_error(&truncated, &config);
        assert!(err.contains("truncated-"), "{name}: {err}");
    }
}

#[test]
fn zero_dimensional_weights_are_refused_not_a_panic() {
    // A file whose first and last convolution weights are scalars (0-d tensors).
    let dir = temp_dir("pytorch-zero-d");
    let path = dir.join("scalars.safetensors");
    let one = 1.0f32.to_le_bytes();
    let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> =
        ["model.model.0.weight", "model.model.3.weight"]
            .into_iter()
            .map(|key| {
                let view =
                    safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![], &one)
                        .unwrap();
                (key, view)
            })
            .collect();
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let dict = pix2pix_studio::model::pytorch::StateDict::read(&path).unwrap();
    let err = pix2pix_studio::inference::infer_architecture(&dict, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("scalars.safetensors") && err.contains("4 dimensions"),
        "{err}"
    );
}

fn layouts_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth_layouts")
}

/// A weights file loaded as `translate -m FILE` loads it: the architecture from the keys and
/// shapes, then the weights, from one reading of the file.
fn load_weights(path: &Path) -> pix2pix_studio::Result<Vec<(String, Vec<f32>)>> {
    use pix2pix_studio::inference::{ModelSource, Translator};
    let source = ModelSource::Weights {
        path: path.to_path_buf(),
        architecture: None,
    };
    let translator = Translator::load(&source, &Device::flex())?;
    Ok(generator_state_dict(translator.generator())?
        .into_iter()
        .map(|(key, tensor)| (key, tensor.values))
        .collect())
}

#[test]
fn every_pth_layout_people_bring_loads() {
    // Written by PyTorch itself (tests/fixtures/pth_layouts/make_fixtures.py): the reference's
    // OrderedDict with `_metadata`, the pre-1.6 format, DataParallel's `module.` keys.
    let plain = load_weights(&layouts_dir().join("G_plain.pth")).unwrap();
    let config = UnetGeneratorConfig::new().with_num_downs(5).with_ngf(2);
    let fresh = generator_state_dict(&config.init(&Device::flex(), 0).unwrap()).unwrap();
    assert_eq!(plain.len(), fresh.len());
    for name in ["G_legacy.pth", "G_module.pth"] {
        let weights = load_weights(&layouts_dir().join(name)).unwrap();
        assert_eq!(weights, plain, "{name}");
    }
    // A checkpoint dictionary: the weights under "state_dict", Adam's moments and step counts
    // beside them, which are left unread.
    let wrapped = load_weights(&layouts_dir().join("G_wrapped.pth")).unwrap();
    assert_eq!(
        wrapped.iter().map(|(key, _)| key).collect::<Vec<_>>(),
        plain.iter().map(|(key, _)| key).collect::<Vec<_>>()
    );
    assert_ne!(wrapped, plain, "one Adam step moved the weights");
}

/// A 2.4 KB `.pth` of four one-number storages, each viewed as 50000 × 50000 with stride 0,
/// aborted `translate -m` with "memory allocation of 10000000000 bytes failed": the reader
/// expanded every view before looking at a key or shape. It is refused now from its declared
/// shapes, before any value is read.
#[test]
fn a_stride0_pth_asking_for_40_gb_is_refused_before_reading() {
    for name in ["evil_stride0.pth", "evil_legacy_stride0.pth"] {
        let path = layouts_dir().join(name);
        let (outcome, largest) = crate::alloc_cap::watch(64 << 20, || load_weights(&path));
        let err = outcome.unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains("more than 268435456 values"),
            "{name}: {err}"
        );
        assert!(
            largest < 1 << 20,
            "{name}: an allocation of {largest} bytes"
        );
    }
}
