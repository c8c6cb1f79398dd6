//! Shared test helpers: the parity fixtures, a `.npy` reader, closeness checks and a tiny run.

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use pix2pix_studio::config::{RunConfig, RunOptions};
use pix2pix_studio::data::{Direction, LayoutHint};

/// The reference's parity fixtures, vendored in `tests/fixtures/parity` (copied from the
/// project's shared fixtures; their README gives the recipe), so a fresh clone tests them all.
pub fn parity_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity")
}

/// Reads a little-endian float32 C-order `.npy` file (all the fixtures are). Written by hand:
/// the format is a 10-byte preamble, a Python-dict header and the raw values, and a crate for
/// it would be the only dependency of the tests.
pub fn read_npy(name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(parity_dir().join(format!("{name}.npy"))).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name} is not a .npy file");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{name}: {header}");
    assert!(
        header.contains("'fortran_order': False"),
        "{name}: {header}"
    );
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let values: Vec<f32> = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(values.len(), shape.iter().product::<usize>());
    (shape, values)
}

/// A fixture as a 4-D tensor on `device`.
pub fn npy_tensor(name: &str, device: &Device) -> Tensor<4> {
    let (shape, values) = read_npy(name);
    let shape: [usize; 4] = shape.try_into().unwrap();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The values of a tensor.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

/// `max|a - b| / max|reference|`, the fixtures' suggested measure.
pub fn relative_error(actual: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(actual.len(), reference.len());
    let diff = actual
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let scale = reference.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    diff / scale
}

/// Asserts that `actual` matches the fixture `name` within relative `tolerance`.
pub fn assert_matches_fixture<const D: usize>(actual: Tensor<D>, name: &str, tolerance: f32) {
    let (shape, reference) = read_npy(name);
    assert_eq!(actual.dims().to_vec(), shape, "{name}: shape");
    let error = relative_error(&values(actual), &reference);
    eprintln!("{name}: relative error {error:.3e}");
    assert!(
        error <= tolerance,
        "{name}: relative error {error:.3e} > {tolerance:.0e}"
    );
}

/// A fresh temporary directory for one test.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("p2p-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The bundled sketches dataset.
pub fn sketches() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample_pairs/sketches")
}

/// A tiny run on the sketches: 32 px, U-Net depth 5, width 4.
pub fn tiny_run(max_steps: u64) -> RunConfig {
    RunOptions {
        ngf: 4,
        ndf: 4,
        n_layers_d: 2,
        seed: 5,
        n_epochs: 1,
        n_epochs_decay: 1,
        preview_every_steps: 3,
        validate_every_steps: 4,
        checkpoint_every_steps: 5,
        keep_every_epochs: 1,
        preview_samples: 2,
        max_steps: Some(max_steps),
        ..RunOptions::at_size(32)
    }
    .run_config(&sketches(), Direction::AtoB, LayoutHint::Auto)
}
