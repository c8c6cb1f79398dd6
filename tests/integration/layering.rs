//! The house rules that a reader cannot see from one file, checked over `src/`. The library is in
//! layers, one folder each, and every import points down: a file imports files of its own
//! folder or of a lower layer, never a higher one and never another folder of its own layer, and
//! no files import each other in a circle. The imports are read as paths
//! ([`import_graph`](super::import_graph)), not matched as text. Besides: the app never calls
//! burn; unsafe code stays in the two audited foreign calls; nothing takes burn's default device.
//! (Only `platform/device.rs` and `platform/kernels/` make devices: clippy's
//! `disallowed-methods` checks that one.)
//!
//! `PIX2PIX_LAYERING_SRC` points the layer tests at another checkout's `src/`, to see them fail
//! on a tree that breaks the rules.

use std::path::{Path, PathBuf};

use crate::import_graph::{ImportGraph, SourceFile, library_sources, source_file};

/// The layers, lowest first: a folder (or root file) and its rank. Same rank, different folder:
/// neither may import the other.
const LAYERS: &[(&str, usize)] = &[
    ("error", 0),
    ("lib", 1),
    ("platform", 1),
    ("util", 2),
    ("data", 3),
    ("model", 3),
    ("samples", 3),
    ("config", 4),
    ("training", 5),
    ("inference", 5),
    ("insight", 6),
    ("onnx", 6),
    ("worker", 7),
    ("app", 8),
];

fn src_dir() -> PathBuf {
    std::env::var_os("PIX2PIX_LAYERING_SRC").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"),
        PathBuf::from,
    )
}

/// A file's layer: its top folder, or its own name (without `.rs`) at the root, so that a
/// module written as one file (`inference.rs`) is held to its folder's rules.
fn folder(name: &str) -> &str {
    let top = name.split('/').next().unwrap_or(name);
    top.strip_suffix(".rs").unwrap_or(top)
}

fn rank(name: &str) -> Option<usize> {
    let folder = folder(name);
    LAYERS
        .iter()
        .find(|(layer, _)| *layer == folder)
        .map(|&(_, rank)| rank)
}

/// Where `graph` breaks the layering: each file outside every layer, and each import that points
/// up or sideways.
fn layer_violations(graph: &ImportGraph) -> Vec<String> {
    let mut violations = Vec::new();
    for (file, targets) in &graph.edges {
        let Some(from) = rank(file) else {
            violations.push(format!("src/{file} is in no layer"));
            continue;
        };
        for target in targets {
            let to = rank(target).unwrap_or(usize::MAX);
            if folder(file) != folder(target) && to >= from {
                violations.push(format!(
                    "src/{file} (layer {from}) imports src/{target} (layer {to})"
                ));
            }
        }
    }
    violations
}

fn graph() -> ImportGraph {
    ImportGraph::of(&library_sources(&src_dir()))
}

#[test]
fn every_import_points_down_the_layers() {
    let violations = layer_violations(&graph());
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let cycle = graph().find_cycle();
    assert!(
        cycle.is_none(),
        "import cycle: {}",
        cycle.unwrap_or_default().join(" -> ")
    );
}

/// What files of `from_folder` reach, through any chain of imports, in `to_folders`.
fn reached(graph: &ImportGraph, from_folder: &str, to_folders: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in graph.edges.keys().filter(|f| folder(f) == from_folder) {
        for target in graph.reachable(file) {
            if to_folders.contains(&folder(&target)) {
                found.push(format!("src/{file} reaches src/{target}"));
            }
        }
    }
    found
}

#[test]
fn inference_never_reaches_training() {
    // Translating with a model needs no training code: the app's Translate tab and
    // `translate` load run folders through config/run_folder.rs, not training/checkpoint.rs.
    let found = reached(&graph(), "inference", &["training"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_platform_imports_no_domain_module() {
    let graph = graph();
    for (file, targets) in graph.edges.iter().filter(|(f, _)| folder(f) == "platform") {
        for target in targets {
            assert!(
                matches!(folder(target), "platform" | "error"),
                "src/{file} imports src/{target}"
            );
        }
    }
}

#[test]
fn data_and_the_model_never_reach_the_config() {
    let graph = graph();
    let mut found = reached(&graph, "data", &["config"]);
    found.extend(reached(&graph, "model", &["config"]));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn nothing_below_the_worker_reaches_the_worker_or_the_app() {
    let graph = graph();
    let below: Vec<&str> = LAYERS
        .iter()
        .filter(|&&(_, r)| r < 7)
        .map(|&(layer, _)| layer)
        .collect();
    let mut found = Vec::new();
    for layer in below {
        found.extend(reached(&graph, layer, &["worker", "app"]));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The checker on a small tree with the faults this crate once had: a config importing the model
/// configs that read their defaults back from it, inference reaching training through the
/// config, a re-export hiding where a name lives, grouped and nested use trees, `super` inside an
/// inline module, and a path written in code.
#[test]
fn the_layer_checker_sees_through_groups_reexports_and_inline_paths() {
    let files: Vec<SourceFile> = [
        (
            "lib.rs",
            "pub mod config; pub mod model; pub mod inference; pub mod training;",
        ),
        ("config/mod.rs", "pub mod run;\npub use run::RunOptions;"),
        (
            "config/run.rs",
            "use crate::{model::{self, generator::Unet}, training::schedule::Schedule};\n\
             pub struct RunOptions;",
        ),
        ("model/mod.rs", "pub mod generator;"),
        (
            "model/generator.rs",
            "#[config(default = \"x\")]\nfn width() -> usize { crate::config::RunOptions::ngf() }",
        ),
        ("training/mod.rs", "pub mod schedule;"),
        ("training/schedule.rs", "pub struct Schedule;"),
        (
            "inference/mod.rs",
            "use crate::config::run;\nmod inner { use super::super::error; }",
        ),
        (
            "error.rs",
            "mod probe { use super::Error; }\npub enum Error {}",
        ),
    ]
    .iter()
    .map(|(name, text)| source_file(name, text))
    .collect();
    let graph = ImportGraph::of(&files);
    let edges = |file: &str| graph.edges[file].iter().cloned().collect::<Vec<_>>();
    assert_eq!(
        edges("config/run.rs"),
        ["model/generator.rs", "model/mod.rs", "training/schedule.rs"]
    );
    assert_eq!(edges("model/generator.rs"), ["config/run.rs"]);
    assert_eq!(edges("inference/mod.rs"), ["config/run.rs", "error.rs"]);
    assert!(edges("error.rs").is_empty());
    let cycle = graph.find_cycle().expect("config <-> model is a cycle");
    assert!(cycle.contains(&"config/run.rs".to_string()), "{cycle:?}");
    assert!(
        reached(&graph, "inference", &["training"])
            .iter()
            .any(|found| found.ends_with("src/training/schedule.rs"))
    );
    let violations = layer_violations(&graph);
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("src/model/generator.rs (layer 3) imports src/config/run.rs")),
        "{violations:?}"
    );
}

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
fn the_app_never_calls_burn() {
    for (name, code) in sources() {
        if name.starts_with("app/") {
            assert!(!code.contains("burn::"), "src/{name} calls burn");
        }
    }
}

#[test]
fn unsafe_code_lives_only_behind_the_two_audited_calls() {
    // `unsafe_code` is denied crate-wide; two places lift it for one foreign call each, with the
    // argument for its soundness beside it: the allocator's option (main.rs) and the matrix
    // product on checked slices (platform/kernels/gemm.rs).
    for (name, code) in sources() {
        let allowed = matches!(name.as_str(), "main.rs" | "platform/kernels/gemm.rs");
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
