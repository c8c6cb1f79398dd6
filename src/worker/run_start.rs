//! What a run starts from: the rules that turn a [`TrainingRequest`] into a run's configuration
//! and, for a resumed run, its restored state (a new run never overwrites a run folder; a
//! resumed one keeps its own networks and data but takes the request's schedule and intervals,
//! and a dataset folder that has moved).

use std::path::Path;

use super::protocol::TrainingRequest;
use crate::config::{RunConfig, run_folder};
use crate::error::{Error, Result};
use crate::platform::device::SelectedDevice;
use crate::training::checkpoint::{self, Counters, Restored};
use crate::training::history::History;
use crate::training::state::TrainingState;

/// The configuration a run trains with, and the checkpoint it resumes from (none for a new run).
pub fn resolve(
    request: &TrainingRequest,
    device: &SelectedDevice,
) -> Result<(RunConfig, Option<Restored>)> {
    let run_dir = &request.run_dir;
    if request.resume {
        let saved = run_folder::read_config(run_dir)?;
        let config = resumed_config(saved, &request.config)?;
        let latest = run_folder::latest(run_dir)?.ok_or_else(|| Error::Checkpoint {
            path: run_dir.clone(),
            reason: "nothing to resume: latest.json is missing".into(),
        })?;
        let restored = checkpoint::load(&latest, &config, &device.device)?;
        Ok((config, Some(restored)))
    } else {
        refuse_a_folder_holding_a_run(run_dir)?;
        Ok((new_run_config(&request.config)?, None))
    }
}

/// A resumed run's configuration: the run's own networks, data and training settings; the
/// request's schedule (it may lengthen the run) and reporting intervals; the request's dataset
/// folder only when the saved one is gone and the requested one exists (the data has moved).
pub fn resumed_config(saved: RunConfig, requested: &RunConfig) -> Result<RunConfig> {
    let mut config = saved;
    config.schedule = requested.schedule;
    config.intervals = requested.intervals;
    if !config.data.dataset_dir.is_dir() && requested.data.dataset_dir.is_dir() {
        config.data.dataset_dir = requested.data.dataset_dir.clone();
    }
    config.validate()?;
    Ok(config)
}

/// A new run's configuration: the request's, checked, with the dataset folder made absolute
/// (the run is scored, resumed and compared from any working folder).
pub fn new_run_config(requested: &RunConfig) -> Result<RunConfig> {
    requested.validate()?;
    let mut config = requested.clone();
    let dataset_dir = &config.data.dataset_dir;
    config.data.dataset_dir =
        std::path::absolute(dataset_dir).map_err(|err| Error::io(dataset_dir, err))?;
    Ok(config)
}

/// Refuses to start a new run in a folder that already holds one (its checkpoints would be
/// overwritten).
pub fn refuse_a_folder_holding_a_run(run_dir: &Path) -> Result<()> {
    if run_folder::latest(run_dir)?.is_some() {
        return Err(Error::InvalidConfig(format!(
            "{} already holds a run: resume it, or train into another folder",
            run_dir.display()
        )));
    }
    Ok(())
}

/// The state, counters and history a run begins with: the restored ones for a resumed run (the
/// current epoch's rate following the schedule in `config`, which may have changed), fresh ones
/// (and the run's `config.json` written) for a new run.
pub fn initial_state(
    config: &RunConfig,
    restored: Option<Restored>,
    run_dir: &Path,
    device: &SelectedDevice,
) -> Result<(TrainingState, Counters, History)> {
    match restored {
        Some(restored) => Ok((
            restored.state,
            resumed_counters(restored.counters, config),
            restored.history,
        )),
        None => {
            run_folder::write_config(run_dir, config)?;
            let state = TrainingState::new(&config.training, &device.device)?;
            Ok((state, new_run_counters(config), History::default()))
        }
    }
}

/// A resumed run's counters: where it stopped, at the rate the (possibly new) schedule gives
/// that epoch (the saved rate is the old schedule's).
pub fn resumed_counters(saved: Counters, config: &RunConfig) -> Counters {
    Counters {
        learning_rate: config
            .schedule
            .learning_rate(config.training.learning_rate, saved.epoch),
        ..saved
    }
}

/// A new run's counters: nothing done, at the schedule's first rate.
pub fn new_run_counters(config: &RunConfig) -> Counters {
    Counters {
        learning_rate: config
            .schedule
            .learning_rate(config.training.learning_rate, 0),
        ..Counters::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunOptions;
    use crate::config::schedule::Schedule;
    use crate::data::{Direction, LayoutHint};

    fn config_at(dataset_dir: &Path) -> RunConfig {
        RunOptions::quick().run_config(dataset_dir, Direction::AtoB, LayoutHint::Auto)
    }

    #[test]
    fn a_resumed_run_keeps_its_networks_and_takes_the_requested_schedule_and_intervals() {
        let data = tempfile::tempdir().unwrap();
        let mut saved = config_at(data.path());
        saved.training.generator.ngf = 8;
        let mut requested = config_at(data.path());
        requested.training.generator.ngf = 64;
        requested.schedule = Schedule {
            n_epochs: 7,
            n_epochs_decay: 3,
            ..saved.schedule
        };
        requested.intervals.preview_every_steps = 11;

        let config = resumed_config(saved, &requested).unwrap();

        assert_eq!(config.training.generator.ngf, 8);
        assert_eq!(config.schedule, requested.schedule);
        assert_eq!(config.intervals, requested.intervals);
    }

    #[test]
    fn a_resumed_run_follows_its_dataset_only_when_the_saved_folder_is_gone() {
        let old = tempfile::tempdir().unwrap();
        let moved = tempfile::tempdir().unwrap();
        let requested = config_at(moved.path());

        let kept = resumed_config(config_at(old.path()), &requested).unwrap();
        assert_eq!(kept.data.dataset_dir, old.path());

        let gone = old.path().join("gone");
        let followed = resumed_config(config_at(&gone), &requested).unwrap();
        assert_eq!(followed.data.dataset_dir, moved.path());

        let neither = resumed_config(config_at(&gone), &config_at(&gone.join("x"))).unwrap();
        assert_eq!(neither.data.dataset_dir, gone);
    }

    #[test]
    fn a_resumed_run_with_a_bad_saved_config_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let mut saved = config_at(data.path());
        saved.data.batch_size = 0;
        assert!(resumed_config(saved, &config_at(data.path())).is_err());
    }

    #[test]
    fn a_resumed_runs_rate_follows_the_new_schedule() {
        let mut config = config_at(Path::new("data"));
        config.schedule = Schedule {
            n_epochs: 2,
            n_epochs_decay: 2,
            ..config.schedule
        };
        let saved = Counters {
            epoch: 3,
            steps: 120,
            learning_rate: 1.0,
            ..Counters::default()
        };
        let counters = resumed_counters(saved, &config);
        assert_eq!(counters.steps, 120);
        assert_eq!(counters.epoch, 3);
        assert_eq!(
            counters.learning_rate,
            config
                .schedule
                .learning_rate(config.training.learning_rate, 3)
        );
        assert!(counters.learning_rate < config.training.learning_rate);
    }

    #[test]
    fn a_new_run_starts_at_the_first_rate_with_nothing_done() {
        let config = config_at(Path::new("data"));
        let counters = new_run_counters(&config);
        assert_eq!(counters.steps, 0);
        assert_eq!(counters.learning_rate, config.training.learning_rate);
    }

    #[test]
    fn a_new_run_records_its_dataset_folder_absolute() {
        let config = new_run_config(&config_at(Path::new("relative/data"))).unwrap();
        assert!(config.data.dataset_dir.is_absolute());
        assert!(config.data.dataset_dir.ends_with("relative/data"));
    }

    #[test]
    fn a_new_run_is_refused_in_a_folder_that_holds_a_run() {
        let run = tempfile::tempdir().unwrap();
        refuse_a_folder_holding_a_run(run.path()).unwrap();
        std::fs::write(
            run.path().join("latest.json"),
            r#"{"checkpoint":"checkpoints/step_3","steps":3}"#,
        )
        .unwrap();
        let err = refuse_a_folder_holding_a_run(run.path()).unwrap_err();
        assert!(err.to_string().contains("already holds a run"), "{err}");
    }
}
