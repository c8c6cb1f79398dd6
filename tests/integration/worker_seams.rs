//! The worker under the conditions a session meets: Stop while a run is starting, a model that
//! changes on disk while the app runs.

use std::path::Path;

use burn::tensor::Device;
use image::{DynamicImage, RgbImage};
use pix2pix_studio::device::DeviceChoice;
use pix2pix_studio::inference::{ModelSource, SizeMode, TranslateOptions, Translator};
use pix2pix_studio::training::checkpoint;
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
fn stop_while_starting_gives_up_the_start() {
    let run_dir = temp_dir("worker-stop-starting");
    let worker = worker();
    // A large translation keeps the worker busy, so Start and Stop are both waiting before it
    // begins the start: the Stop is seen by the start itself, not after it.
    let demo =
        ModelSource::Checkpoint(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/sketches"));
    worker
        .send(translate(1, demo, &gradient(768, 768)))
        .unwrap();
    worker.send(request(tiny_run(50), &run_dir, false)).unwrap();
    worker.send(Command::Stop).unwrap();
    assert!(matches!(next(&worker), Event::Translated { id: 1, .. }));
    let events = until_finished(&worker);
    assert!(
        matches!(
            events.as_slice(),
            [Event::Finished {
                step: 0,
                stopped: true
            }]
        ),
        "the start gives up at once, trains and saves nothing: {events:?}"
    );
    assert!(checkpoint::latest(&run_dir).unwrap().is_none());
    // The Stop that ended the start is not reported as refused, and the next run is not
    // stopped by it.
    worker.send(Command::Stop).unwrap();
    match next(&worker) {
        Event::Rejected { command, .. } => assert_eq!(command, "Stop"),
        other => panic!("a Stop with no run is refused, got {other:?}"),
    }
    let fresh = temp_dir("worker-stop-starting-fresh");
    worker.send(request(tiny_run(2), &fresh, false)).unwrap();
    let events = until_finished(&worker);
    assert!(
        matches!(
            events.last(),
            Some(Event::Finished {
                step: 2,
                stopped: false
            })
        ),
        "{events:?}"
    );
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
    let latest = checkpoint::latest(&run_dir).unwrap().unwrap();
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
    let other_latest = checkpoint::latest(&other_run).unwrap().unwrap();
    std::fs::copy(
        other_latest.join("generator.safetensors"),
        model.join("generator.safetensors"),
    )
    .unwrap();
    let second = translated(&worker, 4, folder.clone(), &image);
    assert_ne!(first, second, "the replaced weights are used");
    assert_eq!(second, direct(&folder, &image));
}
