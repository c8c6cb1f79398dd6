//! A `.pth` file (zip or legacy pickle) loaded as `translate -m FILE` loads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pix2pix_studio::inference::{ModelSource, Translator};

fuzz_target!(|bytes: &[u8]| {
    // The reader takes a path: one file per fuzzing process, rewritten for each input.
    let path = std::env::temp_dir().join(format!("p2p-fuzz-{}.pth", std::process::id()));
    if std::fs::write(&path, bytes).is_ok() {
        let source = ModelSource::Weights {
            path,
            architecture: None,
        };
        let _ = Translator::load(&source, &burn::tensor::Device::flex());
    }
});
