//! An image file decoded within the app's limits and converted to the networks' channels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pix2pix_studio::data::decode::{read_header, read_image, to_channels};

fuzz_target!(|bytes: &[u8]| {
    // The format is guessed from the bytes; the extension only has to be one the app reads.
    let path = std::env::temp_dir().join(format!("p2p-fuzz-{}.png", std::process::id()));
    if std::fs::write(&path, bytes).is_ok() {
        let _ = read_header(&path);
        if let Ok(image) = read_image(&path) {
            let _ = to_channels(&image, 3);
            let _ = to_channels(&image, 1);
        }
    }
});
