//! Where the app meets the worker: a worker that dies, Stop while a run starts, and translation
//! results that arrive after the images changed.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use egui_kittest::kittest::Queryable;
use image::{DynamicImage, Rgb, RgbImage};
use pix2pix_studio::app::{RunState, Tab};
use pix2pix_studio::worker::{Command, Event};

use crate::ui::{disabled, harness, has_label, run_info, settings, step_until};
use crate::util::temp_dir;

#[test]
fn a_dead_worker_is_restarted_and_the_run_is_released() {
    let mut settings = settings("ui_dead_worker");
    settings.tab = Tab::Train;
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    assert!(matches!(
        fake.sent().first(),
        Some(Command::StartTraining(_))
    ));
    fake.events
        .send(Event::RunStarted(Box::new(run_info(50, 100))))
        .unwrap();
    harness.run_steps(2);
    assert_eq!(harness.state().run_view().state, RunState::Training);

    // The thread is gone (a panic outside any command): the app says so, restarts it, and the
    // run no longer shows as training with Start disabled.
    fake.alive.store(false, Ordering::SeqCst);
    harness.run_steps(2);
    assert_eq!(fake.restarts.load(Ordering::SeqCst), 1);
    assert_eq!(harness.state().run_view().state, RunState::Failed);
    let error = harness
        .state()
        .status_error()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("stopped unexpectedly"), "{error}");
    assert!(!disabled(&harness, "Start training"));
    // The new worker is asked for the device, and a new start reaches it.
    let sent = fake.sent();
    assert!(
        sent.iter().any(|c| matches!(c, Command::SelectDevice(_))),
        "{sent:?}"
    );
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    assert!(matches!(
        fake.sent().first(),
        Some(Command::StartTraining(_))
    ));
    assert_eq!(harness.state().run_view().state, RunState::Starting);
}

#[test]
fn a_start_the_worker_cannot_take_does_not_leave_the_run_starting() {
    let mut settings = settings("ui_start_refused");
    settings.tab = Tab::Train;
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    // The command cannot be sent (a full channel): the run is not left "starting".
    fake.busy.store(true, Ordering::SeqCst);
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    assert_eq!(harness.state().run_view().state, RunState::Idle);
    let error = harness
        .state()
        .status_error()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("busy"), "{error}");
    assert!(!disabled(&harness, "Start training"));
    fake.busy.store(false, Ordering::SeqCst);
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    assert!(matches!(
        fake.sent().as_slice(),
        [Command::StartTraining(_)]
    ));
}

#[test]
fn stop_works_while_the_run_is_starting() {
    let mut settings = settings("ui_stop_starting");
    settings.tab = Tab::Train;
    let (mut harness, fake) = harness(settings);
    harness.run_steps(2);
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    fake.sent();
    assert_eq!(harness.state().run_view().state, RunState::Starting);
    assert!(
        !disabled(&harness, "Stop"),
        "Stop is offered while starting"
    );
    harness.get_by_label("Stop").click();
    harness.run_steps(2);
    assert_eq!(fake.sent(), vec![Command::Stop]);
    assert_eq!(harness.state().run_view().state, RunState::Stopping);
    assert!(has_label(&harness, "stopping"));
    // The start completes before the Stop is read: it still shows as stopping.
    fake.events
        .send(Event::RunStarted(Box::new(run_info(50, 100))))
        .unwrap();
    harness.run_steps(2);
    assert_eq!(harness.state().run_view().state, RunState::Stopping);
    fake.events
        .send(Event::Finished {
            step: 0,
            stopped: true,
        })
        .unwrap();
    harness.run_steps(2);
    assert_eq!(
        harness.state().run_view().state,
        RunState::Finished { stopped: true }
    );
    assert!(!disabled(&harness, "Start training"));
}

fn write_images(dir: &std::path::Path, names: &[&str]) {
    for name in names {
        RgbImage::from_pixel(40, 30, Rgb([10, 120, 200]))
            .save(dir.join(name))
            .unwrap();
    }
}

#[test]
fn translate_tab_race_new_inputs_supersede_a_pending_translation() {
    let mut settings = settings("ui_translate_race");
    let first = temp_dir("ui_translate_race_first");
    let second = temp_dir("ui_translate_race_second");
    write_images(&first, &["old.png"]);
    write_images(&second, &["new.png"]);
    settings.tab = Tab::Translate;
    settings.translate_inputs = first.display().to_string();
    let output_dir = PathBuf::from(&settings.output_dir);
    let (mut harness, fake) = harness(settings);
    let request = crate::ui::load_and_translate(&mut harness, &fake, "old.png");

    // New images arrive (typed and loaded, or dropped) while the old request is in flight.
    harness.state_mut().settings_mut().translate_inputs = second.display().to_string();
    harness.get_by_label("Load").click();
    step_until(&mut harness, |h| has_label(h, "input new.png"));
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
    assert!(
        !has_label(&harness, "output new.png"),
        "the old request's output must not land on the new image"
    );
    // Save writes nothing under the new names, and a new translation can be asked for.
    harness.get_by_label("Save results").click();
    harness.run_steps(4);
    assert!(!output_dir.join("new_translated.png").exists());
    assert!(!disabled(&harness, "Translate images"));
}
