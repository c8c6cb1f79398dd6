//! [`StudioApp`]: the app's state and one frame, read top to bottom: [`StudioApp::pump`] takes
//! what arrived (the logic in `events.rs`), [`StudioApp::ui`] lets each tab's `Panel` draw and
//! queue `UiAction`s, and `commands.rs` applies them.

use image::DynamicImage;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::actions::UiAction;
use super::background::Background;
use super::device_status::DeviceStatus;
use super::frame_stats::FrameStats;
use super::panels::checkpoints::GalleryView;
use super::panels::compare::{CompareView, ComparedRun};
use super::panels::data::DataView;
use super::panels::sketch::SketchView;
use super::panels::status::StatusLine;
use super::panels::train::TrainView;
use super::panels::translate::TranslateView;
use super::panels::{self, Panel, PanelCtx};
use super::requests::PendingRequests;
use super::run_view::{RunState, RunView};
use super::sketch::Sketch;
use super::state::{Settings, Tab};
use super::worker_port::WorkerPort;

/// The frame rate asked for while frame times are measured (`--frame-log`): 30 per second.
pub(super) const FRAME_LOG_INTERVAL: Duration = Duration::from_millis(33);
/// Time per frame spent taking worker events; the rest waits for the next frame.
pub(super) const EVENT_BUDGET: Duration = Duration::from_millis(4);

/// The app: persisted settings, the worker, and each tab's runtime state.
pub struct StudioApp {
    pub(super) settings: Settings,
    pub(super) worker: Box<dyn WorkerPort>,
    pub(super) background: Background,
    pub(super) device: DeviceStatus,
    pub(super) run: RunView,
    pub(super) requests: PendingRequests,
    pub(super) data: DataView,
    pub(super) train: TrainView,
    pub(super) translate: TranslateView,
    pub(super) sketch: SketchView,
    pub(super) gallery: GalleryView,
    pub(super) compare: CompareView,
    pub(super) status: StatusLine,
    pub(super) actions: Vec<UiAction>,
    pub(super) frame_stats: Option<FrameStats>,
}

impl StudioApp {
    /// The app over a worker; reads the dataset folder of the settings at once, and has the
    /// worker look for the settings' device.
    pub fn new(
        settings: Settings,
        worker: Box<dyn WorkerPort>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let mut sketch = SketchView::default();
        let sheet = panels::sketch::sheet_color(settings.palette_mode);
        sketch.sketch.set_background(sheet);
        let mut actions = Vec::new();
        if !settings.dataset_dir.trim().is_empty() {
            actions.push(UiAction::Discover);
        }
        if !settings.compare_runs.is_empty() {
            actions.push(UiAction::ReadComparedRuns);
        }
        let mut app = Self {
            settings,
            worker,
            background: Background::new(wake),
            device: DeviceStatus::default(),
            run: RunView::default(),
            requests: PendingRequests::default(),
            data: DataView::default(),
            train: TrainView::default(),
            translate: TranslateView::default(),
            sketch,
            gallery: GalleryView::default(),
            compare: CompareView::default(),
            status: StatusLine::default(),
            actions,
            frame_stats: None,
        };
        app.select_device();
        app
    }

    /// Starts the Sketch tab from the chosen model's first example drawing, translated: what
    /// the window shows on launch.
    pub fn start_with_an_example(&mut self) {
        self.actions.push(UiAction::LoadSketchExample);
    }

    /// Takes worker events (on a time budget), background results and dropped files. Call once
    /// per frame before [`Self::ui`].
    pub fn pump(&mut self, ctx: &egui::Context) {
        self.check_worker();
        let started = Instant::now();
        while started.elapsed() < EVENT_BUDGET {
            let Some(event) = self.worker.try_recv() else {
                break;
            };
            self.on_event(event);
        }
        if started.elapsed() >= EVENT_BUDGET {
            ctx.request_repaint();
        }
        while let Some(outcome) = self.background.try_recv() {
            self.on_outcome(ctx, outcome);
        }
        let dropped: Vec<PathBuf> = ctx.input(|input| {
            let files = input.raw.dropped_files.iter();
            let paths = files.map(|file| file.path().to_path_buf());
            paths.filter(|path| !path.as_os_str().is_empty()).collect()
        });
        if !dropped.is_empty() {
            self.on_dropped(dropped);
        }
        self.apply_actions();
    }

    /// Draws the window: the tab bar, the status bar and the chosen tab; then applies what
    /// the user did.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if let Some(stats) = &mut self.frame_stats {
            // Measured while training or scoring checkpoints, asking for 30 frames a second (an
            // animation or a drag): the intervals show whether the UI keeps up while the
            // worker takes the CPU.
            if self.run.state == RunState::Training || self.requests.scoring_gallery() {
                stats.frame();
            } else {
                stats.pause();
            }
            ui.ctx().request_repaint_after(FRAME_LOG_INTERVAL);
        }
        self.shortcuts(ui.ctx());
        egui::Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong("pix2pix-studio");
                ui.separator();
                for tab in Tab::ALL {
                    ui.selectable_value(&mut self.settings.tab, tab, tab.title());
                }
            });
        });
        let tab = self.settings.tab;
        let ctx = &mut PanelCtx {
            settings: &mut self.settings,
            run: &self.run,
            requests: &self.requests,
            device: &self.device,
            background: &self.background,
            actions: &mut self.actions,
        };
        egui::Panel::bottom("status").show(ui, |ui| self.status.ui(ui, ctx));
        let panel: &mut dyn Panel = match tab {
            Tab::Data => &mut self.data,
            Tab::Train => &mut self.train,
            Tab::Translate => &mut self.translate,
            Tab::Sketch => &mut self.sketch,
            Tab::Checkpoints => &mut self.gallery,
            Tab::Compare => &mut self.compare,
        };
        if tab == Tab::Train {
            // The Train tab lays out its own side and central panels.
            panel.ui(ui, ctx);
        } else {
            egui::CentralPanel::default().show(ui, |ui| panel.ui(ui, ctx));
        }
        self.apply_actions();
    }

    /// The device in use, for people ("looking for a GPU..." until the worker answers).
    pub fn device_label(&self) -> &str {
        self.device.label()
    }

    /// The settings (what is persisted).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings, to change as the form would (the device, say).
    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// The run as the UI sees it.
    pub fn run_view(&self) -> &RunView {
        &self.run
    }

    /// The sketch being drawn.
    pub fn sketch(&self) -> &Sketch {
        &self.sketch.sketch
    }

    /// The latest translation of the sketch.
    pub fn sketch_result(&self) -> Option<&DynamicImage> {
        self.sketch.result.as_ref()
    }

    /// The runs the Compare tab overlays, as read.
    pub fn compared_runs(&self) -> &[ComparedRun] {
        &self.compare.runs
    }

    /// The last error shown in the status bar.
    pub fn status_error(&self) -> Option<&str> {
        self.status.error.as_deref()
    }
}
