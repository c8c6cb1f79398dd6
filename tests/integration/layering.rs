//! The house rules that a reader cannot see from one file, checked over `src/`: the engine
//! never imports the app, the app never calls burn, training never imports the worker. (Only
//! `device.rs` and `kernels/` make devices: clippy's `disallowed-methods` checks that one.)
//! Unsafe code stays in the two audited foreign calls.

use std::path::{Path, PathBuf};

fn source_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// Every source file with its text up to its unit tests (tests may use any device).
fn sources() -> Vec<(String, String)> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            let name = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (name, code)
        })
        .collect()
}

#[test]
fn the_engine_never_imports_the_app_and_the_app_never_calls_burn() {
    for (name, code) in sources() {
        if name.starts_with("app/") {
            assert!(!code.contains("burn::"), "src/{name} calls burn");
        } else if !matches!(name.as_str(), "lib.rs" | "main.rs") && !name.starts_with("cli/") {
            assert!(
                !code.contains("crate::app") && !code.contains("pix2pix_studio::app"),
                "src/{name} imports the app"
            );
        }
    }
}

#[test]
fn training_never_imports_the_worker_and_translation_never_imports_training_runs() {
    // The worker drives training (`worker/trainer.rs` is the run loop); training reports to no
    // one, so the import graph has no cycle. Translation reads run folders through
    // `run_folder`, not through the code that writes checkpoints.
    for (name, code) in sources() {
        if name.starts_with("training/") {
            assert!(
                !code.contains("crate::worker"),
                "src/{name} imports the worker"
            );
        }
        if name == "inference.rs" {
            assert!(
                !code.contains("training::checkpoint"),
                "src/{name} reads run folders through training::checkpoint"
            );
        }
    }
}

#[test]
fn unsafe_code_lives_only_behind_the_two_audited_calls() {
    // `unsafe_code` is denied crate-wide; two places lift it for one foreign call each, with the
    // argument for its soundness beside it: the allocator's option (main.rs) and the matrix
    // product on checked slices (kernels/gemm.rs).
    for (name, code) in sources() {
        let allowed = matches!(name.as_str(), "main.rs" | "kernels/gemm.rs");
        let blocks = code.matches("unsafe {").count();
        assert!(
            blocks == usize::from(allowed),
            "src/{name} has {blocks} unsafe blocks"
        );
        assert!(
            !code.contains("unsafe fn"),
            "src/{name} declares an unsafe fn"
        );
    }
}

/// burn's default device prefers wgpu: on a machine without a GPU that is a software adapter
/// (lavapipe), where SPIR-V kernels crash the process. Six ONNX and tiling tests took it and ran
/// on lavapipe in CI unseen, until the SPIR-V build crashed the test binary. Code and tests name
/// their device.
#[test]
fn nothing_uses_burns_default_device() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    source_files(&root.join("src"), &mut files);
    source_files(&root.join("tests"), &mut files);
    let pattern = ["Device::", "default()"].concat();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&pattern),
            "{} uses {pattern}",
            path.display()
        );
    }
}
