//! The desktop app (eframe/egui): Data, Train, Translate, Sketch, Checkpoints and Compare tabs
//! over the worker. The
//! UI thread never waits: worker events and background results are drained on a time budget
//! each frame, slow work runs on named threads, and the worker wakes the UI when it reports.
//!
//! A frame reads top to bottom in `studio.rs`: [`StudioApp::pump`] takes what arrived (the
//! logic in `events.rs`), [`StudioApp::ui`] lets each tab's `Panel` draw and queue
//! `UiAction`s, and `commands.rs` applies them (worker commands, dialogs, jobs; the Sketch
//! tab's in `sketch_commands.rs`).

mod actions;
mod background;
mod commands;
mod device_status;
mod events;
mod frame_stats;
mod inspection;
mod panels;
mod requests;
mod run_view;
mod sketch;
mod sketch_commands;
mod state;
mod studio;
mod textures;
mod window;
mod worker_port;

pub use self::frame_stats::FrameStats;
pub use self::panels::compare::ComparedRun;
pub use self::run_view::{RunState, RunView};
pub use self::sketch::{Sketch, Tool};
pub use self::state::{ModelChoice, Preset, Settings, Tab, TrainForm};
pub use self::studio::StudioApp;
pub use self::window::run;
pub use self::worker_port::WorkerPort;
