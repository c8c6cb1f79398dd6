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

mod checkpoints;
mod data;
mod data_detection;
mod engine;
mod faults;
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
mod util;
mod worker_seams;
