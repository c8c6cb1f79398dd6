//! The training engine: the worker's events and commands, checkpoints, exact resume,
//! translation, and the CLI end to end.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use pix2pix_studio::config::run_folder;
use pix2pix_studio::config::{RunConfig, TrainingConfig};
use pix2pix_studio::inference::{
    ModelSource, SizeMode, TranslateOptions, Translator, infer_architecture,
};
use pix2pix_studio::model::pytorch::StateDict;
use pix2pix_studio::model::{Dropout, NormMode, PatchDiscriminatorConfig, UnetGeneratorConfig};
use pix2pix_studio::platform::device::DeviceChoice;
use pix2pix_studio::training::checkpoint::{self, CheckpointKind, Counters};
use pix2pix_studio::training::history::History;
use pix2pix_studio::training::{TrainingState, train_step};
use pix2pix_studio::worker::{
    Command, Event, TrainingRequest, TranslateInputs, TranslateRequest, WorkerHandle,
};

use crate::util::{parity_dir, sketches, temp_dir, tiny_run, values};

pub(crate) fn request(config: RunConfig, run_dir: &Path, resume: bool) -> Command {
    Command::StartTraining(Box::new(TrainingRequest {
        config,
        run_dir: run_dir.to_path_buf(),
        resume,
        device: DeviceChoice::Cpu,
    }))
}

pub(crate) fn next(worker: &WorkerHandle) -> Event {
    worker
        .recv_timeout(Duration::from_secs(120))
        .expect("the worker went quiet")
}

/// Collects events until the run finishes or fails.
pub(crate) fn until_finished(worker: &WorkerHandle) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let event = next(worker);
        let done = matches!(event, Event::Finished { .. } | Event::Failed { .. });
        events.push(event);
        if done {
            return events;
        }
    }
}

pub(crate) fn worker() -> WorkerHandle {
    WorkerHandle::spawn(Box::new(|_| {})).unwrap()
}

#[test]
fn a_short_run_reports_events_in_order() {
    let run_dir = temp_dir("engine-events");
    let worker = worker();
    worker.send(request(tiny_run(6), &run_dir, false)).unwrap();
    let events = until_finished(&worker);
    let Event::RunStarted(info) = &events[0] else {
        panic!("first event: {:?}", events[0]);
    };
    assert_eq!(info.start_step, 0);
    assert_eq!(info.total_steps, 6);
    assert_eq!(info.dataset.pairs_per_split.values().sum::<usize>(), 264);
    let steps: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress(p) => {
                assert!(p.losses.is_finite(), "{p:?}");
                Some(p.step)
            }
            _ => None,
        })
        .collect();
    assert_eq!(steps, vec![1, 2, 3, 4, 5, 6]);
    let validations: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Validation { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(validations, vec![0, 4]);
    let previews: Vec<(u64, usize)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Preview { step, triplets } => Some((*step, triplets.len())),
            _ => None,
        })
        .collect();
    assert_eq!(previews, vec![(1, 2), (3, 2), (6, 2)]);
    if let Some(Event::Preview { triplets, .. }) =
        events.iter().find(|e| matches!(e, Event::Preview { .. }))
    {
        assert_eq!(triplets[0].generated.dimensions(), (32, 32));
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::CheckpointSaved { step: 5, .. }))
    );
    assert!(matches!(
        events.last(),
        Some(Event::Finished {
            step: 6,
            stopped: false
        })
    ));
    assert!(run_dir.join("previews/step_00000003.png").is_file());
    assert_eq!(
        run_folder::latest(&run_dir).unwrap().unwrap(),
        run_dir.join("checkpoints/step_00000006")
    );
}

#[test]
fn pause_resume_and_stop_are_honoured_between_steps() {
    let run_dir = temp_dir("engine-pause");
    let worker = worker();
    worker
        .send(request(tiny_run(10_000), &run_dir, false))
        .unwrap();
    // Wait for the first step, then pause.
    while !matches!(next(&worker), Event::Progress(_)) {}
    worker.send(Command::Pause).unwrap();
    let paused_at = loop {
        if let Event::Paused { step } = next(&worker) {
            break step;
        }
    };
    // Nothing trains while paused.
    let quiet_until = Instant::now() + Duration::from_millis(400);
    while Instant::now() < quiet_until {
        if let Some(event) = worker.recv_timeout(Duration::from_millis(50)) {
            assert!(
                !matches!(event, Event::Progress(_)),
                "trained while paused: {event:?}"
            );
        }
    }
    worker.send(Command::Pause).unwrap();
    assert!(
        matches!(next(&worker), Event::Rejected { .. }),
        "a second pause is refused"
    );
    worker.send(Command::Resume).unwrap();
    assert_eq!(next(&worker), Event::Resumed { step: paused_at });
    while !matches!(next(&worker), Event::Progress(p) if p.step > paused_at) {}
    worker.send(Command::SaveCheckpoint).unwrap();
    while !matches!(next(&worker), Event::CheckpointSaved { .. }) {}
    worker.send(Command::Stop).unwrap();
    let events = until_finished(&worker);
    let Some(Event::Finished {
        step,
        stopped: true,
    }) = events.last()
    else {
        panic!("{:?}", events.last());
    };
    assert!(events.iter().any(|e| matches!(e, Event::CheckpointSaved { step: s, kind: CheckpointKind::Latest, .. } if s == step)));
    let stopped_at = *step;
    worker.send(Command::Stop).unwrap();
    assert!(matches!(next(&worker), Event::Rejected { .. }));
    // A new run into the same folder is refused: it would overwrite the stopped one.
    worker.send(request(tiny_run(3), &run_dir, false)).unwrap();
    let Event::Failed { message } = next(&worker) else {
        panic!("expected a refusal")
    };
    assert!(message.contains("already holds a run"), "{message}");
    assert!(stopped_at > paused_at);
}

/// The generator's output for a fixed input, from a checkpoint folder.
fn checkpoint_output(dir: &Path) -> Vec<f32> {
    let translator =
        Translator::load(&ModelSource::Checkpoint(dir.to_path_buf()), &Device::flex()).unwrap();
    let image = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(32, 32, |x, y| {
        image::Rgb([(x * 8) as u8, (y * 8) as u8, 77])
    }));
    let output = translator
        .translate(
            &image,
            &TranslateOptions {
                norm: NormMode::RunningStats,
                ..TranslateOptions::default()
            },
        )
        .unwrap();
    output
        .to_rgb8()
        .into_raw()
        .into_iter()
        .map(f32::from)
        .collect()
}

#[test]
fn resuming_continues_exactly_where_the_run_stopped() {
    // One run of 8 steps, and one of 4 steps resumed to 8: same weights, same history.
    let straight = temp_dir("engine-straight");
    let worker = worker();
    worker.send(request(tiny_run(8), &straight, false)).unwrap();
    until_finished(&worker);

    let resumed = temp_dir("engine-resumed");
    worker.send(request(tiny_run(4), &resumed, false)).unwrap();
    until_finished(&worker);
    worker.send(request(tiny_run(8), &resumed, true)).unwrap();
    let events = until_finished(&worker);
    let Event::RunStarted(info) = &events[0] else {
        panic!("{:?}", events[0])
    };
    assert_eq!(info.start_step, 4);
    assert_eq!(
        info.history.losses.len(),
        4,
        "the history comes back with the run"
    );

    let a = run_folder::latest(&straight).unwrap().unwrap();
    let b = run_folder::latest(&resumed).unwrap().unwrap();
    for file in [
        "generator.safetensors",
        "discriminator.safetensors",
        "optimizer.safetensors",
    ] {
        assert!(
            std::fs::read(a.join(file)).unwrap() == std::fs::read(b.join(file)).unwrap(),
            "{file} differs"
        );
    }
    let read = |dir: &Path| -> (Counters, History) {
        (
            serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap(),
            serde_json::from_slice(&std::fs::read(dir.join("history.json")).unwrap()).unwrap(),
        )
    };
    let ((counters_a, history_a), (counters_b, history_b)) = (read(&a), read(&b));
    assert_eq!(counters_a, counters_b);
    assert_eq!(counters_b.steps, 8);
    assert_eq!(
        history_a.losses, history_b.losses,
        "the curves continue without a jump"
    );
    assert_eq!(checkpoint_output(&a), checkpoint_output(&b));
}

#[test]
fn a_checkpoint_round_trip_restores_networks_and_optimisers() {
    let device = Device::flex();
    let config = tiny_run(1);
    let mut state = TrainingState::new(&config.training, &device).unwrap();
    let input = crate::seeded::seeded_uniform([1, 3, 32, 32], &state.device);
    let target = input.clone().neg();
    for _ in 0..2 {
        train_step(&mut state, input.clone(), target.clone(), 2e-4).unwrap();
    }
    let run_dir = temp_dir("engine-roundtrip");
    let counters = Counters {
        steps: state.steps,
        learning_rate: 2e-4,
        generator_optimizer_steps: state.generator_optimizer.steps(),
        discriminator_optimizer_steps: state.discriminator_optimizer.steps(),
        ..Counters::default()
    };
    let dir = checkpoint::save(
        &run_dir,
        &config,
        &state,
        &counters,
        &History::default(),
        CheckpointKind::Latest,
    )
    .unwrap();
    let mut restored = checkpoint::load(&dir, &config, &device).unwrap().state;
    // The same step from the original and the restored state gives the same weights.
    train_step(&mut state, input.clone(), target.clone(), 2e-4).unwrap();
    train_step(&mut restored, input.clone(), target.clone(), 2e-4).unwrap();
    let weights = |s: &TrainingState| values(s.generator.levels[1].down.weight.val());
    assert_eq!(weights(&state), weights(&restored));
    let probe = input.inner();
    let out = |s: &TrainingState| {
        values(
            burn::module::Module::valid(&s.generator)
                .forward(probe.clone(), NormMode::RunningStats, Dropout::Off)
                .unwrap(),
        )
    };
    assert_eq!(out(&state), out(&restored));
}

#[test]
fn broken_or_foreign_checkpoints_are_refused_by_name() {
    let run_dir = temp_dir("engine-broken");
    let worker = worker();
    worker.send(request(tiny_run(2), &run_dir, false)).unwrap();
    until_finished(&worker);
    let dir = run_folder::latest(&run_dir).unwrap().unwrap();
    let config = run_folder::read_config(&run_dir).unwrap();

    let bytes = std::fs::read(dir.join("generator.safetensors")).unwrap();
    std::fs::write(dir.join("generator.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    let err = checkpoint::load(&dir, &config, &Device::flex())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("generator.safetensors"), "{err}");
    // Resuming such a run fails with the reason and changes nothing.
    worker.send(request(tiny_run(4), &run_dir, true)).unwrap();
    let Event::Failed { message } = next(&worker) else {
        panic!("expected a failure")
    };
    assert!(message.contains("generator.safetensors"), "{message}");

    std::fs::remove_file(dir.join("state.json")).unwrap();
    let err = checkpoint::load(&dir, &config, &Device::flex())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("state.json is missing"), "{err}");

    // A checkpoint of another architecture names the key and both shapes.
    let other = RunConfig {
        training: TrainingConfig::new(
            UnetGeneratorConfig::new().with_num_downs(5).with_ngf(8),
            PatchDiscriminatorConfig::new().with_ndf(4).with_n_layers(2),
        ),
        ..config.clone()
    };
    let fresh = temp_dir("engine-foreign");
    worker.send(request(tiny_run(1), &fresh, false)).unwrap();
    until_finished(&worker);
    let fresh_dir = run_folder::latest(&fresh).unwrap().unwrap();
    let err = checkpoint::load(&fresh_dir, &other, &Device::flex())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("model.model.0.weight") && err.contains("[8, 3, 4, 4]"),
        "{err}"
    );
    let missing = checkpoint::load(&fresh.join("nope"), &config, &Device::flex())
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("nope"), "{missing}");
}

#[test]
fn translation_through_the_worker_and_from_exported_weights() {
    let run_dir = temp_dir("engine-translate");
    let worker = worker();
    worker.send(request(tiny_run(3), &run_dir, false)).unwrap();
    until_finished(&worker);
    let image = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(50, 30, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 8) as u8, 30])
    }));
    for size in [SizeMode::TrainedSize, SizeMode::Pad, SizeMode::Resize] {
        let options = TranslateOptions {
            size,
            ..TranslateOptions::default()
        };
        worker
            .send(Command::Translate(Box::new(TranslateRequest {
                id: 7,
                model: Some(ModelSource::RunDir(run_dir.clone())),
                inputs: TranslateInputs::Images(vec![image.clone()]),
                options,
                device: DeviceChoice::Cpu,
            })))
            .unwrap();
        let Event::Translated { id, images, .. } = next(&worker) else {
            panic!("no translation")
        };
        assert_eq!(id, 7);
        assert_eq!(
            (images[0].width(), images[0].height()),
            (50, 30),
            "{size:?}"
        );
    }
    let checkpoint_dir = run_folder::latest(&run_dir).unwrap().unwrap();
    let exported = run_dir.join("exported.safetensors");
    let translator =
        Translator::load(&ModelSource::Checkpoint(checkpoint_dir), &Device::flex()).unwrap();
    pix2pix_studio::model::pytorch::save_generator(translator.generator(), &exported).unwrap();
    let imported = Translator::load(
        &ModelSource::Weights {
            path: exported.clone(),
            architecture: None,
        },
        &Device::flex(),
    )
    .unwrap();
    assert_eq!(imported.config().num_downs, 5);
    assert_eq!(imported.config().ngf, 4);
    let options = TranslateOptions {
        size: SizeMode::Pad,
        ..TranslateOptions::default()
    };
    assert_eq!(
        translator.translate(&image, &options).unwrap().to_rgb8(),
        imported.translate(&image, &options).unwrap().to_rgb8(),
        "export then import gives identical outputs"
    );
    // No run and no model: refused.
    worker
        .send(Command::Translate(Box::new(TranslateRequest {
            id: 8,
            model: None,
            inputs: TranslateInputs::Images(vec![image]),
            options,
            device: DeviceChoice::Cpu,
        })))
        .unwrap();
    assert!(matches!(
        next(&worker),
        Event::TranslateFailed { id: 8, .. }
    ));
}

#[test]
fn the_architecture_of_reference_weights_is_read_from_their_keys() {
    let path = parity_dir().join("G_unet256_ngf4.pth");
    let config = infer_architecture(&StateDict::read(&path).unwrap(), &path).unwrap();
    assert_eq!(config, UnetGeneratorConfig::new().with_ngf(4));
    let translator = Translator::load(
        &ModelSource::Weights {
            path,
            architecture: None,
        },
        &Device::flex(),
    )
    .unwrap();
    // Dropout from a seed repeats with the seed and changes with it.
    let image = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(256, 256, |x, y| {
        image::Rgb([x as u8, y as u8, 128])
    }));
    let with_seed = |seed| {
        let options = TranslateOptions {
            dropout_seed: Some(seed),
            ..TranslateOptions::default()
        };
        translator.translate(&image, &options).unwrap().to_rgb8()
    };
    assert_eq!(with_seed(1), with_seed(1));
    assert_ne!(with_seed(1), with_seed(2));
    let discriminator = parity_dir().join("D_basic_ndf4.safetensors");
    let err = infer_architecture(&StateDict::read(&discriminator).unwrap(), &discriminator)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a reference U-Net generator"), "{err}");
}

/// Mean absolute difference of two pictures of the same size, in 8-bit levels.
fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let total: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
        .sum();
    total / a.as_raw().len() as f64
}

#[test]
fn the_built_in_demo_model_colours_a_committed_sketch_from_any_folder() {
    let dir = temp_dir("engine-demo-smoke");
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/examples");
    // Run from a folder with no assets/ in it: the demo model is inside the binary.
    run_ok(
        binary()
            .current_dir(&dir)
            .arg("translate")
            .arg(examples.join("house_sketch.png"))
            .args(["-o"])
            .arg(&dir),
    );
    let result = image::open(dir.join("house_sketch.png")).unwrap().to_rgb8();
    assert_eq!(result.dimensions(), (128, 128));
    // Not blank and not constant: varied, and coloured somewhere (a sketch is black on white).
    let levels: Vec<f64> = result.as_raw().iter().map(|&v| f64::from(v)).collect();
    let mean = levels.iter().sum::<f64>() / levels.len() as f64;
    let spread =
        (levels.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / levels.len() as f64).sqrt();
    assert!(spread > 20.0, "nearly constant output (std {spread:.1})");
    let coloured = result
        .pixels()
        .filter(|pixel| {
            let [r, g, b] = pixel.0;
            r.max(g).max(b) - r.min(g).min(b) > 80
        })
        .count();
    assert!(coloured > 500, "only {coloured} coloured pixels");
    let expected = image::open(examples.join("expected/sketches/house.png"))
        .unwrap()
        .to_rgb8();
    let diff = mean_abs_diff(&result, &expected);
    assert!(
        diff < 3.0,
        "differs from the stored expectation by {diff:.2} levels"
    );
}

#[test]
fn the_built_in_demo_models_are_the_shipped_folders() {
    use pix2pix_studio::platform::bundled::DemoModel;
    let image = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(90, 70, |x, y| {
        image::Rgb([(x * 3) as u8, (y * 3) as u8, 200])
    }));
    for model in [DemoModel::Sketches, DemoModel::Labels] {
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("assets/demo")
            .join(model.name());
        let translate = |source: ModelSource| {
            Translator::load(&source, &Device::flex())
                .unwrap()
                .translate(&image, &TranslateOptions::default())
                .unwrap()
                .to_rgb8()
        };
        assert_eq!(
            translate(ModelSource::Demo(model)),
            translate(ModelSource::Checkpoint(folder)),
            "{model:?}"
        );
    }
}

/// Runs the binary and checks that it succeeded (showing its errors otherwise).
pub(crate) fn run_ok(command: &mut std::process::Command) -> std::process::Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The tiny run's network on the command line (see `util::tiny_run`).
pub(crate) const TINY_CLI: [&str; 8] = [
    "--crop_size",
    "32",
    "--num_downs",
    "5",
    "--ngf",
    "4",
    "--ndf",
    "4",
];

pub(crate) fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_pix2pix-studio"))
}

#[test]
fn io_errors_name_their_cause_once() {
    let missing = temp_dir("engine-io-cause").join("no-such-folder");
    for args in [
        vec!["inspect".into(), missing.display().to_string()],
        vec![
            "judge".into(),
            "-m".into(),
            missing.display().to_string(),
            "a.png".into(),
            "b.png".into(),
            "-o".into(),
            "map.png".into(),
        ],
    ] {
        let output = binary()
            .args(["--device", "cpu"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.lines().last().unwrap_or_default();
        assert!(message.contains(&*missing.to_string_lossy()), "{message}");
        let parts: Vec<&str> = message.split(": ").collect();
        assert!(
            parts.windows(2).all(|pair| pair[0] != pair[1]),
            "a cause repeated: {message}"
        );
    }
}

#[test]
fn the_cli_trains_then_translates_and_reports_errors_with_exit_codes() {
    let dir = temp_dir("engine-cli");
    let run_dir = dir.join("run");
    let status = binary()
        .args(["--device", "cpu", "train", "--dataroot"])
        .arg(sketches())
        .args(["-o"])
        .arg(&run_dir)
        .args(TINY_CLI)
        .args(["--max-steps", "3"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let output_dir = dir.join("out");
    run_ok(
        binary()
            .args(["translate", "-m"])
            .arg(&run_dir)
            .arg(sketches().join("val"))
            .args(["-o"])
            .arg(&output_dir),
    );
    assert_eq!(std::fs::read_dir(&output_dir).unwrap().count(), 24);
    let exported = binary()
        .arg("export")
        .arg(&run_dir)
        .args(["-o"])
        .arg(dir.join("g.safetensors"))
        .output()
        .unwrap();
    assert!(exported.status.success());
    half_precision_export_gives_the_same_pictures(&dir, &run_dir, &output_dir);
    judge_compare_and_inspect_read_the_run(&dir, &run_dir, &output_dir);
    the_gallery_scores_and_makes_best_headless(&dir, &run_dir);
    errors_have_exit_codes(&dir);
}

/// `export --half`: half the size, loads like a checkpoint, the same pictures.
fn half_precision_export_gives_the_same_pictures(dir: &Path, run_dir: &Path, output_dir: &Path) {
    // A half-precision model folder: half the size, loads like a checkpoint, same pictures.
    let half_dir = dir.join("half-model");
    run_ok(
        binary()
            .arg("export")
            .arg(run_dir)
            .args(["--half", "-o"])
            .arg(&half_dir),
    );
    let size = |path: PathBuf| std::fs::metadata(path).unwrap().len();
    assert!(
        size(half_dir.join("generator.safetensors")) * 10 < size(dir.join("g.safetensors")) * 6,
        "f16 weights are about half the size"
    );
    let half_output_dir = dir.join("out-half");
    run_ok(
        binary()
            .args(["translate", "-m"])
            .arg(&half_dir)
            .arg(sketches().join("val").join("0000_house.png"))
            .args(["-o"])
            .arg(&half_output_dir),
    );
    let full = image::open(output_dir.join("0000_house.png"))
        .unwrap()
        .to_rgb8();
    let half = image::open(half_output_dir.join("0000_house.png"))
        .unwrap()
        .to_rgb8();
    assert!(
        mean_abs_diff(&full, &half) < 2.0,
        "f16 weights change the picture"
    );
}

/// `judge`, `compare` and `inspect` on the trained run.
fn judge_compare_and_inspect_read_the_run(dir: &Path, run_dir: &Path, output_dir: &Path) {
    // The run's discriminator judges the pair (input, translation) at the training size.
    let map = dir.join("map.png");
    let house = sketches().join("val").join("0000_house.png");
    let judged = run_ok(
        binary()
            .args(["judge", "-m"])
            .arg(run_dir)
            .arg(&house)
            .arg(output_dir.join("0000_house.png"))
            .args(["-o"])
            .arg(&map),
    );
    let said = String::from_utf8_lossy(&judged.stdout);
    assert!(said.contains("P(real) mean"), "{said}");
    assert_eq!(image::open(&map).unwrap().to_rgb8().dimensions(), (32, 32));
    // A run compared with itself: no differing options, its scores.
    let compared = run_ok(binary().arg("compare").arg(run_dir).arg(run_dir));
    let table = String::from_utf8_lossy(&compared.stdout);
    assert!(
        table.contains("(the runs' options are all the same)"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|line| line.starts_with("steps") && line.contains('3')),
        "{table}"
    );
    let inspected = binary().arg("inspect").arg(run_dir).output().unwrap();
    assert!(String::from_utf8_lossy(&inspected.stdout).contains("step 3"));
}

/// `checkpoints`: each checkpoint scored, a sheet, the best chosen by name.
fn the_gallery_scores_and_makes_best_headless(dir: &Path, run_dir: &Path) {
    // The gallery headless: each checkpoint scored on the 24 validation pairs, a sheet of
    // thumbnails (inputs, targets, a row per checkpoint), and the best moved by name.
    let sheet = dir.join("sheet.png");
    let latest = run_folder::latest(run_dir).unwrap().unwrap();
    let latest_name = latest.file_name().unwrap().to_string_lossy().into_owned();
    let scored = run_ok(
        binary()
            .arg("checkpoints")
            .arg(run_dir)
            .args(["-o"])
            .arg(&sheet)
            .args(["--make-best", &latest_name]),
    );
    let said = String::from_utf8_lossy(&scored.stdout);
    assert!(said.contains("scored on 24 validation pairs"), "{said}");
    assert!(said.contains("lowest L1"), "{said}");
    assert!(said.contains("is now the run's best"), "{said}");
    assert_eq!(run_folder::best(run_dir).unwrap(), Some(latest));
    let rows = 2 + said
        .lines()
        .filter(|line| line.starts_with("step_"))
        .count() as u32;
    assert_eq!(
        image::open(&sheet).unwrap().to_rgb8().dimensions(),
        (32 * 4, 32 * rows)
    );
    let unknown = binary()
        .arg("checkpoints")
        .arg(run_dir)
        .args(["--make-best", "epoch_9999"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no checkpoint named epoch_9999"));
}

/// A usage error exits 2, a failed command 1, with one `error:` line naming the file.
fn errors_have_exit_codes(dir: &Path) {
    let usage = binary().args(["train", "--no-such-flag"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let missing = binary()
        .args(["--device", "cpu", "train", "--dataroot"])
        .arg(dir.join("no-data"))
        .args(["-o"])
        .arg(dir.join("run2"))
        .args(["--crop_size", "32", "--num_downs", "5"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("no-data") && stderr.matches("error:").count() == 1,
        "{stderr}"
    );
}

#[test]
fn a_diverging_run_stops_with_a_message_and_keeps_its_last_good_checkpoint() {
    let run_dir = temp_dir("engine-nan");
    let mut config = tiny_run(50);
    // Adam moves each weight by about the learning rate per step. At 1e17 the first step's
    // losses are finite (the saved checkpoint) and the second overflows f32 in D's activations.
    // BatchNorm's statistics are centred and summed in f64, as PyTorch's, so a rate that only
    // makes the weights absurd (1e12: losses near 1e25) trains on without a non-finite value.
    config.training = config.training.with_learning_rate(1e17);
    config.intervals.checkpoint_every_steps = 1;
    let worker = worker();
    worker
        .send(request(config.clone(), &run_dir, false))
        .unwrap();
    let events = until_finished(&worker);
    let Some(Event::Failed { message }) = events.last() else {
        panic!("the run did not stop: {:?}", events.last());
    };
    assert!(message.contains("diverged"), "{message}");
    let last_good = events
        .iter()
        .filter_map(|e| match e {
            Event::CheckpointSaved { step, .. } => Some(*step),
            _ => None,
        })
        .max();
    let step = last_good.expect("some steps succeed before the weights blow up");
    let latest = run_folder::latest(&run_dir).unwrap().unwrap();
    assert!(latest.ends_with(format!("step_{step:08}")));
    let restored = checkpoint::load(&latest, &config, &Device::flex()).unwrap();
    assert!(restored.history.losses.iter().all(|r| r.losses.is_finite()));
}

#[test]
fn early_stopping_ends_the_run_with_its_reason() {
    let run_dir = temp_dir("engine-early-stop");
    let mut config = tiny_run(40);
    // A learning rate too small to move f32 weights: the validation L1 never improves on the
    // baseline of step 0, so the run ends after `patience` more validations.
    config.training = config.training.with_learning_rate(1e-30);
    config.intervals.validate_every_steps = 2;
    config.intervals.early_stop_patience = Some(3);
    let worker = worker();
    worker.send(request(config, &run_dir, false)).unwrap();
    let events = until_finished(&worker);
    let (step, reason) = events
        .iter()
        .find_map(|event| match event {
            Event::EarlyStopped { step, reason } => Some((*step, reason.clone())),
            _ => None,
        })
        .expect("an early stop");
    assert_eq!(step, 6, "validations at steps 0 (baseline), 2, 4 and 6");
    assert!(
        reason.contains("not improved for 3 validations"),
        "{reason}"
    );
    assert!(reason.contains("at step 0"), "{reason}");
    assert!(matches!(
        events.last(),
        Some(Event::Finished {
            step: 6,
            stopped: true
        })
    ));
    assert_eq!(
        run_folder::latest(&run_dir).unwrap().unwrap(),
        run_dir.join("checkpoints/step_00000006")
    );
}

#[test]
fn a_folder_job_translates_every_image_in_the_folder() {
    let output_dir = temp_dir("engine-folder-job");
    let worker = worker();
    let folder_job = |id: u64, paths: Vec<PathBuf>| {
        Command::Translate(Box::new(TranslateRequest {
            id,
            model: Some(ModelSource::from_path(Path::new("assets/demo/sketches")).unwrap()),
            inputs: TranslateInputs::Files {
                paths,
                output_dir: output_dir.clone(),
                names_from: None,
                shared_statistics_from: None,
            },
            options: TranslateOptions::default(),
            device: DeviceChoice::Cpu,
        }))
    };
    // The folder stands for its images (not its subfolders), as the app's "Translate folder
    // to disk" sends it.
    worker
        .send(folder_job(1, vec![PathBuf::from("assets/examples")]))
        .unwrap();
    let files = loop {
        match next(&worker) {
            Event::Translated { id: 1, files, .. } => break files,
            Event::TranslateProgress { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    let written: Vec<&str> = files
        .iter()
        .map(|(path, result)| {
            assert!(result.is_ok(), "{}: {result:?}", path.display());
            path.file_name().unwrap().to_str().unwrap()
        })
        .collect();
    assert_eq!(
        written,
        ["fish_sketch.png", "house_sketch.png", "mushroom_sketch.png"]
    );
    assert!(output_dir.join("mushroom_sketch.png").is_file());
    // A path that does not exist fails the job with its name.
    worker
        .send(folder_job(2, vec![PathBuf::from("assets/no-such-folder")]))
        .unwrap();
    let Event::TranslateFailed { id: 2, message } = next(&worker) else {
        panic!("expected the job to fail");
    };
    assert!(message.contains("no-such-folder"), "{message}");
}
