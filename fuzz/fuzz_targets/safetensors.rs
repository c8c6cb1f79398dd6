//! A `.safetensors` file read, its architecture inferred, and a generator built from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pix2pix_studio::inference::infer_architecture;
use pix2pix_studio::model::pytorch::{StateDict, generator_from_dict};

fuzz_target!(|bytes: &[u8]| {
    let name = std::path::Path::new("input.safetensors");
    if let Ok(dict) = StateDict::from_safetensors(bytes, name)
        && let Ok(config) = infer_architecture(&dict, name)
    {
        let _ = generator_from_dict(dict, &config, &burn::tensor::Device::flex());
    }
});
