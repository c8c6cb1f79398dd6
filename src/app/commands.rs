//! Command handling: the actions the panels decided during a frame, applied after it: worker
//! commands (start, stop, translate), dialogs and background jobs, and the device choice.

use std::path::{Path, PathBuf};

use super::StudioApp;
use super::actions::UiAction;
use super::background::{ModelTarget, Purpose};
use super::requests::Requester;
use super::run_view::RunState;
use super::state::CurrentRun;
use crate::data::DiscoverOptions;
use crate::inference::{ModelSource, TranslateOptions};
use crate::platform::bundled::DemoModel;
use crate::worker::{Command, TrainingRequest, TranslateInputs, TranslateRequest};

/// Image files the dialogs offer.
const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"];

impl StudioApp {
    /// Applies the actions queued this frame, then asks the worker for the form's device if it
    /// changed.
    pub(super) fn apply_actions(&mut self) {
        for action in std::mem::take(&mut self.actions) {
            self.apply(action);
        }
        self.select_device();
    }

    /// Asks the worker for the form's device when it changed (the GPU probe can take seconds:
    /// the worker runs it, never the UI thread).
    pub(super) fn select_device(&mut self) {
        if let Some(command) = self.device.ask(self.settings.train.device) {
            self.send(command);
        }
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
            UiAction::Pick(purpose) => self.pick(purpose),
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
                let images = self.translate.items.iter().map(|item| item.input.clone());
                let inputs = TranslateInputs::Images(images.collect());
                let requester = Requester::TranslateTab {
                    inputs: self.translate.input_paths(),
                };
                if self.request_translation(ModelTarget::Translate, inputs, requester) {
                    self.translate.message = None;
                }
            }
            UiAction::TranslateFolderToDisk(folder) => {
                let paths = vec![folder];
                let output_dir = PathBuf::from(self.settings.output_dir.trim());
                let inputs = TranslateInputs::Files {
                    paths,
                    output_dir,
                    names_from: None,
                    shared_statistics_from: None,
                };
                let requester = Requester::FolderJob { done: 0, total: 0 };
                if self.request_translation(ModelTarget::Translate, inputs, requester) {
                    self.translate.message = None;
                }
            }
            UiAction::SaveTranslations => {
                let results = self.translate.results();
                self.background
                    .save_images(PathBuf::from(self.settings.output_dir.trim()), results);
            }
            UiAction::SketchChanged => {
                if self.requests.sketch_in_flight() {
                    self.sketch.dirty = true;
                } else {
                    self.translate_sketch();
                }
            }
            UiAction::LoadSketchImage(path) => self
                .background
                .load_images(Purpose::SketchImage, vec![path]),
            UiAction::LoadSketchExample => self.load_sketch_example(),
            UiAction::SketchDemoChosen(demo) => self.choose_sketch_demo(demo),
            UiAction::SaveSketch => self.save_sketch(),
            UiAction::OpenGallery(run_dir) => self.open_gallery(run_dir),
            UiAction::TranslateWithCheckpoint(dir) => self.translate_with_checkpoint(dir),
            UiAction::ExportOnnx(dir) => self.background.export_onnx(dir),
            UiAction::JudgeTranslations => self.judge_translations(),
            UiAction::CompareInferenceModes => self.compare_inference_modes(),
            UiAction::ReadComparedRuns => self.read_compared_runs(),
        }
    }

    /// Sends a command; the reason it could not be sent goes to the status bar.
    pub(super) fn send(&mut self, command: Command) {
        if let Err(message) = self.worker.send(command) {
            self.status.error = Some(message);
        }
    }

    /// Opens the native dialog for `purpose` on a background thread.
    fn pick(&mut self, purpose: Purpose) {
        match purpose {
            Purpose::WeightsFile(_) => {
                let extensions = &["pth", "pt", "safetensors"];
                self.background
                    .pick_files(purpose, "PyTorch weights", extensions);
            }
            Purpose::TranslateFiles | Purpose::SketchImage => {
                self.background
                    .pick_files(purpose, "Images", &IMAGE_EXTENSIONS)
            }
            _ => self.background.pick_folder(purpose),
        }
    }

    /// Starts a run from the form (or resumes the chosen run folder), checked first.
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
    pub(super) fn current_run(&self) -> CurrentRun<'_> {
        match (self.run.state.is_active(), self.run.run_dir()) {
            (true, _) => CurrentRun::Training,
            (false, Some(dir)) => CurrentRun::Finished(dir),
            (false, None) => CurrentRun::None,
        }
    }

    /// Sends a translation with the tab's model and options and records who waits for it;
    /// false, with the reason shown, when it could not be sent.
    pub(super) fn request_translation(
        &mut self,
        target: ModelTarget,
        inputs: TranslateInputs,
        requester: Requester,
    ) -> bool {
        let options = self.settings.translate.options();
        self.request_translation_with(target, inputs, requester, options)
    }

    /// [`Self::request_translation`] under `options`.
    pub(super) fn request_translation_with(
        &mut self,
        target: ModelTarget,
        inputs: TranslateInputs,
        requester: Requester,
        options: TranslateOptions,
    ) -> bool {
        let model = match self.model_source(target) {
            Ok(model) => model,
            Err(message) => {
                match target {
                    ModelTarget::Translate => self.translate.message = Some(Err(message.clone())),
                    ModelTarget::Sketch => self.sketch.error = Some(message.clone()),
                }
                self.status.error = Some(message);
                return false;
            }
        };
        let id = self.requests.new_id();
        let request = TranslateRequest {
            id,
            model,
            inputs,
            options,
            device: self.settings.train.device,
        };
        self.send_request(id, Command::Translate(Box::new(request)), requester)
    }

    /// The model a tab's choice names; `None` is the run being trained.
    pub(super) fn model_source(&self, target: ModelTarget) -> Result<Option<ModelSource>, String> {
        let (pick, demo) = match target {
            ModelTarget::Translate => (&self.settings.translate_model, DemoModel::Sketches),
            ModelTarget::Sketch => (&self.settings.sketch_model, self.sketch_demo()),
        };
        pick.source(demo, self.current_run())
    }

    /// Sends the job `command` of request `id` and records who waits for it; false, with the
    /// reason in the status bar, when it could not be sent.
    pub(super) fn send_request(&mut self, id: u64, command: Command, requester: Requester) -> bool {
        match self.worker.send(command) {
            Ok(()) => {
                self.requests.sent(id, requester);
                true
            }
            Err(message) => {
                self.status.error = Some(message);
                false
            }
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
