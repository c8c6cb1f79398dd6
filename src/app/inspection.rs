//! Command handling for the views that look inside models and runs: the checkpoint gallery,
//! the discriminator's judgement of translations, the inference-modes grid and the run
//! comparison. Their answers come back through `events.rs`.

use std::path::PathBuf;

use super::StudioApp;
use super::actions::UiAction;
use super::background::ModelTarget;
use super::requests::Requester;
use super::state::{ModelChoice, Tab};
use crate::inference::{ModelSource, inference_modes};
use crate::worker::{Command, GalleryRequest, JudgeRequest, TranslateInputs};

/// Dropout seeds of the inference-modes grid: three draws show how much dropout varies.
const MODE_SEEDS: [u64; 3] = [1, 2, 3];

impl StudioApp {
    /// Has the worker score every checkpoint of `run_dir` (a newer scoring supersedes one still
    /// going: its late answers are dropped).
    pub(super) fn open_gallery(&mut self, run_dir: PathBuf) {
        self.requests
            .supersede(|requester| matches!(requester, Requester::Gallery));
        let id = self.requests.new_id();
        let request = GalleryRequest {
            id,
            run_dir: run_dir.clone(),
            device: self.settings.train.device,
        };
        if self.send_request(id, Command::ScoreCheckpoints(request), Requester::Gallery) {
            self.gallery.start(run_dir);
        }
    }

    /// Makes the checkpoint in `dir` the Translate tab's model, opens that tab and translates
    /// its loaded images with it.
    pub(super) fn translate_with_checkpoint(&mut self, dir: PathBuf) {
        let pick = &mut self.settings.translate_model;
        pick.choice = ModelChoice::Checkpoint;
        pick.checkpoint_dir = dir.display().to_string();
        self.settings.tab = Tab::Translate;
        for item in &mut self.translate.items {
            item.output = None;
        }
        if self.translate.items.is_empty() {
            self.translate.message = Some(Ok(format!(
                "the model is now {}: load images to translate with it",
                dir.display()
            )));
        } else {
            self.actions.push(UiAction::TranslateLoaded);
        }
    }

    /// Has the Translate tab's model's discriminator judge each input with its output.
    pub(super) fn judge_translations(&mut self) {
        let model = match self.model_source(ModelTarget::Translate) {
            Ok(Some(ModelSource::RunDir(dir) | ModelSource::Checkpoint(dir))) => dir,
            // The run being trained: its latest checkpoint's discriminator.
            Ok(None) => match self.run.run_dir() {
                Some(dir) => dir.to_path_buf(),
                None => return self.judge_failed("no run is training".into()),
            },
            Ok(Some(_)) => {
                return self.judge_failed(
                    "judging needs a run or checkpoint folder as the model: imported and demo \
                     models come without their discriminator"
                        .into(),
                );
            }
            Err(message) => return self.judge_failed(message),
        };
        let (inputs, pairs) = self.translate.judge_pairs();
        let id = self.requests.new_id();
        let request = JudgeRequest {
            id,
            model,
            pairs,
            device: self.settings.train.device,
        };
        self.send_request(
            id,
            Command::Judge(Box::new(request)),
            Requester::Judge { inputs },
        );
    }

    fn judge_failed(&mut self, message: String) {
        self.translate.message = Some(Err(message));
    }

    /// Translates the Translate tab's first image under every inference mode, one request a
    /// cell (the worker keeps the model loaded between them).
    pub(super) fn compare_inference_modes(&mut self) {
        let Some(first) = self.translate.items.first() else {
            return;
        };
        let (path, input) = (first.path.clone(), first.input.clone());
        let modes = inference_modes(self.settings.translate.size, &MODE_SEEDS);
        let labels = modes.iter().map(|(label, _)| label.clone()).collect();
        self.requests
            .supersede(|requester| matches!(requester, Requester::ModeCell { .. }));
        self.translate
            .start_modes(path.clone(), labels, MODE_SEEDS.len() + 1);
        for (cell, (_, options)) in modes.into_iter().enumerate() {
            let inputs = TranslateInputs::Images(vec![input.clone()]);
            let requester = Requester::ModeCell {
                path: path.clone(),
                cell,
            };
            if !self.request_translation_with(ModelTarget::Translate, inputs, requester, options) {
                self.translate.modes = None;
                return;
            }
        }
    }

    /// Reads the Compare tab's run folders on a background thread.
    pub(super) fn read_compared_runs(&mut self) {
        let generation = self.compare.start_reading();
        let dirs = self
            .settings
            .compare_runs
            .iter()
            .map(|dir| PathBuf::from(dir.trim()))
            .collect();
        self.background.read_runs(generation, dirs);
    }
}
