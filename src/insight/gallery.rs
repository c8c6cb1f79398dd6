//! The checkpoint gallery: every checkpoint a run folder holds (the kept `epoch_*` ones, the
//! latest and the best), each scored on the run's validation pairs exactly as training
//! validates (L1, PSNR, SSIM), with the same few validation inputs translated by each; and the
//! choice of which one is the run's `best`.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use image::RgbImage;

use crate::config::run_folder::{self, BEST, CHECKPOINTS, Pointer, read_json, write_json};
use crate::data::convert::planar_to_image;
use crate::error::{Error, Result};
use crate::inference::{ModelSource, Translator};
use crate::insight::validation::{ValidationPairs, score_sample};
use crate::training::checkpoint::Counters;
use crate::training::metrics::Metrics;

/// How many validation inputs each checkpoint shows translated.
pub const THUMBNAILS: usize = 4;

/// One checkpoint folder of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointEntry {
    /// Its folder.
    pub dir: PathBuf,
    /// The folder's name (`epoch_0005`, `step_00001200`).
    pub name: String,
    /// Training steps it holds.
    pub steps: u64,
    /// `latest.json` points to it.
    pub is_latest: bool,
    /// `best.json` points to it.
    pub is_best: bool,
}

/// Every checkpoint of a run, oldest first; folders being written (`.partial-*`) are left
/// out, and a checkpoint whose `state.json` cannot be read is listed with its name's step (its
/// scoring will say what is wrong). A run without any is an error that says so.
pub fn list_checkpoints(run_dir: &Path) -> Result<Vec<CheckpointEntry>> {
    let folder = run_dir.join(CHECKPOINTS);
    let latest = run_folder::latest(run_dir)?;
    let best = run_folder::best(run_dir)?;
    let no_checkpoint = || Error::Checkpoint {
        path: run_dir.to_path_buf(),
        reason: "the run has no checkpoint yet".into(),
    };
    if !folder.is_dir() {
        return Err(no_checkpoint());
    }
    let entries = std::fs::read_dir(&folder).map_err(|err| Error::io(&folder, err))?;
    let mut checkpoints: Vec<CheckpointEntry> = entries
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                return None;
            }
            let dir = entry.path();
            let steps = read_json::<Counters>(&dir.join("state.json"))
                .map(|counters| counters.steps)
                .unwrap_or_else(|_| steps_in_name(&name));
            Some(CheckpointEntry {
                is_latest: latest.as_ref() == Some(&dir),
                is_best: best.as_ref() == Some(&dir),
                dir,
                name,
                steps,
            })
        })
        .collect();
    if checkpoints.is_empty() {
        return Err(no_checkpoint());
    }
    checkpoints.sort_by(|a, b| (a.steps, &a.name).cmp(&(b.steps, &b.name)));
    Ok(checkpoints)
}

/// The step count in a `step_00001200` name; 0 for other names.
fn steps_in_name(name: &str) -> u64 {
    name.strip_prefix("step_")
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

/// What the gallery shows above the checkpoints: the validation inputs the thumbnails are of,
/// and their targets.
#[derive(Clone, Debug, PartialEq)]
pub struct GalleryHeader {
    /// The scored pairs' file names.
    pub names: Vec<String>,
    /// Pairs each checkpoint is scored on.
    pub pairs: usize,
    /// The dataset has no validation split: the scores are on training pairs.
    pub from_training_split: bool,
    /// The first [`THUMBNAILS`] inputs.
    pub inputs: Vec<RgbImage>,
    /// Their targets.
    pub targets: Vec<RgbImage>,
}

impl GalleryHeader {
    /// The header of a set of validation pairs.
    pub fn of(pairs: &ValidationPairs) -> Self {
        let config = &pairs.sample_config;
        let picture = |planar: &[f32], channels: usize, height: usize, width: usize| {
            planar_to_image(planar, channels, height, width).to_rgb8()
        };
        let shown = pairs.samples.iter().take(THUMBNAILS);
        Self {
            names: pairs.samples.iter().map(|s| s.name.clone()).collect(),
            pairs: pairs.samples.len(),
            from_training_split: pairs.from_training_split,
            inputs: shown
                .clone()
                .map(|s| {
                    let s = &s.sample;
                    picture(&s.input, config.input_channels, s.height, s.width)
                })
                .collect(),
            targets: shown
                .map(|s| {
                    let s = &s.sample;
                    picture(&s.target, config.output_channels, s.height, s.width)
                })
                .collect(),
        }
    }
}

/// A checkpoint's score on the validation pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointScore {
    /// The mean over the pairs.
    pub metrics: Metrics,
    /// The first [`THUMBNAILS`] inputs, translated by it.
    pub thumbnails: Vec<RgbImage>,
}

/// Scores the checkpoint in `dir` on `pairs` (batch statistics, no dropout, 8-bit outputs:
/// the trainer's validation, so a checkpoint saved at a validation step scores what that
/// validation recorded).
pub fn score_checkpoint(
    dir: &Path,
    pairs: &ValidationPairs,
    device: &Device,
) -> Result<CheckpointScore> {
    if pairs.samples.is_empty() {
        return Err(Error::InvalidConfig(
            "no pair of the run's dataset could be loaded to score it".into(),
        ));
    }
    let translator = Translator::load(&ModelSource::Checkpoint(dir.to_path_buf()), device)?;
    let device = device.clone().inner();
    let mut all = Vec::with_capacity(pairs.samples.len());
    let mut thumbnails = Vec::with_capacity(THUMBNAILS);
    for named in &pairs.samples {
        let (generated, metrics) = score_sample(
            translator.generator(),
            &named.sample,
            &pairs.sample_config,
            &device,
        )?;
        if thumbnails.len() < THUMBNAILS {
            thumbnails.push(generated.to_rgb8());
        }
        all.push(metrics);
    }
    Ok(CheckpointScore {
        metrics: Metrics::mean(&all),
        thumbnails,
    })
}

/// Makes `checkpoint` the run's best (`best.json`), with its validation L1 when scored. The
/// checkpoint must be one of the run's own; the one it replaces is deleted at the run's next
/// save unless it is kept (an `epoch_*` folder) or the latest.
pub fn make_best(run_dir: &Path, checkpoint: &Path, val_l1: Option<f64>) -> Result<()> {
    let folder = run_dir.join(CHECKPOINTS);
    let relative = checkpoint
        .strip_prefix(run_dir)
        .ok()
        .filter(|_| checkpoint.parent() == Some(folder.as_path()) && checkpoint.is_dir())
        .ok_or_else(|| Error::Checkpoint {
            path: checkpoint.to_path_buf(),
            reason: format!("not a checkpoint of the run {}", run_dir.display()),
        })?;
    let counters: Counters = read_json(&checkpoint.join("state.json"))?;
    write_json(
        &run_dir.join(BEST),
        &Pointer {
            checkpoint: relative.to_path_buf(),
            steps: counters.steps,
            val_l1,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_counts_come_from_step_folder_names() {
        assert_eq!(steps_in_name("step_00001200"), 1200);
        assert_eq!(steps_in_name("epoch_0005"), 0);
        assert_eq!(steps_in_name("step_x"), 0);
    }
}
