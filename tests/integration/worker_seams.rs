//! The worker under the conditions a session meets: a model that changes on disk while the app
//! runs, and who gets the CPU first (Stop while a run starts is a unit test of the worker).

use burn::tensor::Device;
use image::{DynamicImage, RgbImage};
use pix2pix_studio::config::run_folder;
use pix2pix_studio::inference::{ModelSource, SizeMode, TranslateOptions, Translator};
use pix2pix_studio::platform::device::DeviceChoice;
use pix2pix_studio::worker::{Command, Event, TranslateInputs, TranslateRequest, WorkerHandle};

use crate::engine::{next, request, until_finished, worker};
use crate::util::{temp_dir, tiny_run};

fn gradient(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 7 % 256) as u8,
            (y * 3 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    }))
}

fn translate(id: u64, model: ModelSource, image: &DynamicImage) -> Command {
    Command::Translate(Box::new(TranslateRequest {
        id,
        model: Some(model),
        inputs: TranslateInputs::Images(vec![image.clone()]),
        options: TranslateOptions {
            size: SizeMode::Pad,
            ..TranslateOptions::default()
        },
        device: DeviceChoice::Cpu,
    }))
}

/// Translates `image` with `model` through the worker.
fn translated(
    worker: &WorkerHandle,
    id: u64,
    model: ModelSource,
    image: &DynamicImage,
) -> RgbImage {
    worker.send(translate(id, model, image)).unwrap();
    match next(worker) {
        Event::Translated {
            id: got, images, ..
        } if got == id => images[0].to_rgb8(),
        other => panic!("expected translation {id}, got {other:?}"),
    }
}

fn direct(model: &ModelSource, image: &DynamicImage) -> RgbImage {
    let options = TranslateOptions {
        size: SizeMode::Pad,
        ..TranslateOptions::default()
    };
    Translator::load(model, &Device::flex())
        .unwrap()
        .translate(image, &options)
        .unwrap()
        .to_rgb8()
}

#[test]
fn stale_model_cache_follows_a_resumed_run_and_a_replaced_model_folder() {
    let image = gradient(64, 48);
    let worker = worker();
    let run_dir = temp_dir("worker-cache-run");
    worker.send(request(tiny_run(2), &run_dir, false)).unwrap();
    until_finished(&worker);
    let run = ModelSource::RunDir(run_dir.clone());
    let before = translated(&worker, 1, run.clone(), &image);
    assert_eq!(before, direct(&run, &image));

    // The run is resumed and trained further: the same source now means newer weights.
    worker.send(request(tiny_run(6), &run_dir, true)).unwrap();
    until_finished(&worker);
    let after = translated(&worker, 2, run.clone(), &image);
    assert_eq!(after, direct(&run, &image), "the resumed run's weights");
    assert_ne!(before, after, "six steps change the output");

    // A model folder whose generator file is replaced (a re-export) is loaded again.
    let model = temp_dir("worker-cache-model");
    let latest = run_folder::latest(&run_dir).unwrap().unwrap();
    for file in ["generator.safetensors", "config.json"] {
        std::fs::copy(latest.join(file), model.join(file)).unwrap();
    }
    let folder = ModelSource::Checkpoint(model.clone());
    let first = translated(&worker, 3, folder.clone(), &image);
    let other_run = temp_dir("worker-cache-other");
    let mut other = tiny_run(3);
    other.training = other.training.with_seed(99);
    worker.send(request(other, &other_run, false)).unwrap();
    until_finished(&worker);
    let other_latest = run_folder::latest(&other_run).unwrap().unwrap();
    std::fs::copy(
        other_latest.join("generator.safetensors"),
        model.join("generator.safetensors"),
    )
    .unwrap();
    let second = translated(&worker, 4, folder.clone(), &image);
    assert_ne!(first, second, "the replaced weights are used");
    assert_eq!(second, direct(&folder, &image));
}

/// The name and nice value of each thread of process `pid` (Linux `/proc`).
fn thread_priorities(pid: u32) -> Vec<(String, i32)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .flatten()
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let (head, rest) = stat.rsplit_once(") ")?;
            let name = head.split_once(" (")?.1.to_string();
            // Fields from the third (state) on; the nice value is field 19.
            let nice = rest.split_whitespace().nth(19 - 3)?.parse().ok()?;
            Some((name, nice))
        })
        .collect()
}

fn own_priority() -> i32 {
    let names = thread_priorities(std::process::id());
    let current = std::thread::current();
    let name = current.name().unwrap_or_default();
    let short: String = name.chars().take(15).collect();
    names
        .iter()
        .find(|(thread, _)| *thread == short)
        .map_or(0, |(_, nice)| *nice)
}

#[test]
fn the_cli_trains_at_the_priority_it_was_started_with() {
    let dataset = crate::checkpoints::small_sketches("worker-cli-priority-data", 6, 1);
    let run_dir = temp_dir("worker-cli-priority").join("run");
    let mut child = crate::faults::train_command(&dataset, &run_dir, false, 1_000_000)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Training is under way once a checkpoint exists.
    let started = std::time::Instant::now();
    while !run_dir.join("latest.json").exists() && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let threads = thread_priorities(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(run_dir.join("latest.json").exists(), "the run trained");
    assert!(threads.len() > 2, "{threads:?}");
    let ours = own_priority();
    assert!(
        threads.iter().all(|(_, nice)| *nice == ours),
        "a command-line run keeps the priority it was given (nice {ours}): {threads:?}"
    );
}

#[test]
fn the_app_worker_trains_on_its_count_of_low_priority_threads_and_translates_at_its_own() {
    let worker = WorkerHandle::spawn_with(
        std::sync::Arc::new(|_| {}),
        pix2pix_studio::worker::WorkerOptions {
            background_priority: true,
            background_threads: Some(3),
        },
    )
    .unwrap();
    let run_dir = temp_dir("worker-app-priority");
    worker
        .send(request(tiny_run(1_000_000), &run_dir, false))
        .unwrap();
    loop {
        if let Event::Progress(_) = next(&worker) {
            break;
        }
    }
    let threads = thread_priorities(std::process::id());
    worker.send(Command::Stop).unwrap();
    until_finished(&worker);
    let ours = own_priority();
    let training: Vec<&(String, i32)> = threads
        .iter()
        .filter(|(name, _)| name.starts_with("train-"))
        .collect();
    assert_eq!(
        training.len(),
        3,
        "the pool has the threads asked for: {threads:?}"
    );
    assert!(
        training.iter().all(|(_, nice)| *nice == 19),
        "training threads run at the lowest priority: {threads:?}"
    );
    // The worker thread and the translation thread keep the app's priority.
    for name in ["worker", "translate"] {
        assert!(
            threads
                .iter()
                .any(|(thread, nice)| thread == name && *nice == ours),
            "{name}: {threads:?}"
        );
    }
}

/// Waits for the translation `id`, passing over training events.
fn translation_of(worker: &WorkerHandle, id: u64) -> Vec<DynamicImage> {
    loop {
        match next(worker) {
            Event::Translated {
                id: got, images, ..
            } if got == id => return images,
            Event::TranslateFailed { id: got, message } if got == id => {
                panic!("translation {id} failed: {message}")
            }
            _ => {}
        }
    }
}

#[test]
fn the_current_run_translates_while_it_trains_and_while_it_is_paused() {
    let worker = worker();
    let run_dir = temp_dir("worker-live");
    worker
        .send(request(tiny_run(1_000_000), &run_dir, false))
        .unwrap();
    let image = gradient(40, 40);
    let current_run = |id| {
        Command::Translate(Box::new(TranslateRequest {
            id,
            model: None,
            inputs: TranslateInputs::Images(vec![image.clone()]),
            options: TranslateOptions::default(),
            device: DeviceChoice::Cpu,
        }))
    };
    // Asked while the run starts: answered once its weights exist.
    worker.send(current_run(1)).unwrap();
    assert_eq!(translation_of(&worker, 1)[0].width(), 40);
    worker.send(current_run(2)).unwrap();
    translation_of(&worker, 2);
    worker.send(Command::Pause).unwrap();
    loop {
        if let Event::Paused { .. } = next(&worker) {
            break;
        }
    }
    // Paused: no steps, and still an answer.
    worker.send(current_run(3)).unwrap();
    translation_of(&worker, 3);
    worker.send(Command::Stop).unwrap();
    until_finished(&worker);
    // The run is over: the current run is no longer a model.
    worker.send(current_run(4)).unwrap();
    loop {
        match next(&worker) {
            Event::TranslateFailed { id: 4, message } => {
                assert!(message.contains("no run is training"), "{message}");
                break;
            }
            Event::Translated { id: 4, .. } => panic!("no run, no translation"),
            _ => {}
        }
    }
}
