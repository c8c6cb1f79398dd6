//! The desktop app (eframe/egui): Data, Train, Translate and Sketch tabs over the worker. The
//! UI thread never waits: worker events and background results are drained on a time budget
//! each frame, slow work runs on named threads, and the worker wakes the UI when it reports.

mod actions;
mod background;
mod frame_stats;
mod panels;
mod run_view;
mod sketch;
mod state;
mod textures;
mod worker_port;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::DynamicImage;

use self::actions::UiAction;
use self::background::{Background, ModelTarget, Outcome, Purpose};
pub use self::frame_stats::FrameStats;
use self::panels::data::DataView;
use self::panels::sketch::SketchView;
use self::panels::status::StatusLine;
use self::panels::train::TrainView;
use self::panels::translate::TranslateView;
pub use self::run_view::{RunState, RunView};
pub use self::sketch::{Sketch, Tool};
use self::state::CurrentRun;
pub use self::state::{ModelChoice, Preset, Settings, Tab, TrainForm};
pub use self::worker_port::WorkerPort;
use crate::bundled::DemoModel;
use crate::data::DiscoverOptions;
use crate::device::DeviceChoice;
use crate::worker::{
    Command, Event, TrainingRequest, TranslateInputs, TranslateRequest, WorkerHandle, WorkerOptions,
};

/// Progress and previews repaint the window at most this often: on a software renderer a
/// frame costs tens of milliseconds of the CPU that training needs.
const PROGRESS_REPAINT: Duration = Duration::from_millis(250);
/// The frame rate asked for while frame times are measured (`--frame-log`): 30 per second.
const FRAME_LOG_INTERVAL: Duration = Duration::from_millis(33);
/// Time per frame spent taking worker events; the rest waits for the next frame.
const EVENT_BUDGET: Duration = Duration::from_millis(4);

/// Opens the main window and blocks until it is closed. `device` replaces the device of the saved
/// settings. With `frame_log`, the interval of every frame while a run trains is recorded and
/// written there on exit (for measuring responsiveness).
pub fn run(device: Option<DeviceChoice>, frame_log: Option<PathBuf>) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("pix2pix-studio")
            .with_inner_size([1200.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "pix2pix-studio",
        options,
        Box::new(move |creation| {
            let mut settings: Settings = creation
                .storage
                .and_then(|storage| eframe::get_value(storage, eframe::APP_KEY))
                .unwrap_or_default();
            if let Some(device) = device {
                settings.train.device = device;
            }
            let ctx = creation.egui_ctx.clone();
            let worker = WorkerHandle::spawn_with(
                Arc::new(move |urgent| {
                    if urgent {
                        ctx.request_repaint();
                    } else {
                        ctx.request_repaint_after(PROGRESS_REPAINT);
                    }
                }),
                WorkerOptions {
                    background_priority: true,
                },
            )?;
            let ctx = creation.egui_ctx.clone();
            let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || ctx.request_repaint());
            let mut app = StudioApp::new(settings, Box::new(worker), wake);
            app.frame_stats = frame_log.map(FrameStats::new);
            Ok(Box::new(app))
        }),
    )
}

/// The app: persisted settings, the worker, and each tab's runtime state.
pub struct StudioApp {
    settings: Settings,
    worker: Box<dyn WorkerPort>,
    background: Background,
    /// The device choice last sent to the worker to resolve, and what it resolved to.
    device_asked: Option<DeviceChoice>,
    device_label: String,
    device_note: Option<String>,
    run: RunView,
    data: DataView,
    train: TrainView,
    translate: TranslateView,
    sketch: SketchView,
    status: StatusLine,
    actions: Vec<UiAction>,
    next_request: u64,
    frame_stats: Option<FrameStats>,
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
        sketch
            .sketch
            .set_background(panels::sketch::sheet_color(settings.palette_mode));
        let mut app = Self {
            settings,
            worker,
            background: Background::new(wake),
            device_asked: None,
            device_label: String::new(),
            device_note: None,
            run: RunView::default(),
            data: DataView::default(),
            train: TrainView::default(),
            translate: TranslateView::default(),
            sketch,
            status: StatusLine::default(),
            actions: vec![UiAction::Discover],
            next_request: 1,
            frame_stats: None,
        };
        if app.settings.dataset_dir.trim().is_empty() {
            app.actions.clear();
        }
        app.select_device();
        app
    }

    /// The device in use, for people ("looking for a GPU..." until the worker answers).
    pub fn device_label(&self) -> &str {
        &self.device_label
    }

    /// Asks the worker for the form's device when it changed (the GPU probe can take seconds:
    /// the worker runs it, never the UI thread).
    fn select_device(&mut self) {
        let choice = self.settings.train.device;
        if self.device_asked == Some(choice) {
            return;
        }
        self.device_asked = Some(choice);
        self.device_label = match choice {
            DeviceChoice::Cpu => "CPU".into(),
            DeviceChoice::Auto | DeviceChoice::Gpu => "looking for a GPU...".into(),
        };
        self.device_note = None;
        self.send(Command::SelectDevice(choice));
    }

    fn on_device_selected(
        &mut self,
        choice: DeviceChoice,
        outcome: Result<crate::worker::DeviceReport, String>,
    ) {
        if self.device_asked != Some(choice) {
            return;
        }
        match outcome {
            Ok(report) => {
                self.device_label = report.info.to_string();
                self.device_note = report.fallback_reason;
            }
            Err(reason) => {
                self.device_label = "no GPU".into();
                self.status.error = Some(format!("device `{choice}`: {reason}"));
                self.device_note = Some(reason);
            }
        }
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

    /// The last error shown in the status bar.
    pub fn status_error(&self) -> Option<&str> {
        self.status.error.as_deref()
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
            input
                .raw
                .dropped_files
                .iter()
                .map(|file| file.path().to_path_buf())
                .filter(|path| !path.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            self.on_dropped(dropped);
        }
        self.apply_actions();
    }

    /// A worker thread that ended (a bug: every command's panic is caught) is said so and
    /// replaced, and whatever waited on it is released: an active run becomes failed, pending
    /// translations are dropped. The run's checkpoints on disk are untouched.
    fn check_worker(&mut self) {
        if self.worker.is_alive() {
            return;
        }
        let message = match self.worker.restart() {
            Ok(()) => "the worker stopped unexpectedly and was restarted; the run's last \
                       checkpoint is kept (resume it from the Train tab)"
                .to_string(),
            Err(err) => format!("the worker stopped unexpectedly and could not restart: {err}"),
        };
        if self.run.state.is_active() {
            self.run.state = RunState::Failed;
            self.run.last_error = Some(message.clone());
        }
        self.translate.pending = None;
        self.translate.folder_job = None;
        self.sketch.in_flight = None;
        self.sketch.dirty = false;
        self.status.error = Some(message);
        // The new worker looks for the device again.
        self.device_asked = None;
    }

    /// Draws the window and applies what the user did.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if let Some(stats) = &mut self.frame_stats {
            // Measured while training, asking for 30 frames a second (an animation or a drag):
            // the intervals show whether the UI keeps up while training takes the CPU.
            if self.run.state == RunState::Training {
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
        egui::Panel::bottom("status").show(ui, |ui| {
            panels::status::status_ui(
                ui,
                &mut self.status,
                &self.run,
                &self.device_label,
                self.device_note.as_deref(),
            );
        });
        let actions = &mut self.actions;
        match self.settings.tab {
            Tab::Train => {
                let device = match &self.device_note {
                    Some(note) => format!("{} (no GPU: {note})", self.device_label),
                    None => self.device_label.clone(),
                };
                panels::train::train_ui(
                    ui,
                    &mut self.settings,
                    &self.run,
                    &mut self.train,
                    &device,
                    actions,
                );
            }
            tab => {
                egui::CentralPanel::default().show(ui, |ui| match tab {
                    Tab::Data => panels::data::data_ui(
                        ui,
                        &mut self.settings,
                        &mut self.data,
                        &self.background,
                        actions,
                    ),
                    Tab::Translate => panels::translate::translate_ui(
                        ui,
                        &mut self.settings,
                        &mut self.translate,
                        actions,
                    ),
                    Tab::Sketch | Tab::Train => {
                        panels::sketch::sketch_ui(ui, &mut self.settings, &mut self.sketch, actions)
                    }
                });
            }
        }
        self.apply_actions();
    }

    /// Ctrl+1..4 switch tabs, Ctrl+Enter starts training, Ctrl+Q quits.
    fn shortcuts(&mut self, ctx: &egui::Context) {
        let quit = ctx.input_mut(|input| {
            for (key, tab) in [
                egui::Key::Num1,
                egui::Key::Num2,
                egui::Key::Num3,
                egui::Key::Num4,
            ]
            .into_iter()
            .zip(Tab::ALL)
            {
                if input.consume_key(egui::Modifiers::COMMAND, key) {
                    self.settings.tab = tab;
                }
            }
            if input.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter)
                && !self.run.state.is_active()
            {
                self.settings.tab = Tab::Train;
                self.actions.push(UiAction::StartTraining { resume: false });
            }
            input.consume_key(egui::Modifiers::COMMAND, egui::Key::Q)
        });
        if quit {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Translated {
                id,
                images,
                files,
                millis,
            } => {
                if self.translate.is_pending(id) {
                    let count = images.len();
                    self.translate.message = Some(if self.translate.take_outputs(id, images) {
                        Ok(format!("translated {count} image(s) in {millis} ms"))
                    } else {
                        Err("the images changed while they were translated; translate again".into())
                    });
                } else if self
                    .translate
                    .folder_job
                    .is_some_and(|(job, _, _)| job == id)
                {
                    self.translate.folder_job = None;
                    let failed: Vec<String> = files
                        .iter()
                        .filter_map(|(path, result)| {
                            result
                                .as_ref()
                                .err()
                                .map(|err| format!("{}: {err}", path.display()))
                        })
                        .collect();
                    let written = files.len() - failed.len();
                    self.translate.message = Some(if failed.is_empty() {
                        Ok(format!(
                            "wrote {written} image(s) in {:.1} s",
                            millis as f64 / 1000.0
                        ))
                    } else {
                        Err(format!(
                            "wrote {written}, {} failed: {}",
                            failed.len(),
                            failed.join("; ")
                        ))
                    });
                } else if self
                    .sketch
                    .in_flight
                    .is_some_and(|(pending, _)| pending == id)
                {
                    if let Some(image) = images.into_iter().next() {
                        self.sketch.set_result(image, millis);
                        if let (Some(stats), Some((round_trip, worker)), RunState::Training) = (
                            &mut self.frame_stats,
                            self.sketch.latency_ms,
                            &self.run.state,
                        ) {
                            stats.sketch_round_trip(round_trip, worker);
                        }
                    }
                    if std::mem::take(&mut self.sketch.dirty) {
                        self.translate_sketch();
                    }
                }
            }
            Event::DeviceSelected { choice, outcome } => self.on_device_selected(choice, outcome),
            Event::TranslateProgress { id, done, total } => {
                if let Some(job) = &mut self.translate.folder_job
                    && job.0 == id
                {
                    *job = (id, done, total);
                }
            }
            Event::TranslateFailed { id, message } => {
                if self.translate.is_pending(id)
                    || self.translate.folder_job.is_some_and(|job| job.0 == id)
                {
                    self.translate.pending = None;
                    self.translate.folder_job = None;
                    self.translate.message = Some(Err(message.clone()));
                } else if self
                    .sketch
                    .in_flight
                    .is_some_and(|(pending, _)| pending == id)
                {
                    self.sketch.in_flight = None;
                    self.sketch.dirty = false;
                    self.sketch.error = Some(message.clone());
                }
                self.status.error = Some(message);
            }
            event => {
                match &event {
                    Event::Failed { message } => self.status.error = Some(message.clone()),
                    Event::Rejected { command, reason } => {
                        self.status.error = Some(format!("{command} refused: {reason}"));
                    }
                    Event::CheckpointSaved { path, step, .. } => {
                        self.status.message = Some(format!(
                            "checkpoint saved at step {step}: {}",
                            path.display()
                        ));
                    }
                    Event::RunStarted(info) => {
                        self.status.message =
                            Some(format!("training in {}", info.run_dir.display()));
                    }
                    _ => {}
                }
                self.run.apply(event);
            }
        }
    }

    fn on_outcome(&mut self, ctx: &egui::Context, outcome: Outcome) {
        match outcome {
            Outcome::Picked { purpose, paths } => self.on_picked(purpose, paths),
            Outcome::Discovered { generation, result } => self.data.discovered(generation, result),
            Outcome::Thumbnail {
                generation,
                index,
                result,
            } => {
                self.data.thumbnail_loaded(ctx, generation, index, result);
            }
            Outcome::ImagesLoaded { purpose, images } => match purpose {
                Purpose::SketchImage => match images.into_iter().next() {
                    Some((_, Ok(picture))) => {
                        self.sketch.sketch.load(&picture);
                        self.translate_sketch();
                    }
                    Some((_, Err(message))) => self.status.error = Some(message),
                    None => {}
                },
                _ => {
                    self.translate.set_inputs(images);
                    self.translate.message = None;
                }
            },
            Outcome::Saved(Ok(message)) => self.status.message = Some(message),
            Outcome::Saved(Err(message)) => {
                self.status.error = Some(format!("saving failed: {message}"))
            }
        }
    }

    fn on_picked(&mut self, purpose: Purpose, paths: Vec<PathBuf>) {
        let Some(first) = paths.first() else {
            self.status.message = Some(
                "no file chosen (if no dialog opened, type the path into the field instead)".into(),
            );
            return;
        };
        let text = first.display().to_string();
        match purpose {
            Purpose::DatasetFolder => {
                self.settings.dataset_dir = text;
                self.actions.push(UiAction::Discover);
            }
            Purpose::ResumeFolder => self.settings.resume_dir = text,
            Purpose::CheckpointFolder(target) => self.model_pick(target).checkpoint_dir = text,
            Purpose::WeightsFile(target) => self.model_pick(target).weights_path = text,
            Purpose::TranslateFiles | Purpose::TranslateFolder => {
                self.settings.translate_inputs = text;
                self.actions.push(UiAction::LoadTranslateInputs(paths));
            }
            Purpose::OutputFolder => self.settings.output_dir = text,
            Purpose::SketchImage => self.actions.push(UiAction::LoadSketchImage(first.clone())),
        }
    }

    fn model_pick(&mut self, target: ModelTarget) -> &mut state::ModelPick {
        match target {
            ModelTarget::Translate => &mut self.settings.translate_model,
            ModelTarget::Sketch => &mut self.settings.sketch_model,
        }
    }

    /// A folder dropped on the Data tab (or anywhere but the other tabs) is the dataset; files
    /// dropped on Translate are inputs; a picture dropped on Sketch starts the sketch.
    fn on_dropped(&mut self, paths: Vec<PathBuf>) {
        match self.settings.tab {
            Tab::Translate => self.actions.push(UiAction::LoadTranslateInputs(paths)),
            Tab::Sketch => {
                if let Some(first) = paths.into_iter().next() {
                    self.actions.push(UiAction::LoadSketchImage(first));
                }
            }
            Tab::Data | Tab::Train => {
                if let Some(folder) = paths.into_iter().find(|path| path.is_dir()) {
                    self.settings.dataset_dir = folder.display().to_string();
                    self.settings.tab = Tab::Data;
                    self.actions.push(UiAction::Discover);
                } else {
                    self.status.error = Some("drop a folder to use it as the dataset".into());
                }
            }
        }
    }

    fn apply_actions(&mut self) {
        for action in std::mem::take(&mut self.actions) {
            self.apply(action);
        }
        self.select_device();
    }

    fn apply(&mut self, action: UiAction) {
        match action {
            UiAction::Send(command) => self.send(command),
            UiAction::StartTraining { resume } => self.start_training(resume),
            UiAction::StopTraining => {
                if self.worker.send(Command::Stop).is_ok() {
                    self.run.state = RunState::Stopping;
                } else {
                    self.status.error = Some("the worker is not answering; try again".into());
                }
            }
            UiAction::Pick(purpose) => match purpose {
                Purpose::WeightsFile(_) => {
                    self.background.pick_files(
                        purpose,
                        "PyTorch weights",
                        &["pth", "pt", "safetensors"],
                    );
                }
                Purpose::TranslateFiles | Purpose::SketchImage => self.background.pick_files(
                    purpose,
                    "Images",
                    &["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"],
                ),
                _ => self.background.pick_folder(purpose),
            },
            UiAction::Discover => {
                let generation = self.data.begin_discovery();
                let options = DiscoverOptions {
                    hint: self.settings.layout,
                    direction: self.settings.direction,
                    min_side_px: 0,
                };
                let root = PathBuf::from(self.settings.dataset_dir.trim());
                self.background.discover(generation, root, options);
            }
            UiAction::LoadTranslateInputs(paths) => {
                self.background.load_images(Purpose::TranslateFiles, paths)
            }
            UiAction::TranslateLoaded => {
                let images = self
                    .translate
                    .items
                    .iter()
                    .map(|item| item.input.clone())
                    .collect();
                if let Some(id) = self
                    .request_translation(ModelTarget::Translate, TranslateInputs::Images(images))
                {
                    self.translate.translation_sent(id);
                    self.translate.message = None;
                }
            }
            UiAction::TranslateFolderToDisk(folder) => {
                let paths = vec![folder];
                let output_dir = PathBuf::from(self.settings.output_dir.trim());
                let inputs = TranslateInputs::Files { paths, output_dir };
                if let Some(id) = self.request_translation(ModelTarget::Translate, inputs) {
                    self.translate.folder_job = Some((id, 0, 0));
                    self.translate.message = None;
                }
            }
            UiAction::SaveTranslations => {
                let results = self.translate.results();
                self.background
                    .save_images(PathBuf::from(self.settings.output_dir.trim()), results);
            }
            UiAction::SketchChanged => {
                if self.sketch.in_flight.is_some() {
                    self.sketch.dirty = true;
                } else {
                    self.translate_sketch();
                }
            }
            UiAction::LoadSketchImage(path) => self
                .background
                .load_images(Purpose::SketchImage, vec![path]),
            UiAction::SaveSketch => {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.as_secs());
                let mut images = vec![(
                    format!("sketch-{stamp}.png"),
                    DynamicImage::ImageRgb8(self.sketch.sketch.image().clone()),
                )];
                if let Some(result) = &self.sketch.result {
                    images.push((format!("sketch-{stamp}-translated.png"), result.clone()));
                }
                self.background
                    .save_images(PathBuf::from(self.settings.output_dir.trim()), images);
            }
        }
    }

    fn send(&mut self, command: Command) {
        if let Err(message) = self.worker.send(command) {
            self.status.error = Some(message);
        }
    }

    fn start_training(&mut self, resume: bool) {
        let dataset_dir = PathBuf::from(self.settings.dataset_dir.trim());
        let config = self.settings.train.run_config(
            &dataset_dir,
            self.settings.direction,
            self.settings.layout,
        );
        let run_dir = if resume {
            PathBuf::from(self.settings.resume_dir.trim())
        } else {
            next_run_dir(Path::new(self.settings.runs_dir.trim()), &dataset_dir)
        };
        if let Err(err) = config.validate() {
            self.status.error = Some(err.to_string());
            return;
        }
        let request = TrainingRequest {
            config,
            run_dir,
            resume,
            device: self.settings.train.device,
        };
        match self.worker.send(Command::StartTraining(Box::new(request))) {
            Ok(()) => {
                self.run.state = RunState::Starting;
                self.run.last_error = None;
                self.train.preview_index = None;
            }
            Err(message) => self.status.error = Some(format!("could not start: {message}")),
        }
    }

    /// The state of this session's run, for model choices.
    fn current_run(&self) -> CurrentRun<'_> {
        match (self.run.state.is_active(), self.run.run_dir()) {
            (true, _) => CurrentRun::Training,
            (false, Some(dir)) => CurrentRun::Finished(dir),
            (false, None) => CurrentRun::None,
        }
    }

    /// Sends a translation with the tab's model and options; the request id, or `None` with
    /// the reason shown.
    fn request_translation(&mut self, target: ModelTarget, inputs: TranslateInputs) -> Option<u64> {
        let (pick, demo) = match target {
            ModelTarget::Translate => (&self.settings.translate_model, DemoModel::Sketches),
            ModelTarget::Sketch if self.settings.palette_mode => {
                (&self.settings.sketch_model, DemoModel::Labels)
            }
            ModelTarget::Sketch => (&self.settings.sketch_model, DemoModel::Sketches),
        };
        let model = match pick.source(demo, self.current_run()) {
            Ok(model) => model,
            Err(message) => {
                match target {
                    ModelTarget::Translate => self.translate.message = Some(Err(message.clone())),
                    ModelTarget::Sketch => self.sketch.error = Some(message.clone()),
                }
                self.status.error = Some(message);
                return None;
            }
        };
        let id = self.next_request;
        self.next_request += 1;
        let request = TranslateRequest {
            id,
            model,
            inputs,
            options: self.settings.translate.options(),
            device: self.settings.train.device,
        };
        match self.worker.send(Command::Translate(Box::new(request))) {
            Ok(()) => Some(id),
            Err(message) => {
                self.status.error = Some(message);
                None
            }
        }
    }

    fn translate_sketch(&mut self) {
        let image = DynamicImage::ImageRgb8(self.sketch.sketch.image().clone());
        if let Some(id) =
            self.request_translation(ModelTarget::Sketch, TranslateInputs::Images(vec![image]))
        {
            self.sketch.in_flight = Some((id, Instant::now()));
        }
    }
}

/// `runs_dir/<dataset name>-NNN`, the first that does not exist yet.
fn next_run_dir(runs_dir: &Path, dataset_dir: &Path) -> PathBuf {
    let name = dataset_dir.file_name().map_or_else(
        || "run".to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    (1..)
        .map(|n| runs_dir.join(format!("{name}-{n:03}")))
        .find(|dir| !dir.exists())
        .unwrap_or_else(|| runs_dir.join(name))
}

impl eframe::App for StudioApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.pump(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        StudioApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn on_exit(&mut self) {
        if let Some(stats) = &self.frame_stats
            && let Err(err) = stats.write()
        {
            log::error!("{err}");
        }
    }
}
