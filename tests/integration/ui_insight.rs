//! The views inside models and runs, driven by egui_kittest against fake worker channels: the
//! checkpoint gallery, the discriminator's judgement in the Translate tab, the inference-modes
//! grid and the run comparison.

use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use image::{DynamicImage, Rgb, RgbImage};

use pix2pix_studio::app::{ModelChoice, StudioApp, Tab};
use pix2pix_studio::inference::ModelSource;
use pix2pix_studio::insight::gallery::{CheckpointEntry, CheckpointScore, GalleryHeader};
use pix2pix_studio::model::NormMode;
use pix2pix_studio::training::metrics::Metrics;
use pix2pix_studio::worker::{Command, Event};

use crate::engine::{request, until_finished, worker};
use crate::ui::{
    Fake, harness, has_label, hovered_cell_text, load_and_translate, settings, step_until,
    verdict_map,
};
use crate::util::{temp_dir, tiny_run};

/// A folder that loads as a checkpoint (`generator.safetensors` is all `from_path` looks at).
fn checkpoint_folder(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("generator.safetensors"), b"").unwrap();
    dir.to_path_buf()
}

fn picture(shade: u8) -> RgbImage {
    RgbImage::from_pixel(16, 16, Rgb([shade, shade, shade]))
}

fn entry(dir: &Path, steps: u64, is_best: bool) -> CheckpointEntry {
    CheckpointEntry {
        dir: dir.to_path_buf(),
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        steps,
        is_latest: !is_best,
        is_best,
    }
}

fn score(l1: f64) -> Box<CheckpointScore> {
    Box::new(CheckpointScore {
        metrics: Metrics {
            l1,
            psnr_db: 20.0,
            ssim: 0.5,
        },
        thumbnails: vec![picture(40), picture(80)],
    })
}

/// Loads the Translate tab's folder, translates it (answered with `output` for `name`) and
/// presses "Judge with the run's discriminator".
fn judged_translation(
    harness: &mut Harness<'static, StudioApp>,
    fake: &Fake,
    name: &str,
    output: RgbImage,
) {
    let translation = load_and_translate(harness, fake, name);
    fake.events
        .send(Event::Translated {
            id: translation.id,
            images: vec![DynamicImage::ImageRgb8(output)],
            files: Vec::new(),
            millis: 3,
        })
        .unwrap();
    harness.run_steps(2);
    harness
        .get_by_label("Judge with the run's discriminator")
        .click();
    harness.run_steps(2);
}

/// Sends the one command the app sent since the last look, or fails naming what came.
fn one_command(fake: &Fake) -> Command {
    let mut sent = fake.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    sent.pop().unwrap()
}

/// What the worker reports scoring the two checkpoints: the earlier one is `best.json` (L1
/// 0.12), the later one scores lower (0.08).
fn scored_gallery(id: u64, early: &Path, late: &Path) -> [Event; 4] {
    let header = GalleryHeader {
        names: vec!["0001_cat.png".into(), "0002_cup.png".into()],
        pairs: 24,
        from_training_split: false,
        inputs: vec![picture(10), picture(20)],
        targets: vec![picture(30), picture(40)],
    };
    [
        Event::GalleryListed {
            id,
            checkpoints: vec![entry(early, 100, true), entry(late, 200, false)],
            header: Box::new(header),
        },
        Event::CheckpointScored {
            id,
            index: 0,
            score: Ok(score(0.12)),
        },
        Event::CheckpointScored {
            id,
            index: 1,
            score: Ok(score(0.08)),
        },
        Event::GalleryScored { id, millis: 2500 },
    ]
}

#[test]
fn a_gallery_click_translates_with_that_checkpoint_and_make_best_asks_the_worker() {
    let root = temp_dir("ui_gallery");
    let run_dir = root.join("run");
    let early = checkpoint_folder(&run_dir.join("checkpoints/epoch_0001"));
    let late = checkpoint_folder(&run_dir.join("checkpoints/step_00000200"));
    let inputs = root.join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    picture(100).save(inputs.join("cat.png")).unwrap();
    let mut settings = settings("ui_gallery_settings");
    settings.tab = Tab::Translate;
    settings.translate_inputs = inputs.display().to_string();
    settings.gallery_run = run_dir.display().to_string();
    let (mut harness, fake) = harness(settings);
    // Images are loaded in the Translate tab (and translated with the demo model).
    load_and_translate(&mut harness, &fake, "cat.png");

    harness.get_by_label("Checkpoints").click();
    harness.run_steps(2);
    harness.get_by_label("Score checkpoints").click();
    harness.run_steps(2);
    let id = match one_command(&fake) {
        Command::ScoreCheckpoints(request) => {
            assert_eq!(request.run_dir, run_dir);
            request.id
        }
        other => panic!("expected ScoreCheckpoints, got {other:?}"),
    };
    assert!(has_label(
        &harness,
        "reading the run and its validation pairs"
    ));
    let events = scored_gallery(id, &early, &late);
    for event in events {
        fake.events.send(event).unwrap();
    }
    harness.run_steps(2);
    assert!(has_label(
        &harness,
        "scored 2 checkpoint(s) on 24 pair(s) in 2.5 s"
    ));
    assert!(has_label(&harness, "input 0001_cat.png"));
    assert!(has_label(&harness, "0002_cup.png by step_00000200"));
    assert!(has_label(
        &harness,
        "L1 0.0800 · PSNR 20.00 dB · SSIM 0.500"
    ));
    // The later checkpoint has the lowest L1; the earlier one is best.json.
    assert_eq!(harness.query_all_by_label("lowest L1").count(), 1);
    assert!(has_label(&harness, "best.json"));

    // Make best on the later one asks the worker, with its score.
    harness
        .query_all_by_label("Make best")
        .last()
        .unwrap()
        .click();
    harness.run_steps(2);
    match one_command(&fake) {
        Command::MakeBest {
            run_dir: asked_run,
            checkpoint,
            val_l1,
        } => {
            assert_eq!((asked_run, checkpoint), (run_dir.clone(), late.clone()));
            assert_eq!(val_l1, Some(0.08));
        }
        other => panic!("expected MakeBest, got {other:?}"),
    }
    fake.events
        .send(Event::BestChosen {
            run_dir: run_dir.clone(),
            checkpoint: late.clone(),
        })
        .unwrap();
    harness.run_steps(2);
    assert!(has_label(&harness, "is now the run's best"));

    // Translate with the earlier one: the Translate tab opens and translates with it.
    harness
        .query_all_by_label("Translate with it")
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings().tab, Tab::Translate);
    let model = &harness.state().settings().translate_model;
    assert_eq!(model.choice, ModelChoice::Checkpoint);
    assert_eq!(model.checkpoint_dir, early.display().to_string());
    match one_command(&fake) {
        Command::Translate(request) => {
            assert_eq!(request.model, Some(ModelSource::Checkpoint(early.clone())));
        }
        other => panic!("expected Translate, got {other:?}"),
    }
}

#[test]
fn a_judged_translation_shows_the_map_and_hovering_a_cell_outlines_its_patch() {
    let root = temp_dir("ui_judge");
    let run_dir = root.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("latest.json"), b"{}").unwrap();
    let inputs = root.join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    RgbImage::from_pixel(64, 64, Rgb([10, 120, 200]))
        .save(inputs.join("photo.png"))
        .unwrap();
    let mut settings = settings("ui_judge_settings");
    settings.tab = Tab::Translate;
    settings.translate_inputs = inputs.display().to_string();
    settings.translate_model.choice = ModelChoice::Checkpoint;
    settings.translate_model.checkpoint_dir = run_dir.display().to_string();
    let (mut harness, fake) = harness(settings);
    let output = RgbImage::from_pixel(64, 64, Rgb([200, 200, 0]));
    judged_translation(&mut harness, &fake, "photo.png", output);
    let id = match one_command(&fake) {
        Command::Judge(request) => {
            assert_eq!(request.model, run_dir);
            assert_eq!(request.pairs.len(), 1);
            assert_eq!(
                request.pairs[0].1.to_rgb8().get_pixel(0, 0),
                &Rgb([200, 200, 0])
            );
            request.id
        }
        other => panic!("expected Judge, got {other:?}"),
    };
    fake.events
        .send(Event::Judged {
            id,
            maps: vec![verdict_map([0.1, 0.2, 0.3, 0.87])],
        })
        .unwrap();
    harness.run_steps(2);
    assert!(!has_label(&harness, "P(real)"));
    harness.get_by_label("D's verdict on photo.png").hover();
    harness.run_steps(2);
    let expected = hovered_cell_text("D on output");
    assert!(has_label(&harness, &expected), "{expected}");
}

#[test]
fn judging_a_demo_model_translation_says_it_has_no_discriminator() {
    let inputs = temp_dir("ui_judge_demo");
    picture(50).save(inputs.join("photo.png")).unwrap();
    let mut settings = settings("ui_judge_demo_settings");
    settings.tab = Tab::Translate;
    settings.translate_inputs = inputs.display().to_string();
    let (mut harness, fake) = harness(settings);
    judged_translation(&mut harness, &fake, "photo.png", picture(60));
    assert!(fake.sent().is_empty());
    assert!(has_label(&harness, "come without their discriminator"));
}

#[test]
fn the_inference_modes_grid_shows_each_mode_side_by_side() {
    let inputs = temp_dir("ui_modes");
    picture(50).save(inputs.join("photo.png")).unwrap();
    let mut settings = settings("ui_modes_settings");
    settings.tab = Tab::Translate;
    settings.translate_inputs = inputs.display().to_string();
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    harness.get_by_label("Load").click();
    step_until(&mut harness, |h| has_label(h, "input photo.png"));
    harness.get_by_label("Compare inference modes").click();
    harness.run_steps(2);
    let requests: Vec<_> = fake
        .sent()
        .into_iter()
        .map(|command| match command {
            Command::Translate(request) => request,
            other => panic!("expected translations, got {other:?}"),
        })
        .collect();
    // Batch and running statistics, each with dropout off and three seeds.
    assert_eq!(requests.len(), 8);
    assert_eq!(requests[0].options.norm, NormMode::BatchStats);
    assert_eq!(requests[0].options.dropout_seed, None);
    assert_eq!(requests[7].options.norm, NormMode::RunningStats);
    assert_eq!(requests[7].options.dropout_seed, Some(3));
    for (index, request) in requests.iter().enumerate() {
        fake.events
            .send(Event::Translated {
                id: request.id,
                images: vec![DynamicImage::ImageRgb8(picture(20 * index as u8))],
                files: Vec::new(),
                millis: 1,
            })
            .unwrap();
    }
    harness.run_steps(2);
    assert!(has_label(&harness, "photo.png under each inference mode"));
    for label in [
        "batch statistics, dropout off",
        "batch statistics, dropout seed 2",
        "running statistics, dropout off",
        "running statistics, dropout seed 3",
    ] {
        assert!(
            harness.query_all_by_label(label).count() >= 1,
            "{label} is shown"
        );
    }
}

/// Trains a two-step run into `dir`, its generator with or without skips.
fn tiny_trained_run(dir: &Path, skips: bool) {
    let mut config = tiny_run(2);
    config.training.generator.skip_connections = skips;
    let worker = worker();
    worker.send(request(config, dir, false)).unwrap();
    until_finished(&worker);
}

fn compare_tab(runs: &[&Path]) -> (Harness<'static, StudioApp>, Fake) {
    let mut settings = settings("ui_compare_settings");
    settings.tab = Tab::Compare;
    settings.compare_runs = runs.iter().map(|dir| dir.display().to_string()).collect();
    harness(settings)
}

#[test]
fn the_comparison_overlays_two_runs_and_tables_their_differing_options() {
    let root = temp_dir("ui_compare");
    let (with_skips, without) = (root.join("unet"), root.join("no-skips"));
    tiny_trained_run(&with_skips, true);
    tiny_trained_run(&without, false);
    let (mut harness, _fake) = compare_tab(&[&with_skips, &without]);
    step_until(&mut harness, |h| {
        has_label(h, "training.generator.skip_connections")
    });
    let runs = harness.state().compared_runs();
    let names: Vec<&str> = runs.iter().map(|run| run.name.as_str()).collect();
    assert_eq!(names, ["unet", "no-skips"]);
    for run in runs {
        assert!(
            !run.validation_l1.is_empty(),
            "{}: the baseline validation",
            run.name
        );
        assert_eq!(run.training_l1.len(), 2, "{}: two steps", run.name);
    }
    assert!(has_label(&harness, "best val L1 (step)"));

    // A folder that is not a run is named with why; the others stay.
    let (mut harness, _fake) = compare_tab(&[&with_skips, &root.join("nothing")]);
    step_until(&mut harness, |h| has_label(h, "nothing/config.json"));
    assert_eq!(harness.state().compared_runs().len(), 1);
}
