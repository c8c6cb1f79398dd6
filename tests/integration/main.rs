//! The integration tests, one binary: one module per topic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "tests make the CPU device directly; they check the device rule, not follow it"
)]

mod alloc_cap;
mod checkpoints;
mod data;
mod data_detection;
mod demo_models;
mod engine;
mod faults;
mod fuzz;
mod hostile;
mod import_graph;
mod insight;
mod kernels;
mod layering;
mod model;
mod onnx_export;
mod parity;
mod parity_checks;
mod pytorch;
mod seeded;
mod sharding;
mod size_modes;
mod tiling;
mod training;
mod ui;
mod ui_insight;
mod ui_seams;
mod ui_sketch;
mod util;
mod worker_seams;

/// Every test runs on the system allocator with a per-thread watch (`alloc_cap`).
#[global_allocator]
static ALLOCATOR: alloc_cap::CappedAllocator = alloc_cap::CappedAllocator;
