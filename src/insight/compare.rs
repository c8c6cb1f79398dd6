//! Several runs side by side, for the paper's ablations (L1 only, cGAN only, no skips, patch
//! sizes) and any other: the options in which their configurations differ, and their scores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::RunConfig;
use crate::config::run_folder;
use crate::error::{Error, Result};
use crate::training::history::History;
use crate::training::metrics::Metrics;

/// One run as the comparison reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The run folder.
    pub dir: PathBuf,
    /// Its configuration.
    pub config: RunConfig,
    /// Its history, from its latest checkpoint (empty before the first one).
    pub history: History,
}

impl RunRecord {
    /// Reads a run folder: `config.json` and the latest checkpoint's history.
    pub fn read(dir: &Path) -> Result<Self> {
        let config = run_folder::read_config(dir)?;
        let history = match run_folder::latest(dir)? {
            Some(checkpoint) => History::read(&checkpoint)?,
            None => History::default(),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            history,
        })
    }

    /// Steps trained.
    pub fn steps(&self) -> u64 {
        self.history.losses.last().map_or(0, |record| record.step)
    }

    /// The last validation's metrics.
    pub fn last_validation(&self) -> Option<Metrics> {
        self.history.validations.last().map(|record| record.metrics)
    }

    /// The best validation: its metrics and step.
    pub fn best_validation(&self) -> Option<(Metrics, u64)> {
        self.history
            .best_validation()
            .map(|record| (record.metrics, record.step))
    }
}

/// The options whose values differ between `runs`: each option's dotted name (as in
/// `config.json`, e.g. `training.generator.skip_connections`) with its value in every run, in
/// the runs' order; `-` where a run's configuration has no such option.
pub fn differing_options(runs: &[RunRecord]) -> Result<Vec<(String, Vec<String>)>> {
    let flat: Vec<BTreeMap<String, String>> = runs
        .iter()
        .map(|run| {
            let value = serde_json::to_value(&run.config)
                .map_err(|err| Error::Backend(format!("reading {}: {err}", run.dir.display())))?;
            let mut options = BTreeMap::new();
            flatten("", &value, &mut options);
            Ok(options)
        })
        .collect::<Result<_>>()?;
    let mut names: Vec<&String> = flat.iter().flat_map(BTreeMap::keys).collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let values: Vec<String> = flat
                .iter()
                .map(|options| options.get(name).cloned().unwrap_or_else(|| "-".into()))
                .collect();
            let differ = values.iter().any(|value| *value != values[0]);
            differ.then(|| (name.clone(), values))
        })
        .collect())
}

/// A run's name in a comparison: its folder's name.
pub fn run_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |name| name.to_string_lossy().into(),
    )
}

/// The comparison as rows of text: a header (`run` and each run's name), one row per option
/// whose values differ, then the scores (steps, best and last validation). `compare` prints it
/// and the app's Compare tab shows it.
pub fn comparison_table(runs: &[RunRecord]) -> Result<Vec<Vec<String>>> {
    let row = |label: &str, value: &dyn Fn(&RunRecord) -> String| -> Vec<String> {
        std::iter::once(label.to_string())
            .chain(runs.iter().map(value))
            .collect()
    };
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    let mut rows = vec![row("run", &|run| run_name(&run.dir))];
    for (option, values) in differing_options(runs)? {
        rows.push(std::iter::once(option).chain(values).collect());
    }
    rows.push(row("steps", &|run| run.steps().to_string()));
    rows.push(row("best val L1 (step)", &|run| {
        or_dash(
            run.best_validation()
                .map(|(metrics, step)| format!("{:.4} ({step})", metrics.l1)),
        )
    }));
    rows.push(row("last val L1", &|run| {
        or_dash(run.last_validation().map(|m| format!("{:.4}", m.l1)))
    }));
    rows.push(row("last val PSNR dB", &|run| {
        or_dash(run.last_validation().map(|m| format!("{:.2}", m.psnr_db)))
    }));
    rows.push(row("last val SSIM", &|run| {
        or_dash(run.last_validation().map(|m| format!("{:.4}", m.ssim)))
    }));
    Ok(rows)
}

/// `value`'s leaves under dotted names.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, field, out);
            }
        }
        serde_json::Value::String(text) => {
            out.insert(prefix.to_string(), text.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunOptions;
    use crate::data::{Direction, LayoutHint};

    fn record(name: &str, options: RunOptions) -> RunRecord {
        RunRecord {
            dir: PathBuf::from(name),
            config: options.run_config(Path::new("data"), Direction::AtoB, LayoutHint::Auto),
            history: History::default(),
        }
    }

    #[test]
    fn only_the_options_that_differ_are_listed() {
        let paper = RunOptions::default();
        let no_skips = RunOptions {
            skips: false,
            ..RunOptions::default()
        };
        let pixel_gan = RunOptions {
            n_layers_d: 0,
            ..RunOptions::default()
        };
        let runs = [
            record("paper", paper),
            record("no-skips", no_skips),
            record("pixelgan", pixel_gan),
        ];
        let differing = differing_options(&runs).unwrap();
        let names: Vec<&str> = differing.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "training.discriminator.n_layers",
                "training.generator.skip_connections"
            ]
        );
        assert_eq!(differing[0].1, ["3", "3", "0"]);
        assert_eq!(differing[1].1, ["true", "false", "true"]);
    }
}
