//! The app's logic: what the worker's events, the background threads' results, dropped files
//! and keyboard shortcuts change in its state. Answers to translations go through the registry
//! of pending requests to the view that asked.

use std::path::PathBuf;

use image::DynamicImage;

use super::StudioApp;
use super::actions::UiAction;
use super::background::{ModelTarget, Outcome, Purpose};
use super::requests::Requester;
use super::run_view::RunState;
use super::state::{ModelPick, Tab};
use crate::worker::Event;

/// A translated file's outcome, as the worker reports it.
type FileOutcome = (PathBuf, Result<PathBuf, String>);

impl StudioApp {
    /// A worker thread that ended (a bug: every command's panic is caught) is said so and
    /// replaced, and whatever waited on it is released: an active run becomes failed, pending
    /// translations are dropped. The run's checkpoints on disk are untouched.
    pub(super) fn check_worker(&mut self) {
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
        self.requests.clear();
        self.sketch.dirty = false;
        self.status.error = Some(message);
        // The new worker looks for the device again.
        self.device.forget();
    }

    /// Takes one event from the worker.
    #[allow(
        clippy::too_many_lines,
        reason = "one arm per worker Event: the match lists every one, so a new event is not \
                  forgotten here"
    )]
    pub(super) fn on_event(&mut self, event: Event) {
        match event {
            Event::Translated {
                id,
                images,
                files,
                millis,
            } => self.on_translated(id, images, &files, millis),
            Event::TranslateProgress { id, done, total } => {
                self.requests.progress(id, done, total);
            }
            Event::TileProgress { id, done, total } => {
                self.requests.tile_progress(id, done, total);
            }
            Event::TranslateFailed { id, message } => {
                match self.requests.answered(id) {
                    Some(
                        Requester::TranslateTab { .. }
                        | Requester::FolderJob { .. }
                        | Requester::Judge { .. },
                    ) => {
                        self.translate.message = Some(Err(message.clone()));
                    }
                    Some(Requester::ModeCell { .. }) => {
                        // One failure fails the grid: the other cells are not waited for.
                        self.requests
                            .supersede(|requester| matches!(requester, Requester::ModeCell { .. }));
                        self.translate.modes = None;
                        self.translate.message = Some(Err(message.clone()));
                    }
                    Some(Requester::Sketch { .. }) => {
                        self.sketch.dirty = false;
                        self.sketch.error = Some(message.clone());
                    }
                    Some(Requester::Gallery) => self.gallery.failed(message.clone()),
                    None => {}
                }
                self.status.error = Some(message);
            }
            Event::GalleryListed {
                id,
                checkpoints,
                header,
            } => {
                if self.requests.is_waiting(id) {
                    self.gallery.listed(checkpoints, *header);
                }
            }
            Event::CheckpointScored { id, index, score } => {
                if self.requests.is_waiting(id) {
                    self.gallery.scored(index, score.map(|score| *score));
                }
            }
            Event::GalleryScored { id, millis } => {
                if self.requests.answered(id).is_some() {
                    self.gallery.done(millis);
                }
            }
            Event::Judged { id, maps } => {
                if let Some(Requester::Judge { inputs }) = self.requests.answered(id) {
                    self.translate.message = Some(if self.translate.take_verdicts(&inputs, maps) {
                        Ok("judged by the run's discriminator: hover over a map".into())
                    } else {
                        Err("the images changed while they were judged; judge again".into())
                    });
                }
            }
            Event::BestChosen {
                run_dir: _,
                checkpoint,
            } => {
                self.gallery.best_chosen(&checkpoint);
                self.status.message = Some(format!("best checkpoint: {}", checkpoint.display()));
            }
            Event::Rejected { command, reason } if command == "MakeBest" => {
                self.gallery.message = Some(Err(reason.clone()));
                self.status.error = Some(format!("{command} refused: {reason}"));
            }
            Event::DeviceSelected { choice, outcome } => {
                if let Some(error) = self.device.selected(choice, outcome) {
                    self.status.error = Some(error);
                }
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

    /// A translation's result, to whoever asked for it (nobody, if it was superseded).
    fn on_translated(
        &mut self,
        id: u64,
        images: Vec<DynamicImage>,
        files: &[FileOutcome],
        millis: u64,
    ) {
        match self.requests.answered(id) {
            Some(Requester::TranslateTab { inputs }) => {
                let count = images.len();
                self.translate.message = Some(if self.translate.take_outputs(&inputs, images) {
                    Ok(format!("translated {count} image(s) in {millis} ms"))
                } else {
                    Err("the images changed while they were translated; translate again".into())
                });
            }
            Some(Requester::FolderJob { .. }) => {
                self.translate.message = Some(folder_job_summary(files, millis));
            }
            Some(Requester::ModeCell { path, cell }) => {
                if let Some(image) = images.into_iter().next() {
                    self.translate.take_mode(&path, cell, image);
                }
            }
            Some(Requester::Judge { .. } | Requester::Gallery) => {}
            Some(Requester::Sketch { sent }) => {
                if let Some(image) = images.into_iter().next() {
                    let round_trip = sent.elapsed().as_millis() as u64;
                    self.sketch.set_result(image, round_trip, millis);
                    if let (Some(stats), RunState::Training) =
                        (&mut self.frame_stats, &self.run.state)
                    {
                        stats.sketch_round_trip(round_trip, millis);
                    }
                }
                if std::mem::take(&mut self.sketch.dirty) {
                    self.translate_sketch();
                }
            }
            None => {}
        }
    }

    /// Takes one result of the background threads.
    pub(super) fn on_outcome(&mut self, ctx: &egui::Context, outcome: Outcome) {
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
                        self.sketch.example_shown = false;
                        self.translate_sketch();
                    }
                    Some((_, Err(message))) => self.status.error = Some(message),
                    None => {}
                },
                _ => {
                    // New images supersede a translation of the old ones still in flight.
                    self.requests.supersede_translate_tab();
                    self.translate.set_inputs(images);
                }
            },
            Outcome::Augmented { generation, result } => {
                self.data.augmented_loaded(ctx, generation, result);
            }
            Outcome::RunsRead { generation, runs } => self.compare.runs_read(generation, runs),
            Outcome::Saved(Ok(message)) => self.status.message = Some(message),
            Outcome::Saved(Err(message)) => {
                self.status.error = Some(format!("saving failed: {message}"))
            }
        }
    }

    /// A dialog's answer fills the field it was opened for.
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
            Purpose::GalleryRun => self.settings.gallery_run = text,
            Purpose::CompareRun => self.add_compared_run(text),
        }
    }

    /// Adds a run folder to the Compare tab (once) and reads the runs again.
    fn add_compared_run(&mut self, dir: String) {
        if !self.settings.compare_runs.contains(&dir) {
            self.settings.compare_runs.push(dir);
        }
        self.actions.push(UiAction::ReadComparedRuns);
    }

    fn model_pick(&mut self, target: ModelTarget) -> &mut ModelPick {
        match target {
            ModelTarget::Translate => &mut self.settings.translate_model,
            ModelTarget::Sketch => &mut self.settings.sketch_model,
        }
    }

    /// A folder dropped on the Data tab (or anywhere but the other tabs) is the dataset; files
    /// dropped on Translate are inputs; a picture dropped on Sketch starts the sketch.
    pub(super) fn on_dropped(&mut self, paths: Vec<PathBuf>) {
        match self.settings.tab {
            Tab::Translate => self.actions.push(UiAction::LoadTranslateInputs(paths)),
            Tab::Sketch => {
                if let Some(first) = paths.into_iter().next() {
                    self.actions.push(UiAction::LoadSketchImage(first));
                }
            }
            Tab::Checkpoints => {
                if let Some(folder) = paths.into_iter().find(|path| path.is_dir()) {
                    self.settings.gallery_run = folder.display().to_string();
                    self.actions.push(UiAction::OpenGallery(folder));
                }
            }
            Tab::Compare => {
                for folder in paths.into_iter().filter(|path| path.is_dir()) {
                    self.add_compared_run(folder.display().to_string());
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

    /// Ctrl+1..6 switch tabs, Ctrl+Enter starts training, Ctrl+Q quits.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        let quit = ctx.input_mut(|input| {
            let tab_keys = [
                egui::Key::Num1,
                egui::Key::Num2,
                egui::Key::Num3,
                egui::Key::Num4,
                egui::Key::Num5,
                egui::Key::Num6,
            ];
            for (key, tab) in tab_keys.into_iter().zip(Tab::ALL) {
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
}

/// "wrote N image(s) in T s", or the failures with their reasons.
fn folder_job_summary(files: &[FileOutcome], millis: u64) -> Result<String, String> {
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
    if failed.is_empty() {
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
    }
}
