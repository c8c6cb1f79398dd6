//! One file per tab, plus the status bar and the model chooser they share. Each tab is a
//! [`Panel`]: it draws from its own state and what [`PanelCtx`] lends it, and says what should
//! happen as [`UiAction`]s, which the app applies after the frame.

pub mod checkpoints;
pub mod compare;
pub mod data;
pub mod model_pick;
pub mod sketch;
pub mod sketch_model;
pub mod status;
pub mod train;
pub mod translate;
pub mod verdict_view;

use crate::app::actions::UiAction;
use crate::app::background::Background;
use crate::app::device_status::DeviceStatus;
use crate::app::requests::PendingRequests;
use crate::app::run_view::RunView;
use crate::app::state::Settings;

/// What a panel may read or change besides its own state during a frame.
pub struct PanelCtx<'a> {
    /// The persisted settings (the forms edit them in place).
    pub settings: &'a mut Settings,
    /// The training run as the UI sees it.
    pub run: &'a RunView,
    /// Translations in flight (for spinners and progress).
    pub requests: &'a PendingRequests,
    /// The compute device in words.
    pub device: &'a DeviceStatus,
    /// The background threads (dialogs, discovery, thumbnails).
    pub background: &'a Background,
    /// What the panel decided; applied after the frame.
    pub actions: &'a mut Vec<UiAction>,
}

/// A tab (or bar) of the window, as egui's demo `View`.
pub trait Panel {
    /// Draws the panel into `ui`.
    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut PanelCtx<'_>);
}
