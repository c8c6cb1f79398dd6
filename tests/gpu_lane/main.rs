//! The GPU lane: the engine on wgpu, checked against the reference and against the CPU. One
//! process, so kernels compile once; the tests take turns on the device (see `lane.rs`).
//!
//! It needs a GPU adapter. Without a hardware GPU, Debian's software Vulkan driver (lavapipe,
//! `mesa-vulkan-drivers`) serves: slow, but it runs the same kernels, and the lane accepts it
//! explicitly where users get a refusal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "tests make the CPU device directly; they check the device rule, not follow it"
)]

mod lane;
mod parity;
#[path = "../integration/parity_checks.rs"]
mod parity_checks;
mod training;
mod translation;
#[path = "../integration/util.rs"]
mod util;
