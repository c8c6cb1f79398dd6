//! The worker, driven by [`Command`]s and reporting [`Event`]s; the GUI and the CLI are two
//! faces of it. Two named threads own every tensor: `worker` trains (`training_thread.rs`) and
//! `translate` translates beside it (`translate.rs`); the handle sends each command to its
//! thread.

pub mod handle;
mod pending_losses;
pub mod protocol;
mod run_start;
pub mod sink;
mod threads;
pub mod trainer;
mod training_thread;
mod translate;

pub use handle::WorkerHandle;
pub use protocol::{
    Command, DeviceReport, Event, GalleryRequest, JudgeRequest, Progress, RunInfo, TrainingRequest,
    TranslateInputs, TranslateRequest, Triplet, WorkerOptions,
};
