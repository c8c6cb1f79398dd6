//! A run folder's JSON files (config, pointers, history) as every reader of a run reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pix2pix_studio::config::run_folder;
use pix2pix_studio::training::history::History;

fuzz_target!(|bytes: &[u8]| {
    let dir = std::env::temp_dir().join(format!("p2p-fuzz-run-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    for file in ["config.json", "latest.json", "best.json", "history.json"] {
        if std::fs::write(dir.join(file), bytes).is_err() {
            return;
        }
    }
    let _ = run_folder::read_config(&dir);
    let _ = run_folder::latest(&dir);
    let _ = run_folder::best(&dir);
    let _ = History::read(&dir);
});
