//! The views inside a run, through the worker: the checkpoint gallery (scores equal to what
//! training validated, the best chosen by hand), the discriminator judging a translation, and
//! their errors.

use std::path::{Path, PathBuf};

use image::DynamicImage;
use pix2pix_studio::config::run_folder;
use pix2pix_studio::insight::gallery::{CheckpointEntry, CheckpointScore, THUMBNAILS};
use pix2pix_studio::platform::device::DeviceChoice;
use pix2pix_studio::training::history::History;
use pix2pix_studio::worker::{Command, Event, GalleryRequest, JudgeRequest, WorkerHandle};

use crate::checkpoints::small_sketches;
use crate::engine::{next, request, until_finished, worker};
use crate::util::{sketches, temp_dir, tiny_run};

/// Trains two epochs of six steps into a fresh run folder, keeping both epochs.
fn trained_run(test: &str) -> PathBuf {
    let dataset = small_sketches(&format!("{test}-data"), 6, 3);
    let run_dir = temp_dir(test).join("run");
    let mut config = tiny_run(12);
    config.data.dataset_dir = dataset;
    config.intervals.validate_every_steps = 3;
    config.intervals.checkpoint_every_steps = 100;
    let worker = worker();
    worker.send(request(config, &run_dir, false)).unwrap();
    let events = until_finished(&worker);
    assert!(
        matches!(events.last(), Some(Event::Finished { step: 12, .. })),
        "{:?}",
        events.last()
    );
    run_dir
}

/// The gallery's events for `run_dir`: the listing and each checkpoint's score.
fn score_gallery(
    worker: &WorkerHandle,
    run_dir: &Path,
) -> (Vec<CheckpointEntry>, Vec<Result<CheckpointScore, String>>) {
    worker
        .send(Command::ScoreCheckpoints(GalleryRequest {
            id: 9,
            run_dir: run_dir.to_path_buf(),
            device: DeviceChoice::Cpu,
        }))
        .unwrap();
    let mut listed = Vec::new();
    let mut scores = Vec::new();
    loop {
        match next(worker) {
            Event::GalleryListed {
                id: 9,
                checkpoints,
                header,
            } => {
                assert_eq!(header.pairs, 3, "the three validation pairs");
                assert!(!header.from_training_split);
                assert_eq!(header.inputs.len(), 3);
                listed = checkpoints;
            }
            Event::CheckpointScored {
                id: 9,
                index,
                score,
            } => {
                assert_eq!(index, scores.len(), "scores come in the listing's order");
                scores.push(score.map(|score| *score));
            }
            Event::GalleryScored { id: 9, .. } => return (listed, scores),
            Event::TranslateFailed { id: 9, message } => panic!("{message}"),
            _ => {}
        }
    }
}

#[test]
fn the_gallery_scores_every_checkpoint_as_training_validated_it() {
    let run_dir = trained_run("insight-gallery");
    let worker = worker();
    let (checkpoints, scores) = score_gallery(&worker, &run_dir);
    let names: Vec<&str> = checkpoints.iter().map(|c| c.name.as_str()).collect();
    // Each epoch's end is kept (named by the epochs done).
    assert!(names.contains(&"epoch_0001"), "{names:?}");
    assert!(names.contains(&"epoch_0002"), "{names:?}");
    assert!(checkpoints.windows(2).all(|w| w[0].steps <= w[1].steps));
    assert_eq!(checkpoints.iter().filter(|c| c.is_latest).count(), 1);
    assert_eq!(checkpoints.iter().filter(|c| c.is_best).count(), 1);
    assert_eq!(scores.len(), checkpoints.len());

    // Every checkpoint saved at a validation step scores what that validation recorded.
    let mut compared = 0;
    for (checkpoint, score) in checkpoints.iter().zip(&scores) {
        let score = score.as_ref().unwrap();
        assert_eq!(score.thumbnails.len(), 3.min(THUMBNAILS));
        let history = History::read(&checkpoint.dir).unwrap();
        if let Some(record) = history
            .validations
            .iter()
            .find(|record| record.step == checkpoint.steps)
        {
            assert!(
                (record.metrics.l1 - score.metrics.l1).abs() < 1e-9,
                "{}: validation {} vs gallery {}",
                checkpoint.name,
                record.metrics.l1,
                score.metrics.l1
            );
            assert!((record.metrics.ssim - score.metrics.ssim).abs() < 1e-9);
            compared += 1;
        }
    }
    assert!(
        compared >= 2,
        "validations at steps 3, 6, 9, 12 meet the checkpoints"
    );

    // Making another checkpoint the best moves best.json, and the listing follows.
    let other = checkpoints.iter().find(|c| !c.is_best).unwrap();
    worker
        .send(Command::MakeBest {
            run_dir: run_dir.clone(),
            checkpoint: other.dir.clone(),
            val_l1: Some(0.5),
        })
        .unwrap();
    loop {
        match next(&worker) {
            Event::BestChosen { checkpoint, .. } => {
                assert_eq!(checkpoint, other.dir);
                break;
            }
            Event::Failed { message } => panic!("{message}"),
            _ => {}
        }
    }
    assert_eq!(run_folder::best(&run_dir).unwrap().unwrap(), other.dir);
    let (relisted, _) = score_gallery(&worker, &run_dir);
    let best: Vec<&str> = relisted
        .iter()
        .filter(|c| c.is_best)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(best, [other.name.as_str()]);
}

#[test]
fn a_relative_dataset_path_is_recorded_absolute_so_the_run_is_scored_from_anywhere() {
    let run_dir = temp_dir("insight-relative").join("run");
    let mut config = tiny_run(1);
    // Tests run in the crate's folder, as `train --dataroot sample_pairs/sketches` would.
    config.data.dataset_dir = PathBuf::from("sample_pairs/sketches");
    let worker = worker();
    worker.send(request(config, &run_dir, false)).unwrap();
    until_finished(&worker);
    let recorded = run_folder::read_config(&run_dir).unwrap().data.dataset_dir;
    assert!(recorded.is_absolute(), "{}", recorded.display());
    assert_eq!(
        recorded.canonicalize().unwrap(),
        sketches().canonicalize().unwrap()
    );
}

#[test]
fn a_gallery_of_a_run_without_checkpoints_says_so() {
    let run_dir = temp_dir("insight-no-checkpoint");
    pix2pix_studio::config::run_folder::write_config(&run_dir, &tiny_run(1)).unwrap();
    let err = pix2pix_studio::insight::gallery::list_checkpoints(&run_dir).unwrap_err();
    assert!(err.to_string().contains("no checkpoint yet"), "{err}");
    std::fs::create_dir_all(run_dir.join("checkpoints/.partial-x")).unwrap();
    let err = pix2pix_studio::insight::gallery::list_checkpoints(&run_dir).unwrap_err();
    assert!(err.to_string().contains("no checkpoint yet"), "{err}");
}

#[test]
fn a_checkpoint_of_another_run_cannot_become_the_best() {
    let run_dir = trained_run("insight-foreign-best");
    let foreign = temp_dir("insight-foreign-best-other");
    let err = pix2pix_studio::insight::gallery::make_best(&run_dir, &foreign, None).unwrap_err();
    assert!(
        err.to_string().contains("not a checkpoint of the run"),
        "{err}"
    );
    assert!(
        err.to_string().contains(&foreign.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_gallery_of_a_run_whose_dataset_is_gone_says_so() {
    let dataset = small_sketches("insight-gone-data", 6, 3);
    let run_dir = temp_dir("insight-gone").join("run");
    let mut config = tiny_run(2);
    config.data.dataset_dir = dataset.clone();
    let worker = worker();
    worker.send(request(config, &run_dir, false)).unwrap();
    until_finished(&worker);
    std::fs::remove_dir_all(&dataset).unwrap();
    worker
        .send(Command::ScoreCheckpoints(GalleryRequest {
            id: 4,
            run_dir: run_dir.clone(),
            device: DeviceChoice::Cpu,
        }))
        .unwrap();
    let message = loop {
        match next(&worker) {
            Event::TranslateFailed { id: 4, message } => break message,
            Event::GalleryListed { .. } => panic!("listed without its dataset"),
            _ => {}
        }
    };
    assert!(message.contains("dataset"), "{message}");
    assert!(
        message.contains(&dataset.display().to_string()),
        "{message}"
    );
}

#[test]
fn the_runs_discriminator_judges_a_translation_patch_by_patch() {
    let run_dir = trained_run("insight-judge");
    let worker = worker();
    let pair = image::open(
        sketches()
            .join("val")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap()
    .to_rgb8();
    let (width, height) = pair.dimensions();
    let input = DynamicImage::ImageRgb8(
        image::imageops::crop_imm(&pair, 0, 0, width / 2, height).to_image(),
    );
    let output = DynamicImage::ImageRgb8(
        image::imageops::crop_imm(&pair, width / 2, 0, width / 2, height).to_image(),
    );
    let judge = |id: u64, model: PathBuf| {
        Command::Judge(Box::new(JudgeRequest {
            id,
            model,
            pairs: vec![(input.clone(), output.clone())],
            device: DeviceChoice::Cpu,
        }))
    };
    worker.send(judge(1, run_dir.clone())).unwrap();
    let maps = loop {
        match next(&worker) {
            Event::Judged { id: 1, maps } => break maps,
            Event::TranslateFailed { id: 1, message } => panic!("{message}"),
            _ => {}
        }
    };
    assert_eq!(maps.len(), 1);
    // 32 px through a 2-layer PatchGAN: 6×6 patches of 34 px.
    assert_eq!((maps[0].rows, maps[0].cols), (6, 6));
    assert_eq!(maps[0].image_size, (32, 32));
    assert!(
        maps[0]
            .probabilities
            .iter()
            .all(|p| (0.0..=1.0).contains(p))
    );

    // A demo model has no discriminator: said by name, not a panic.
    worker
        .send(judge(
            2,
            PathBuf::from("assets/demo/sketches/generator.safetensors"),
        ))
        .unwrap();
    let message = loop {
        match next(&worker) {
            Event::TranslateFailed { id: 2, message } => break message,
            Event::Judged { id: 2, .. } => panic!("judged without a discriminator"),
            _ => {}
        }
    };
    assert!(
        message.contains("only a run's own discriminator"),
        "{message}"
    );
}
