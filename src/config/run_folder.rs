//! A run folder's layout as every part of the program reads it: `config.json`, the
//! `latest.json` / `best.json` pointers to checkpoint folders under `checkpoints/`, and the name
//! of each checkpoint's `history.json` (read by `History::read`). Training writes them ([`crate::training::checkpoint`]); translation, the CLI and the app read them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::platform::fs::write_atomic;

/// A pointer file's contents.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Pointer {
    /// The checkpoint folder, relative to the run folder.
    pub checkpoint: PathBuf,
    /// Its training steps.
    pub steps: u64,
    /// Its validation L1 (`best.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_l1: Option<f64>,
}

/// The run's (and each checkpoint's) configuration.
pub(crate) const CONFIG: &str = "config.json";
/// The pointer to the newest checkpoint.
pub(crate) const LATEST: &str = "latest.json";
/// The pointer to the checkpoint with the lowest validation L1.
pub(crate) const BEST: &str = "best.json";
/// The folder of the checkpoint folders.
pub(crate) const CHECKPOINTS: &str = "checkpoints";
/// A checkpoint's losses and validations so far.
pub const HISTORY: &str = "history.json";

/// Writes `config.json` of a run.
pub fn write_config(run_dir: &Path, config: &RunConfig) -> Result<()> {
    std::fs::create_dir_all(run_dir).map_err(|err| Error::io(run_dir, err))?;
    write_json(&run_dir.join(CONFIG), config)
}

/// Reads `config.json` from a run folder or a checkpoint folder, every field checked against its
/// range (a shared folder's file is not trusted to be sane).
pub fn read_config(dir: &Path) -> Result<RunConfig> {
    let path = dir.join(CONFIG);
    let config: RunConfig = read_json(&path)?;
    config.validate().map_err(|err| Error::Checkpoint {
        path,
        reason: err.to_string(),
    })?;
    Ok(config)
}

pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_vec_pretty(value)
        .map_err(|err| Error::Backend(format!("serialising {}: {err}", path.display())))?;
    write_atomic(path, &text)
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|err| Error::io(path, err))?;
    serde_json::from_slice(&bytes).map_err(|err| Error::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("unreadable JSON ({err})"),
    })
}

/// The newest checkpoint of a run, if it has one.
pub fn latest(run_dir: &Path) -> Result<Option<PathBuf>> {
    pointer(run_dir, LATEST)
}

/// The checkpoint with the lowest validation L1, if any.
pub fn best(run_dir: &Path) -> Result<Option<PathBuf>> {
    pointer(run_dir, BEST)
}

fn pointer(run_dir: &Path, name: &str) -> Result<Option<PathBuf>> {
    let path = run_dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    let pointer: Pointer = read_json(&path)?;
    Ok(Some(run_dir.join(pointer.checkpoint)))
}
