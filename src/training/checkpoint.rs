//! Checkpoints: everything needed to translate with a run or resume it exactly, written so that a
//! crash in the middle of a save never leaves a broken checkpoint.
//!
//! ```text
//! run_dir/
//!   config.json                    the RunConfig
//!   latest.json                    {"checkpoint": "checkpoints/step_00001200", "steps": 1200}
//!   best.json                      the checkpoint with the lowest validation L1
//!   checkpoints/step_00001200/     generator.safetensors  (the reference's key names)
//!                                  discriminator.safetensors
//!                                  optimizer.safetensors  (Adam moments by parameter key)
//!                                  state.json             (counters, learning rate, Adam steps)
//!                                  history.json           (losses and validations so far)
//!                                  config.json            (a copy: the folder stands alone)
//!   checkpoints/epoch_0005/        kept every `keep_every_epochs`
//!   previews/step_00000100.png
//! ```
//!
//! A checkpoint folder is written under a temporary name and renamed into place; the pointer
//! files are replaced atomically afterwards. Adam's moments are stored by the parameters'
//! state-dict keys (burn's parameter ids do not survive a restart), so resuming restores them
//! exactly: unlike the reference, a resumed run continues as if never stopped.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use safetensors::Dtype;
use serde::{Deserialize, Serialize};

use super::adam::Adam;
use super::history::History;
use super::state::TrainingState;
use crate::config::RunConfig;
use crate::config::run_folder::{
    BEST, CHECKPOINTS, CONFIG, HISTORY, LATEST, Pointer, best, latest, read_json, write_json,
};
use crate::error::{Error, Result};
use crate::model::pytorch::{
    LearnedParam, StateDict, discriminator_parameters, generator_parameters, load_discriminator,
    load_generator, save_discriminator, save_generator,
};
use crate::platform::fs::write_atomic;

/// Where a run stands; saved as `state.json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// The next batch of that epoch.
    pub batch_in_epoch: usize,
    /// Training steps done.
    pub steps: u64,
    /// The learning rate in use.
    pub learning_rate: f64,
    /// Adam steps of the generator.
    pub generator_optimizer_steps: u64,
    /// Adam steps of the discriminator.
    pub discriminator_optimizer_steps: u64,
}

/// Why a checkpoint was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointKind {
    /// The newest state (periodic, end of epoch, on request, on stop).
    Latest,
    /// Kept for good every `keep_every_epochs`.
    Kept,
    /// The lowest validation L1 so far.
    Best,
}

const GENERATOR: &str = "generator.safetensors";
const DISCRIMINATOR: &str = "discriminator.safetensors";
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "state.json";
/// Checkpoint folders being written start with this; they are never read.
const PARTIAL_PREFIX: &str = ".partial-";

/// Saves the state as a checkpoint of `kind` and updates the pointers; returns its folder.
pub fn save(
    run_dir: &Path,
    config: &RunConfig,
    state: &TrainingState,
    counters: &Counters,
    history: &History,
    kind: CheckpointKind,
) -> Result<PathBuf> {
    let checkpoints = run_dir.join(CHECKPOINTS);
    std::fs::create_dir_all(&checkpoints).map_err(|err| Error::io(&checkpoints, err))?;
    let name = match kind {
        CheckpointKind::Kept => format!("epoch_{:04}", counters.epoch),
        CheckpointKind::Latest | CheckpointKind::Best => format!("step_{:08}", counters.steps),
    };
    let dir = checkpoints.join(&name);
    if !dir.exists() {
        // Written under a unique temporary name, removed again on any error (a full disk); a
        // kill leaves it behind as `.partial-*`, which no reader looks at and `prune` deletes.
        let partial = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .tempdir_in(&checkpoints)
            .map_err(|err| {
                Error::io(
                    &checkpoints,
                    crate::platform::fs::without_temporary_path(err),
                )
            })?;
        // An error names the file by its place in the finished checkpoint, not the temporary one.
        write_files(partial.path(), config, state, counters, history).map_err(|err| match err {
            Error::Io { path, cause } => {
                let path = path
                    .strip_prefix(partial.path())
                    .map_or_else(|_| path.clone(), |inside| dir.join(inside));
                Error::io(path, cause)
            }
            other => other,
        })?;
        std::fs::rename(partial.path(), &dir).map_err(|err| Error::io(&dir, err))?;
        // Renamed away: nothing is left for the guard to delete.
        let _ = partial.keep();
        crate::platform::fs::sync_folder(&checkpoints)
            .map_err(|err| Error::io(&checkpoints, err))?;
    }
    let relative = PathBuf::from(CHECKPOINTS).join(&name);
    let latest = Pointer {
        checkpoint: relative.clone(),
        steps: counters.steps,
        val_l1: None,
    };
    write_json(&run_dir.join(LATEST), &latest)?;
    if kind == CheckpointKind::Best {
        let best = Pointer {
            checkpoint: relative,
            steps: counters.steps,
            val_l1: history.best_val_l1(),
        };
        write_json(&run_dir.join(BEST), &best)?;
    }
    prune(run_dir)?;
    Ok(dir)
}

fn write_files(
    dir: &Path,
    config: &RunConfig,
    state: &TrainingState,
    counters: &Counters,
    history: &History,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, err))?;
    save_generator(&state.generator, &dir.join(GENERATOR))?;
    save_discriminator(&state.discriminator, &dir.join(DISCRIMINATOR))?;
    write_optimizer(&dir.join(OPTIMIZER), state)?;
    write_json(&dir.join(CONFIG), config)?;
    write_json(&dir.join(HISTORY), history)?;
    // The state last: a folder is only renamed into place once everything is in it.
    write_json(&dir.join(STATE), counters)
}

/// Deletes `step_*` checkpoints that no pointer refers to (kept `epoch_*` ones stay), and the
/// partial folders of saves that were killed.
fn prune(run_dir: &Path) -> Result<()> {
    let keep: Vec<PathBuf> = [latest(run_dir)?, best(run_dir)?]
        .into_iter()
        .flatten()
        .collect();
    let checkpoints = run_dir.join(CHECKPOINTS);
    let entries = std::fs::read_dir(&checkpoints).map_err(|err| Error::io(&checkpoints, err))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let unreferenced_step = name.starts_with("step_") && !keep.contains(&path);
        if unreferenced_step || name.starts_with(PARTIAL_PREFIX) {
            std::fs::remove_dir_all(&path).map_err(|err| Error::io(&path, err))?;
        }
    }
    Ok(())
}

fn optimizer_entries(
    prefix: &str,
    parameters: Vec<LearnedParam>,
    adam: &Adam,
) -> Result<Vec<(String, Vec<f32>)>> {
    let mut entries = Vec::new();
    for LearnedParam { key, id, .. } in parameters {
        if let Some((first, second)) = adam.moments(id)? {
            entries.push((format!("{prefix}.{key}.exp_avg"), first));
            entries.push((format!("{prefix}.{key}.exp_avg_sq"), second));
        }
    }
    Ok(entries)
}

fn write_optimizer(path: &Path, state: &TrainingState) -> Result<()> {
    let mut entries = optimizer_entries(
        "generator",
        generator_parameters(&state.generator),
        &state.generator_optimizer,
    )?;
    entries.extend(optimizer_entries(
        "discriminator",
        discriminator_parameters(&state.discriminator),
        &state.discriminator_optimizer,
    )?);
    let bytes: Vec<(String, Vec<u8>, usize)> = entries
        .into_iter()
        .map(|(key, values)| {
            let len = values.len();
            (
                key,
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                len,
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(key, data, len)| {
            safetensors::tensor::TensorView::new(Dtype::F32, vec![*len], data)
                .map(|view| (key.as_str(), view))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| Error::Backend(format!("building optimiser state: {err}")))?;
    let serialized = safetensors::serialize(views, None)
        .map_err(|err| Error::Backend(format!("serialising optimiser state: {err}")))?;
    write_atomic(path, &serialized)
}

/// A checkpoint read back: the training state and where the run stood.
pub struct Restored {
    /// Networks and optimisers, on the requested device.
    pub state: TrainingState,
    /// Counters.
    pub counters: Counters,
    /// History up to the checkpoint.
    pub history: History,
}

/// Reads a checkpoint folder written by [`save`] into a training state on `device`.
pub fn load(dir: &Path, config: &RunConfig, device: &Device) -> Result<Restored> {
    require_parts(dir)?;
    let counters: Counters = read_json(&dir.join(STATE))?;
    let history: History = read_json(&dir.join(HISTORY))?;
    let training = &config.training;
    let plain = device.clone().inner();
    let generator = load_generator(&dir.join(GENERATOR), &training.generator, &plain)?;
    let discriminator =
        load_discriminator(&dir.join(DISCRIMINATOR), &training.discriminator, &plain)?;
    let mut state = TrainingState::from_networks(training, generator, discriminator, device)?;
    state.steps = counters.steps;

    let mut moments = StateDict::read(&dir.join(OPTIMIZER))?;
    let optimizer_path = dir.join(OPTIMIZER);
    let device = state.device.clone();
    let restore =
        |prefix: &str, parameters: Vec<LearnedParam>, adam: &mut Adam, moments: &mut StateDict| {
            for LearnedParam { key, id, len } in parameters {
                let first_key = format!("{prefix}.{key}.exp_avg");
                let second_key = format!("{prefix}.{key}.exp_avg_sq");
                match (
                    moments.declared_len(&first_key),
                    moments.declared_len(&second_key),
                ) {
                    (Some(first_len), Some(second_len)) => {
                        // A moment of another length would make Adam's fused pass read past it (or
                        // update a slice of the parameter): refuse it with the key, before reading.
                        if first_len != len || second_len != len {
                            return Err(Error::Checkpoint {
                                path: optimizer_path.clone(),
                                reason: format!(
                                    "the Adam moments of `{prefix}.{key}` hold {first_len} and \
                                 {second_len} values, the parameter has {len}"
                                ),
                            });
                        }
                        let first = moments.take_values(&first_key)?.unwrap_or_default();
                        let second = moments.take_values(&second_key)?.unwrap_or_default();
                        adam.set_moments(id, first, second, &device);
                    }
                    (None, None) => {}
                    _ => {
                        return Err(Error::Checkpoint {
                            path: optimizer_path.clone(),
                            reason: format!("only one Adam moment of `{prefix}.{key}`"),
                        });
                    }
                }
            }
            Ok(())
        };
    restore(
        "generator",
        generator_parameters(&state.generator),
        &mut state.generator_optimizer,
        &mut moments,
    )?;
    restore(
        "discriminator",
        discriminator_parameters(&state.discriminator),
        &mut state.discriminator_optimizer,
        &mut moments,
    )?;
    moments.finish()?;
    state
        .generator_optimizer
        .set_steps(counters.generator_optimizer_steps);
    state
        .discriminator_optimizer
        .set_steps(counters.discriminator_optimizer_steps);
    Ok(Restored {
        state,
        counters,
        history,
    })
}

/// Fails with the missing file's name if a part of the checkpoint is absent.
fn require_parts(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::Checkpoint {
            path: dir.to_path_buf(),
            reason: "no such checkpoint folder".into(),
        });
    }
    for part in [GENERATOR, DISCRIMINATOR, OPTIMIZER, STATE, HISTORY, CONFIG] {
        if !dir.join(part).is_file() {
            return Err(Error::Checkpoint {
                path: dir.to_path_buf(),
                reason: format!("{part} is missing (not a pix2pix-studio checkpoint?)"),
            });
        }
    }
    Ok(())
}
