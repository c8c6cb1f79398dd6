//! pix2pix-studio: image-to-image translation with conditional GANs (Isola et al., CVPR 2017),
//! faithful to the reference PyTorch implementation, on burn.
//!
//! - [`model`]: the U-Net generator and PatchGAN discriminator, and PyTorch weight interop.
//! - [`training`]: the losses, PyTorch-exact Adam and one training step.
//! - [`data`]: paired datasets: discovery, validation, synthesis, augmentation, loading.
//! - [`samples`]: the generated `sample_pairs/` datasets.
//! - [`config`]: the training configuration.
//! - [`inference`]: translating images with a trained or imported generator.
//! - [`onnx`]: the generator exported as an ONNX graph for other runtimes.
//! - [`output_names`]: one output file per input of a translation job.
//! - [`png_file`]: PNGs that record the input they were translated from.
//! - [`shared_norm`]: one set of normalisation statistics for many tiles or frames.
//! - [`tiling`]: images of any size translated in blended tiles with one set of statistics.
//! - [`run_folder`]: a run folder's config and checkpoint pointers.
//! - [`validation`]: a run's validation pairs and a generator's score on them.
//! - [`gallery`]: a run's checkpoints scored side by side; choosing its best.
//! - [`verdict`]: the PatchGAN's per-patch verdicts on a pair, and what each patch sees.
//! - [`compare`]: several runs side by side: their differing options and scores.
//! - [`device`]: choosing a GPU (wgpu) or the CPU (flex).
//! - [`gpu_check`]: whether a GPU computes what the CPU computes.
//! - [`kernels`]: fast CPU convolutions with their own backward pass (a burn extension).
//! - [`readback`]: every device → host read, counted.
//! - [`profile`]: opt-in timings of the training step's convolutions, activations and Adam.
//! - [`mod@bench`]: the performance benchmark behind `pix2pix-studio bench`.
//! - [`worker`]: the thread that owns the tensors, driven by commands, reporting events.
//! - [`app`]: the desktop GUI (eframe/egui).
//! - [`bundled`]: where the sample data and demo models shipped with the app are.

pub mod app;
pub mod bench;
pub mod bundled;
pub mod compare;
pub mod config;
pub mod data;
pub mod device;
pub mod error;
pub mod fs;
pub mod gallery;
pub mod gpu_check;
pub mod inference;
pub mod kernels;
pub mod model;
pub mod onnx;
pub mod output_names;
pub mod png_file;
pub mod profile;
pub mod readback;
pub mod run_folder;
pub mod samples;
pub mod seed;
pub mod shard;
pub mod shared_norm;
pub mod sheet;
pub mod stats;
pub mod tiling;
pub mod training;
pub mod validation;
pub mod verdict;
pub mod worker;

pub use error::{Error, Result};
