//! pix2pix-studio: image-to-image translation with conditional GANs (Isola et al., CVPR 2017),
//! faithful to the reference PyTorch implementation, on burn.
//!
//! The modules are layers; each imports only the layers below it (checked by
//! `tests/integration/layering.rs`):
//!
//! 0. [`error`]: the error every layer returns.
//! 1. [`platform`]: the compute device, the CPU kernels, counted reads, atomic writes, the
//!    assets in the binary.
//! 2. [`util`]: seeded random streams, statistics, picture sheets.
//! 3. [`data`]: paired datasets; [`model`]: the networks and PyTorch weight interop;
//!    [`samples`]: the generated `sample_pairs/`.
//! 4. [`config`]: a run's configuration, options, schedule and run folder.
//! 5. [`training`]: losses, Adam, one step, checkpoints; [`inference`]: translating images
//!    (tiles, shared statistics, output files).
//! 6. [`insight`]: validation, the checkpoint gallery, verdict maps, run comparison;
//!    [`onnx`]: the generator as an ONNX graph.
//! 7. [`worker`]: the thread that owns the tensors, driven by commands, reporting events.
//! 8. [`app`]: the desktop GUI (eframe/egui). The CLI is the binary's `cli` module.

pub mod app;
pub mod config;
pub mod data;
pub mod error;
pub mod inference;
pub mod insight;
pub mod model;
pub mod onnx;
pub mod platform;
pub mod samples;
pub mod training;
pub mod util;
pub mod worker;

pub use error::{Error, Result};
