//! The desktop app driven by egui_kittest against fake worker channels: commands sent by the
//! panels, events shown by them, strokes on the sketch canvas, undo and redo.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use image::{DynamicImage, Rgb, RgbImage};

use pix2pix_studio::app::{ModelChoice, Settings, StudioApp, Tab, WorkerPort};
use pix2pix_studio::data::Report;
use pix2pix_studio::inference::ModelSource;
use pix2pix_studio::insight::verdict::VerdictMap;
use pix2pix_studio::model::PatchDiscriminatorConfig;
use pix2pix_studio::platform::bundled::DemoModel;
use pix2pix_studio::platform::device::{self, DeviceChoice};
use pix2pix_studio::training::StepLosses;
use pix2pix_studio::training::health::{HealthWarning, Symptom};
use pix2pix_studio::training::metrics::Metrics;
use pix2pix_studio::worker::{
    Command, DeviceReport, Event, Progress, RunInfo, TranslateInputs, TranslateRequest, Triplet,
};

use crate::util::temp_dir;

/// The worker's two channel ends, as the app sees them, and whether its thread is alive.
struct FakeWorker {
    commands: Sender<Command>,
    events: Receiver<Event>,
    alive: Arc<AtomicBool>,
    busy: Arc<AtomicBool>,
    restarts: Arc<AtomicUsize>,
}

impl WorkerPort for FakeWorker {
    fn send(&self, command: Command) -> Result<(), String> {
        if !self.alive.load(Ordering::SeqCst) {
            return Err("the worker has stopped".into());
        }
        if self.busy.load(Ordering::SeqCst) {
            return Err("the worker is busy; try again".into());
        }
        self.commands.send(command).map_err(|err| err.to_string())
    }

    fn try_recv(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    fn restart(&mut self) -> Result<(), String> {
        self.restarts.fetch_add(1, Ordering::SeqCst);
        self.alive.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// The test's ends: commands the app sent, events to inject, the worker's life.
pub(crate) struct Fake {
    pub(crate) commands: Receiver<Command>,
    pub(crate) events: Sender<Event>,
    pub(crate) alive: Arc<AtomicBool>,
    /// Commands are refused as by a full channel.
    pub(crate) busy: Arc<AtomicBool>,
    pub(crate) restarts: Arc<AtomicUsize>,
}

impl Fake {
    pub(crate) fn sent(&self) -> Vec<Command> {
        self.commands.try_iter().collect()
    }
}

pub(crate) fn settings(test: &str) -> Settings {
    let dir = temp_dir(test);
    Settings {
        tab: Tab::Data,
        dataset_dir: "sample_pairs/sketches".into(),
        runs_dir: dir.join("runs").display().to_string(),
        output_dir: dir.join("out").display().to_string(),
        ..Settings::default()
    }
}

pub(crate) fn harness(settings: Settings) -> (Harness<'static, StudioApp>, Fake) {
    let (commands, command_receiver) = crossbeam_channel::bounded(64);
    let (event_sender, events) = crossbeam_channel::bounded(64);
    let alive = Arc::new(AtomicBool::new(true));
    let busy = Arc::new(AtomicBool::new(false));
    let restarts = Arc::new(AtomicUsize::new(0));
    let worker = FakeWorker {
        commands,
        events,
        alive: Arc::clone(&alive),
        busy: Arc::clone(&busy),
        restarts: Arc::clone(&restarts),
    };
    let device = settings.train.device;
    let app = StudioApp::new(settings, Box::new(worker), Arc::new(|| {}));
    assert_eq!(
        command_receiver.try_iter().collect::<Vec<_>>(),
        vec![Command::SelectDevice(device)],
        "the app has the worker look for its device at once"
    );
    let harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 800.0))
        .build_ui_state(
            |ui, app: &mut StudioApp| {
                app.pump(ui.ctx());
                app.ui(ui);
            },
            app,
        );
    let fake = Fake {
        commands: command_receiver,
        events: event_sender,
        alive,
        busy,
        restarts,
    };
    (harness, fake)
}

/// Steps frames until `done` holds (background threads need real time), at most ~10 s.
pub(crate) fn step_until(
    harness: &mut Harness<'static, StudioApp>,
    mut done: impl FnMut(&Harness<'static, StudioApp>) -> bool,
) {
    for _ in 0..200 {
        harness.step();
        if done(harness) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the condition was not met in time");
}

/// Loads the Translate tab's typed folder, waits for `name` to show, presses "Translate images"
/// and returns the one request sent.
pub(crate) fn load_and_translate(
    harness: &mut Harness<'static, StudioApp>,
    fake: &Fake,
    name: &str,
) -> Box<pix2pix_studio::worker::TranslateRequest> {
    harness.run_steps(2);
    harness.get_by_label("Load").click();
    step_until(harness, |h| has_label(h, &format!("input {name}")));
    harness.get_by_label("Translate images").click();
    harness.run_steps(2);
    let mut sent = fake.sent();
    match (sent.pop(), sent.is_empty()) {
        (Some(Command::Translate(request)), true) => request,
        (last, _) => panic!("expected one translation, got {sent:?} then {last:?}"),
    }
}

pub(crate) fn has_label(harness: &Harness<'static, StudioApp>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

pub(crate) fn disabled(harness: &Harness<'static, StudioApp>, label: &str) -> bool {
    harness.get_by_label(label).accesskit_node().is_disabled()
}

pub(crate) fn run_info(steps_per_epoch: usize, total_steps: u64) -> RunInfo {
    let settings = settings("ui_run_info");
    let config = settings.train.run_config(
        &PathBuf::from("sample_pairs/sketches"),
        settings.direction,
        settings.layout,
    );
    RunInfo {
        run_dir: PathBuf::from("runs/sketches-001"),
        config,
        device: device::cpu().info,
        device_note: None,
        dataset: Report::default(),
        steps_per_epoch,
        total_steps,
        start_step: 0,
        history: Default::default(),
    }
}

fn progress(step: u64, g_l1: f32) -> Progress {
    Progress {
        epoch: 0,
        total_epochs: 2,
        step,
        total_steps: 100,
        losses: StepLosses {
            g_gan: 0.7,
            g_l1,
            d_real: 0.6,
            d_fake: 0.65,
            p_real: 0.55,
            p_fake: 0.48,
        },
        learning_rate: 2e-4,
        secs_per_step: 0.5,
        eta_secs: 47.5,
    }
}

/// The Train tab of an app whose worker has just started a run of `steps_per_epoch` steps
/// per epoch and 100 steps in all.
fn train_tab_with_a_run(test: &str, steps_per_epoch: usize) -> (Harness<'static, StudioApp>, Fake) {
    let mut settings = settings(test);
    settings.tab = Tab::Train;
    let (harness, fake) = harness(settings);
    fake.events
        .send(Event::RunStarted(Box::new(run_info(steps_per_epoch, 100))))
        .unwrap();
    (harness, fake)
}

fn triplet(name: &str, shade: u8) -> Triplet {
    let image = RgbImage::from_pixel(16, 16, Rgb([shade, shade, shade]));
    Triplet {
        name: name.into(),
        input: image.clone(),
        generated: image.clone(),
        target: image,
        verdict_generated: None,
        verdict_real: None,
    }
}

/// A 2 × 2 verdict map over a 64 px pair, with the patch geometry of a PatchGAN with one
/// stride-2 layer.
pub(crate) fn verdict_map(probabilities: [f32; 4]) -> VerdictMap {
    VerdictMap {
        rows: 2,
        cols: 2,
        probabilities: probabilities.to_vec(),
        image_size: (64, 64),
        discriminator: PatchDiscriminatorConfig::new().with_n_layers(1),
    }
}

/// What hovering cell (1, 1) of [`verdict_map`] `[.., 0.87]` says, for the map of `role`.
pub(crate) fn hovered_cell_text(role: &str) -> String {
    let patch = PatchDiscriminatorConfig::new()
        .with_n_layers(1)
        .patch_of(1, 1);
    format!(
        "{role}, patch (1, 1): P(real) 0.87. It judges the {side}×{side} square at ({x}, {y}) of \
         the input",
        side = patch.2,
        x = patch.0,
        y = patch.1
    )
}

#[test]
fn hovering_a_verdict_cell_outlines_its_patch_and_names_its_probability() {
    let (mut harness, fake) = train_tab_with_a_run("ui_verdicts", 50);
    let image = RgbImage::from_pixel(64, 64, Rgb([90, 90, 90]));
    let judged = Triplet {
        name: "0003_fish.png".into(),
        input: image.clone(),
        generated: image.clone(),
        target: image,
        verdict_generated: Some(verdict_map([0.1, 0.2, 0.3, 0.87])),
        verdict_real: Some(verdict_map([0.9, 0.9, 0.9, 0.95])),
    };
    fake.events
        .send(Event::Preview {
            step: 7,
            triplets: vec![judged],
        })
        .unwrap();
    harness.run_steps(2);
    assert!(has_label(&harness, "show the discriminator's verdicts"));
    assert!(!has_label(&harness, "P(real)"));
    // The pointer over the map's centre is in its last cell, (1, 1).
    harness
        .get_by_label("D on generated 0003_fish.png at step 7")
        .hover();
    harness.run_steps(2);
    let expected = hovered_cell_text("D on generated");
    assert!(has_label(&harness, &expected), "{expected}");
    // Turned off, the maps go.
    harness
        .get_by_label("show the discriminator's verdicts")
        .click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("D on generated 0003_fish.png at step 7")
            .is_none()
    );
}

#[test]
fn start_sends_the_form_settings_and_controls_follow_the_run() {
    let mut settings = settings("ui_start");
    settings.tab = Tab::Train;
    settings.train.options.n_epochs = 3;
    settings.train.options.ngf = 8;
    settings.train.options.lambda_l1 = 50.0;
    let runs_dir = PathBuf::from(&settings.runs_dir);
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    assert!(disabled(&harness, "Pause"), "nothing to pause before a run");
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    let sent = fake.sent();
    let Some(Command::StartTraining(request)) = sent.first() else {
        panic!("expected StartTraining, got {sent:?}");
    };
    assert_eq!(request.config.schedule.n_epochs, 3);
    assert_eq!(request.config.training.generator.ngf, 8);
    assert_eq!(request.config.training.lambda_l1, 50.0);
    assert_eq!(
        request.config.data.dataset_dir,
        PathBuf::from("sample_pairs/sketches")
    );
    assert_eq!(request.run_dir, runs_dir.join("sketches-001"));
    assert!(!request.resume);
    assert!(
        disabled(&harness, "Start training"),
        "no second start while one is starting"
    );

    fake.events
        .send(Event::RunStarted(Box::new(run_info(50, 100))))
        .unwrap();
    harness.run_steps(2);
    harness.get_by_label("Pause").click();
    harness.run_steps(2);
    assert_eq!(fake.sent(), vec![Command::Pause]);
    fake.events.send(Event::Paused { step: 3 }).unwrap();
    harness.run_steps(2);
    harness.get_by_label("Resume").click();
    harness.get_by_label("Save now").click();
    harness.run_steps(2);
    assert_eq!(fake.sent(), vec![Command::Resume, Command::SaveCheckpoint]);
}

#[test]
fn progress_previews_and_validation_update_curves_labels_and_images() {
    let (mut harness, fake) = train_tab_with_a_run("ui_events", 50);
    for step in 1..=5 {
        fake.events
            .send(Event::Progress(progress(step, 60.0 - step as f32)))
            .unwrap();
    }
    fake.events
        .send(Event::Preview {
            step: 5,
            triplets: vec![triplet("0001_heart.png", 10), triplet("0002_sun.png", 200)],
        })
        .unwrap();
    fake.events
        .send(Event::Validation {
            step: 5,
            metrics: Metrics {
                l1: 0.25,
                psnr_db: 14.5,
                ssim: 0.61,
            },
            pairs: 24,
        })
        .unwrap();
    harness.run_steps(3);
    let run = harness.state().run_view();
    assert_eq!(run.losses.len(), 5);
    assert!(
        (run.losses[4].epoch - 0.1).abs() < 1e-9,
        "step 5 of 50 per epoch"
    );
    assert!(has_label(&harness, "step 5 / 100"));
    assert!(has_label(&harness, "2.00 it/s"));
    assert!(has_label(&harness, "L1 0.2500"));
    for role in ["input", "generated", "target"] {
        harness.get_by_label(&format!("{role} 0002_sun.png at step 5"));
    }
    // A newer preview replaces the shown one; the slider can go back.
    fake.events
        .send(Event::Preview {
            step: 10,
            triplets: vec![triplet("0001_heart.png", 90)],
        })
        .unwrap();
    harness.run_steps(2);
    harness.get_by_label("generated 0001_heart.png at step 10");
    assert!(!has_label(&harness, "at step 5"));
    assert_eq!(harness.state().run_view().previews.len(), 2);
}

#[test]
fn a_health_warning_and_an_early_stop_are_explained_in_the_train_tab() {
    let (mut harness, fake) = train_tab_with_a_run("ui_health", 10);
    let warning = HealthWarning {
        symptom: Symptom::DiscriminatorWins,
        step: 40,
        evidence: "D(x, G(x)) averaged 0.012 over the last 100 steps".into(),
    };
    fake.events
        .send(Event::Health {
            step: 40,
            warnings: vec![warning],
        })
        .unwrap();
    harness.run_steps(2);
    assert!(has_label(
        &harness,
        "the discriminator is winning (step 40)"
    ));
    assert!(has_label(&harness, "D(x, G(x)) averaged 0.012"));
    assert!(has_label(&harness, "Try: Lower the learning rate"));
    // Healthy again: the warning goes.
    fake.events
        .send(Event::Health {
            step: 60,
            warnings: Vec::new(),
        })
        .unwrap();
    let reason = "early stop: the validation L1 has not improved for 3 validations (best 0.0700 \
                  at step 20, kept as the best checkpoint)";
    fake.events
        .send(Event::EarlyStopped {
            step: 80,
            reason: reason.into(),
        })
        .unwrap();
    fake.events
        .send(Event::Finished {
            step: 80,
            stopped: true,
        })
        .unwrap();
    harness.run_steps(2);
    assert!(!has_label(&harness, "the discriminator is winning"));
    assert!(has_label(&harness, reason));
    assert_eq!(
        harness.state().run_view().state,
        pix2pix_studio::app::RunState::Finished { stopped: true }
    );
}

#[test]
fn the_early_stop_field_sets_the_run_options() {
    let mut settings = settings("ui_early_stop_field");
    settings.tab = Tab::Train;
    let (mut harness, _fake) = harness(settings);
    harness.run_steps(2);
    assert_eq!(harness.state().settings().train.options.early_stop, None);
    // The field is at the foot of the options, below the window's edge: scroll to it first.
    let role = egui::accesskit::Role::CheckBox;
    harness
        .get_by_role_and_label(role, "Early stop")
        .scroll_to_me();
    harness.run_steps(2);
    harness
        .get_by_role_and_label(role, "Early stop")
        .click_accesskit();
    harness.run_steps(2);
    let options = &harness.state().settings().train.options;
    assert_eq!(options.early_stop, Some(5));
    assert_eq!(
        harness.state().settings().train.preset,
        pix2pix_studio::app::Preset::Custom
    );
}

#[test]
fn a_failure_shows_its_message() {
    let (mut harness, fake) = train_tab_with_a_run("ui_failure", 10);
    fake.events
        .send(Event::Failed {
            message: "training stopped: the losses became NaN at step 7".into(),
        })
        .unwrap();
    harness.run_steps(2);
    assert!(has_label(&harness, "the losses became NaN at step 7"));
    assert_eq!(
        harness.state().status_error(),
        Some("training stopped: the losses became NaN at step 7")
    );
    harness.get_by_label("Dismiss").click();
    harness.run_steps(2);
    assert_eq!(harness.state().status_error(), None);
}

#[test]
fn the_data_tab_reports_the_folder_and_loads_thumbnails() {
    let (mut harness, _fake) = harness(settings("ui_data"));
    step_until(&mut harness, |h| has_label(h, "train 240, val 24"));
    step_until(&mut harness, |h| has_label(h, "input 0000_balloon.png"));
    assert!(has_label(&harness, "target 0000_balloon.png"));
}

#[test]
fn the_augmentation_preview_draws_a_pair_as_training_sees_it() {
    let (mut harness, _fake) = harness(settings("ui_augment_preview"));
    step_until(&mut harness, |h| has_label(h, "train 240, val 24"));
    harness.get_by_label("Draw a pair").click();
    step_until(&mut harness, |h| has_label(h, "augmented input"));
    // The Quick preset: resized to 143 px, a 128 px crop, flipped or not.
    assert!(has_label(
        &harness,
        "0000_balloon.png: resized to 143×143, a 128×128 crop at"
    ));
    // The next draw shows the next pair, cropped afresh.
    harness.get_by_label("Draw a pair").click();
    step_until(&mut harness, |h| {
        has_label(h, ".png: resized to 143×143") && !has_label(h, "0000_balloon.png: resized")
    });
}

/// Presses, moves through `points` and releases, all queued before one frame.
pub(crate) fn stroke_in_one_frame(harness: &Harness<'static, StudioApp>, points: &[egui::Pos2]) {
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    harness.event(egui::Event::PointerMoved(points[0]));
    harness.event(button(points[0], true));
    for &point in &points[1..] {
        harness.event(egui::Event::PointerMoved(point));
    }
    harness.event(button(points[points.len() - 1], false));
}

pub(crate) fn dark(image: &RgbImage, x: u32, y: u32) -> bool {
    image.get_pixel(x, y).0.iter().all(|&channel| channel < 128)
}

#[test]
fn strokes_land_in_the_sketch_and_translate_newest_first() {
    let mut settings = settings("ui_sketch");
    settings.tab = Tab::Sketch;
    settings.sketch_model.choice = ModelChoice::Weights;
    settings.sketch_model.weights_path = "model.safetensors".into();
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    let canvas = harness.get_by_label("sketch canvas").rect();
    let at = |fx: f32, fy: f32| canvas.min + egui::vec2(fx * canvas.width(), fy * canvas.height());
    // A whole stroke in one frame: every point lands, not just the last position.
    let path: Vec<egui::Pos2> = (0..=8).map(|i| at(0.1 + 0.1 * i as f32, 0.5)).collect();
    stroke_in_one_frame(&harness, &path);
    harness.step();
    let sketch = harness.state().sketch();
    assert_eq!(sketch.history_len(), (1, 0));
    for x in [30, 64, 128, 200, 230] {
        assert!(dark(sketch.image(), x, 128), "no ink at x = {x}");
    }
    assert!(!dark(sketch.image(), 128, 40));
    let sent = fake.sent();
    let [Command::Translate(first)] = sent.as_slice() else {
        panic!("expected one translation, got {sent:?}");
    };
    let TranslateRequest {
        id: first_id,
        inputs: TranslateInputs::Images(images),
        ..
    } = first.as_ref()
    else {
        panic!("expected an in-memory image");
    };
    assert_eq!((images[0].width(), images[0].height()), (256, 256));

    // A second stroke, one event per frame, while the first translation is in flight.
    let vertical: Vec<egui::Pos2> = (0..=4).map(|i| at(0.5, 0.1 + 0.2 * i as f32)).collect();
    harness.event(egui::Event::PointerMoved(vertical[0]));
    harness.step();
    harness.event(egui::Event::PointerButton {
        pos: vertical[0],
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    harness.step();
    for &point in &vertical[1..] {
        harness.event(egui::Event::PointerMoved(point));
        harness.step();
    }
    harness.event(egui::Event::PointerButton {
        pos: vertical[4],
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    harness.step();
    assert_eq!(harness.state().sketch().history_len(), (2, 0));
    assert!(dark(harness.state().sketch().image(), 128, 40));
    assert!(fake.sent().is_empty(), "one request in flight at a time");

    // The first result arrives: it is shown, and the newest sketch is sent at once.
    let result = DynamicImage::ImageRgb8(RgbImage::from_pixel(256, 256, Rgb([200, 30, 30])));
    fake.events
        .send(Event::Translated {
            id: *first_id,
            images: vec![result.clone()],
            files: Vec::new(),
            millis: 12,
        })
        .unwrap();
    harness.run_steps(2);
    assert_eq!(harness.state().sketch_result(), Some(&result));
    assert!(has_label(&harness, "(model 12 ms)"));
    let sent = fake.sent();
    let [Command::Translate(second)] = sent.as_slice() else {
        panic!("expected the newest sketch to be sent, got {sent:?}");
    };
    let TranslateInputs::Images(images) = &second.inputs else {
        panic!("expected an in-memory image");
    };
    assert!(
        dark(&images[0].to_rgb8(), 128, 40),
        "the newest sketch was sent"
    );

    // Undo and redo through the buttons.
    harness.get_by_label("Undo").click();
    harness.run_steps(2);
    assert_eq!(harness.state().sketch().history_len(), (1, 1));
    assert!(!dark(harness.state().sketch().image(), 128, 40));
    harness.get_by_label("Redo").click();
    harness.run_steps(2);
    assert_eq!(harness.state().sketch().history_len(), (2, 0));
    assert!(dark(harness.state().sketch().image(), 128, 40));
}

#[test]
fn translate_loads_images_sends_them_and_saves_the_results() {
    let mut settings = settings("ui_translate");
    let dir = temp_dir("ui_translate_inputs");
    let input_path = dir.join("photo.png");
    RgbImage::from_pixel(40, 30, Rgb([10, 120, 200]))
        .save(&input_path)
        .unwrap();
    settings.tab = Tab::Translate;
    settings.translate_inputs = dir.display().to_string();
    let output_dir = PathBuf::from(&settings.output_dir);
    let (mut harness, fake) = harness(settings);
    let request = load_and_translate(&mut harness, &fake, "photo.png");
    assert_eq!(
        request.model,
        Some(ModelSource::Demo(DemoModel::Sketches)),
        "the demo model by default"
    );
    let output = DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 30, Rgb([250, 250, 0])));
    fake.events
        .send(Event::Translated {
            id: request.id,
            images: vec![output],
            files: Vec::new(),
            millis: 5,
        })
        .unwrap();
    harness.run_steps(2);
    harness.get_by_label("output photo.png");
    harness.get_by_label("Save results").click();
    let saved = output_dir.join("photo_translated.png");
    step_until(&mut harness, |_| saved.exists());
    let written = image::open(&saved).unwrap().to_rgb8();
    assert_eq!(*written.get_pixel(0, 0), Rgb([250, 250, 0]));
}

#[test]
fn a_folder_of_photos_is_offered_the_synthesis_tasks() {
    let photos = temp_dir("ui_photos");
    for (index, shade) in [30u8, 120, 220].into_iter().enumerate() {
        RgbImage::from_fn(64, 64, |x, y| Rgb([shade, (x * 4) as u8, (y * 4) as u8]))
            .save(photos.join(format!("photo_{index}.png")))
            .unwrap();
    }
    let mut settings = settings("ui_photos_settings");
    settings.dataset_dir = photos.display().to_string();
    let (mut harness, _fake) = harness(settings);
    step_until(&mut harness, |h| has_label(h, "These are plain pictures"));
    harness.get_by_label("edges to photo").click();
    step_until(&mut harness, |h| {
        has_label(h, "pairs made by edges to photo")
    });
    assert!(has_label(&harness, "train 3"));
    step_until(&mut harness, |h| has_label(h, "input photo_0.png"));
    assert_eq!(
        harness.state().settings().layout,
        pix2pix_studio::data::LayoutHint::Photos(pix2pix_studio::data::SynthTask::EdgesToPhoto)
    );
}

#[test]
fn palette_mode_draws_label_rectangles_for_the_labels_model() {
    let mut settings = settings("ui_palette");
    settings.tab = Tab::Sketch;
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    harness.get_by_label("Model:").click();
    harness.run_steps(2);
    harness.get_by_label("Facade labels").click();
    harness.run_steps(2);
    assert!(harness.state().settings().palette_mode);
    // The sheet was blank: the model's example came with it. Start from a blank sheet.
    harness.get_by_label("Clear").click();
    harness.run_steps(2);
    let sky = pix2pix_studio::samples::facades::PALETTE[0].2;
    let wall = pix2pix_studio::samples::facades::PALETTE[1].2;
    assert_eq!(harness.state().sketch().image().get_pixel(10, 10).0, sky);
    let canvas = harness.get_by_label("sketch canvas").rect();
    let at = |fx: f32, fy: f32| canvas.min + egui::vec2(fx * canvas.width(), fy * canvas.height());
    // The rectangle tool is chosen with palette mode; the wall colour is the default.
    stroke_in_one_frame(&harness, &[at(0.2, 0.3), at(0.5, 0.6), at(0.8, 0.9)]);
    harness.step();
    let image = harness.state().sketch().image();
    assert_eq!(image.get_pixel(128, 160).0, wall, "inside the rectangle");
    assert_eq!(image.get_pixel(20, 20).0, sky, "outside it");
    let sent: Vec<Command> = fake.sent();
    assert!(translated_with_demo(&sent, DemoModel::Labels), "{sent:?}");
}

/// Whether one of `sent` translates with the built-in `demo` model.
pub(crate) fn translated_with_demo(sent: &[Command], demo: DemoModel) -> bool {
    sent.iter().any(|command| {
        matches!(command, Command::Translate(request)
            if request.model == Some(ModelSource::Demo(demo)))
    })
}

#[test]
fn the_example_button_starts_the_sketch_from_a_built_in_drawing_and_translates_it() {
    let mut settings = settings("ui_example_sketch");
    settings.tab = Tab::Sketch;
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    let blank = harness.state().sketch().image().clone();
    harness.get_by_label("Example").click();
    harness.run_steps(2);
    let drawn = harness.state().sketch().image();
    assert_ne!(*drawn, blank, "the example drawing is on the sheet");
    let dark_pixels = drawn.pixels().filter(|pixel| pixel.0[0] < 100).count();
    assert!(dark_pixels > 100, "{dark_pixels} dark pixels");
    let sent = fake.sent();
    assert!(translated_with_demo(&sent, DemoModel::Shoes), "{sent:?}");
}

/// The worker's answer to `SelectDevice(choice)`: the CPU, with `fallback_reason`.
fn cpu_selected(choice: DeviceChoice, fallback_reason: Option<&str>) -> Event {
    Event::DeviceSelected {
        choice,
        outcome: Ok(DeviceReport {
            info: device::cpu().info,
            fallback_reason: fallback_reason.map(String::from),
        }),
    }
}

#[test]
fn the_device_is_found_by_the_worker_and_follows_the_form() {
    let mut settings = settings("ui_device");
    settings.tab = Tab::Train;
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    assert!(harness.state().device_label().contains("looking for a GPU"));
    fake.events
        .send(cpu_selected(
            DeviceChoice::Auto,
            Some("no usable GPU adapter"),
        ))
        .unwrap();
    harness.run_steps(2);
    assert_eq!(
        harness.state().device_label(),
        device::cpu().info.to_string()
    );
    assert!(has_label(&harness, "no usable GPU adapter"));

    // Choosing another device in the form asks the worker again.
    harness.state_mut().settings_mut().train.device = DeviceChoice::Gpu;
    harness.run_steps(2);
    assert_eq!(harness.state().settings().train.device, DeviceChoice::Gpu);
    assert_eq!(fake.sent(), vec![Command::SelectDevice(DeviceChoice::Gpu)]);
    assert!(harness.state().device_label().contains("looking for a GPU"));
    // A late answer for the earlier choice changes nothing.
    fake.events
        .send(cpu_selected(DeviceChoice::Auto, None))
        .unwrap();
    harness.run_steps(2);
    assert!(harness.state().device_label().contains("looking for a GPU"));
}

#[test]
fn a_missing_gpu_is_reported_and_the_sketch_translates_on_the_chosen_device() {
    let mut settings = settings("ui_device_gpu");
    settings.tab = Tab::Sketch;
    settings.train.device = DeviceChoice::Gpu;
    settings.sketch_model.choice = ModelChoice::Weights;
    settings.sketch_model.weights_path = "model.safetensors".into();
    let (mut harness, fake) = harness(settings);
    fake.events
        .send(Event::DeviceSelected {
            choice: DeviceChoice::Gpu,
            outcome: Err("no usable GPU adapter: none found".into()),
        })
        .unwrap();
    harness.run_steps(2);
    assert_eq!(harness.state().device_label(), "no GPU");
    assert!(
        harness
            .state()
            .status_error()
            .is_some_and(|error| error.contains("none found"))
    );
    let canvas = harness.get_by_label("sketch canvas").rect();
    let path: Vec<egui::Pos2> = (0..=4)
        .map(|i| {
            canvas.min
                + egui::vec2(
                    canvas.width() * (0.2 + 0.1 * i as f32),
                    canvas.height() * 0.5,
                )
        })
        .collect();
    stroke_in_one_frame(&harness, &path);
    harness.step();
    let sent = fake.sent();
    let [Command::Translate(request)] = sent.as_slice() else {
        panic!("expected one translation, got {sent:?}");
    };
    assert_eq!(request.device, DeviceChoice::Gpu);
}

#[test]
fn a_run_that_failed_on_the_gpu_offers_to_resume_on_the_cpu() {
    let mut settings = settings("ui_gpu_failed");
    settings.tab = Tab::Train;
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    fake.sent();
    let mut info = run_info(50, 100);
    info.device = device::DeviceInfo {
        name: "Some GPU".into(),
        kind: device::AdapterKind::DiscreteGpu,
        backend: "Vulkan".into(),
        kernels: Some(device::KernelCompiler::SpirV),
        kernels_note: None,
    };
    let run_dir = info.run_dir.clone();
    fake.events.send(Event::RunStarted(Box::new(info))).unwrap();
    fake.events
        .send(Event::CheckpointSaved {
            path: run_dir.join("checkpoints/step_00000010"),
            step: 10,
            kind: pix2pix_studio::training::checkpoint::CheckpointKind::Latest,
        })
        .unwrap();
    fake.events
        .send(Event::Failed {
            message: "training stopped at step 11: the compute device failed (device lost)".into(),
        })
        .unwrap();
    harness.run_steps(2);
    assert!(!disabled(&harness, "Start training"), "Start works again");
    harness.get_by_label("Resume on the CPU").click();
    harness.run_steps(2);
    let sent = fake.sent();
    let ([
        Command::SelectDevice(DeviceChoice::Cpu),
        Command::StartTraining(request),
    ]
    | [
        Command::StartTraining(request),
        Command::SelectDevice(DeviceChoice::Cpu),
    ]) = sent.as_slice()
    else {
        panic!("expected a resume on the CPU, got {sent:?}");
    };
    assert!(request.resume);
    assert_eq!(request.device, DeviceChoice::Cpu);
    assert_eq!(request.run_dir, run_dir);
}

#[test]
fn a_run_that_could_not_start_on_the_gpu_offers_the_cpu() {
    let mut settings = settings("ui_gpu_start_failed");
    settings.tab = Tab::Train;
    settings.train.device = DeviceChoice::Gpu;
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    fake.sent();
    fake.events
        .send(Event::Failed {
            message: "could not start training: no usable GPU adapter".into(),
        })
        .unwrap();
    harness.run_steps(2);
    harness.get_by_label("Start again on the CPU").click();
    harness.run_steps(2);
    let sent = fake.sent();
    let Some(Command::StartTraining(request)) = sent
        .iter()
        .find(|command| matches!(command, Command::StartTraining(_)))
    else {
        panic!("expected a new start, got {sent:?}");
    };
    assert!(!request.resume);
    assert_eq!(request.device, DeviceChoice::Cpu);
}
