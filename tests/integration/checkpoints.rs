//! Checkpoints as a run leaves them: pruning, `best.json`, kept epochs, `export --best`, exact
//! resume across an epoch boundary and with a changed schedule, refused optimiser state.

use std::path::{Path, PathBuf};

use pix2pix_studio::config::RunConfig;
use pix2pix_studio::config::run_folder;
use pix2pix_studio::config::schedule::{LrPolicy, Schedule};
use pix2pix_studio::model::pytorch::StateDict;
use pix2pix_studio::training::checkpoint::Counters;
use pix2pix_studio::training::history::History;
use pix2pix_studio::worker::Event;

use crate::engine::{binary, next, request, run_ok, until_finished, worker};
use crate::util::{sketches, temp_dir, tiny_run};

/// A copy of the first `train` training and `val` validation sketches, so epochs are short.
pub(crate) fn small_sketches(test: &str, train: usize, val: usize) -> PathBuf {
    let root = temp_dir(test).join("sketches");
    for (split, count) in [("train", train), ("val", val)] {
        let from = sketches().join(split);
        let to = root.join(split);
        std::fs::create_dir_all(&to).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&from)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        for name in names.into_iter().take(count) {
            std::fs::copy(from.join(&name), to.join(&name)).unwrap();
        }
    }
    root
}

/// A tiny run on `dataset`: `n_epochs` + `decay` epochs, validation and a save every 2 steps,
/// every epoch kept.
fn short_run(dataset: &Path, n_epochs: usize, decay: usize) -> RunConfig {
    let mut config = tiny_run(1000);
    config.data.dataset_dir = dataset.to_path_buf();
    config.schedule = Schedule {
        n_epochs,
        n_epochs_decay: decay,
        policy: LrPolicy::Linear,
    };
    config.intervals.max_steps = None;
    config.intervals.validate_every_steps = 2;
    config.intervals.checkpoint_every_steps = 2;
    config.intervals.keep_every_epochs = 1;
    config
}

fn train(config: RunConfig, run_dir: &Path, resume: bool) -> Vec<Event> {
    let worker = worker();
    worker.send(request(config, run_dir, resume)).unwrap();
    let events = until_finished(&worker);
    assert!(
        matches!(events.last(), Some(Event::Finished { .. })),
        "{:?}",
        events.last()
    );
    events
}

fn folder_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn pointer(run_dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run_dir.join(name)).unwrap()).unwrap()
}

#[test]
fn pruning_keeps_what_the_pointers_name_and_the_kept_epochs() {
    let dataset = small_sketches("ckpt-prune-data", 3, 2);
    let run_dir = temp_dir("ckpt-prune");
    // Left by a killed save and by an older session: neither is named by a pointer.
    let checkpoints = run_dir.join("checkpoints");
    std::fs::create_dir_all(checkpoints.join(".partial-killed")).unwrap();
    std::fs::create_dir_all(checkpoints.join("step_00000099")).unwrap();
    train(short_run(&dataset, 2, 1), &run_dir, false);

    let latest = run_folder::latest(&run_dir).unwrap().unwrap();
    let best = run_folder::best(&run_dir).unwrap().unwrap();
    let mut expected: Vec<String> = ["epoch_0001", "epoch_0002", "epoch_0003"]
        .into_iter()
        .map(String::from)
        .collect();
    for kept in [&latest, &best] {
        let name = kept.file_name().unwrap().to_string_lossy().into_owned();
        if !expected.contains(&name) {
            expected.push(name);
        }
    }
    expected.sort();
    assert_eq!(folder_names(&checkpoints), expected);
    assert_eq!(latest.file_name().unwrap(), "step_00000009");
    for dir in expected.iter().map(|name| checkpoints.join(name)) {
        assert_eq!(
            folder_names(&dir),
            [
                "config.json",
                "discriminator.safetensors",
                "generator.safetensors",
                "history.json",
                "optimizer.safetensors",
                "state.json"
            ],
            "{}",
            dir.display()
        );
    }
    // A kept epoch is where that epoch ended.
    let epoch_two: Counters = serde_json::from_str(
        &std::fs::read_to_string(checkpoints.join("epoch_0002/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!((epoch_two.epoch, epoch_two.steps), (2, 6));
}

#[test]
fn best_json_follows_the_lowest_validation_l1_and_export_best_writes_it() {
    let dataset = small_sketches("ckpt-best-data", 3, 2);
    let run_dir = temp_dir("ckpt-best");
    train(short_run(&dataset, 2, 1), &run_dir, false);
    let history: History = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("checkpoints/step_00000009/history.json")).unwrap(),
    )
    .unwrap();
    let trained: Vec<_> = history
        .validations
        .iter()
        .filter(|record| record.step > 0)
        .collect();
    assert!(trained.len() >= 4, "{trained:?}");
    let lowest = trained
        .iter()
        .min_by(|a, b| a.metrics.l1.total_cmp(&b.metrics.l1))
        .unwrap();
    let best = pointer(&run_dir, "best.json");
    assert_eq!(best["steps"].as_u64(), Some(lowest.step));
    assert_eq!(best["val_l1"].as_f64(), Some(lowest.metrics.l1));
    let best_dir = run_folder::best(&run_dir).unwrap().unwrap();
    let counters: Counters =
        serde_json::from_str(&std::fs::read_to_string(best_dir.join("state.json")).unwrap())
            .unwrap();
    assert_eq!(counters.steps, lowest.step);

    // `export --best` writes that checkpoint's generator, `export` the latest one.
    let exported = run_dir.join("best-export.safetensors");
    run_ok(
        binary()
            .args(["export", "--best", "-o"])
            .arg(&exported)
            .arg(&run_dir),
    );
    let values = |path: &Path| {
        let mut dict = StateDict::read(path).unwrap();
        let mut keys: Vec<String> = dict.keys().map(String::from).collect();
        keys.sort();
        keys.iter()
            .map(|key| dict.take_values(key).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values(&exported),
        values(&best_dir.join("generator.safetensors"))
    );
}

/// The generator and optimiser files of a run's latest checkpoint.
fn latest_weights(run_dir: &Path) -> Vec<Vec<u8>> {
    let dir = run_folder::latest(run_dir).unwrap().unwrap();
    [
        "generator.safetensors",
        "discriminator.safetensors",
        "optimizer.safetensors",
    ]
    .iter()
    .map(|file| std::fs::read(dir.join(file)).unwrap())
    .collect()
}

#[test]
fn resume_across_an_epoch_boundary_is_exact() {
    let dataset = small_sketches("ckpt-epoch-data", 3, 2);
    let straight = temp_dir("ckpt-epoch-straight");
    let mut config = short_run(&dataset, 2, 1);
    config.intervals.max_steps = Some(7);
    train(config.clone(), &straight, false);
    // Stopped exactly at the end of the first epoch (3 pairs), then resumed to step 7.
    for stop_at in [3, 4] {
        let resumed = temp_dir(&format!("ckpt-epoch-resumed-{stop_at}"));
        let mut first = config.clone();
        first.intervals.max_steps = Some(stop_at);
        train(first, &resumed, false);
        train(config.clone(), &resumed, true);
        assert!(
            latest_weights(&straight) == latest_weights(&resumed),
            "stopped at step {stop_at}: the resumed run must equal the straight one"
        );
        let read = |dir: &Path| -> Counters {
            let latest = run_folder::latest(dir).unwrap().unwrap();
            serde_json::from_str(&std::fs::read_to_string(latest.join("state.json")).unwrap())
                .unwrap()
        };
        assert_eq!(read(&straight), read(&resumed));
    }
}

#[test]
fn resume_with_a_longer_schedule_follows_the_new_schedule() {
    let dataset = small_sketches("ckpt-schedule-data", 3, 2);
    let run_dir = temp_dir("ckpt-schedule");
    train(short_run(&dataset, 1, 0), &run_dir, false);
    assert_eq!(pointer(&run_dir, "latest.json")["steps"].as_u64(), Some(3));
    // Resumed with 2 + 2 epochs: 12 steps in all, the last two epochs decaying linearly.
    let events = train(short_run(&dataset, 2, 2), &run_dir, true);
    let Some(Event::RunStarted(info)) = events.first() else {
        panic!("expected RunStarted first, got {:?}", events.first());
    };
    assert_eq!((info.start_step, info.total_steps), (3, 12));
    let history: History = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("checkpoints/step_00000012/history.json")).unwrap(),
    )
    .unwrap();
    let schedule = short_run(&dataset, 2, 2).schedule;
    for record in &history.losses {
        let epoch = ((record.step - 1) / 3) as usize;
        let expected = schedule.learning_rate(2e-4, epoch);
        assert!(
            (record.learning_rate - expected).abs() < 1e-12,
            "step {}: {} vs {expected}",
            record.step,
            record.learning_rate
        );
    }
    assert_eq!(history.losses.len(), 12);
}

#[test]
fn resume_refuses_adam_moments_of_the_wrong_length() {
    let run_dir = temp_dir("ckpt-adam-length");
    train(tiny_run(2), &run_dir, false);
    let dir = run_folder::latest(&run_dir).unwrap().unwrap();
    let path = dir.join("optimizer.safetensors");
    // Every moment as it was, but one cut short by a value.
    let mut dict = StateDict::read(&path).unwrap();
    let mut keys: Vec<String> = dict.keys().map(String::from).collect();
    keys.sort();
    let short_key = keys
        .iter()
        .find(|key| key.ends_with(".exp_avg"))
        .unwrap()
        .clone();
    let entries: Vec<(String, Vec<u8>, usize)> = keys
        .iter()
        .map(|key| {
            let mut values = dict.take_values(key).unwrap().unwrap();
            if *key == short_key {
                values.pop();
            }
            let len = values.len();
            (
                key.clone(),
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                len,
            )
        })
        .collect();
    let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = entries
        .iter()
        .map(|(key, bytes, len)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![*len], bytes)
                    .unwrap();
            (key.as_str(), view)
        })
        .collect();
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();

    let worker = worker();
    worker.send(request(tiny_run(4), &run_dir, true)).unwrap();
    match next(&worker) {
        Event::Failed { message } => {
            let key = short_key.trim_end_matches(".exp_avg");
            assert!(
                message.contains("optimizer.safetensors") && message.contains(key),
                "{message}"
            );
        }
        other => panic!("expected the resume to fail, got {other:?}"),
    }
}
