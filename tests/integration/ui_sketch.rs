//! The Sketch tab's first screen and model menu: the app opens on a shoe example already
//! translated, a shipped model brings its pen, sheet and examples, and drawings reach the
//! shoes model framed as its training edges were.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use image::DynamicImage;
use pix2pix_studio::app::{Settings, StudioApp, Tab};
use pix2pix_studio::inference::drawing_frame::{DrawingFrame, frame_drawing};
use pix2pix_studio::platform::bundled::DemoModel;
use pix2pix_studio::worker::{Command, Event, TranslateInputs};

use crate::ui::{harness, has_label, settings, stroke_in_one_frame, translated_with_demo};

/// The drawings sent to be translated, oldest first.
fn sent_drawings(sent: &[Command]) -> Vec<DynamicImage> {
    sent.iter()
        .filter_map(|command| match command {
            Command::Translate(request) => match &request.inputs {
                TranslateInputs::Images(images) => images.first().cloned(),
                TranslateInputs::Files { .. } => None,
            },
            _ => None,
        })
        .collect()
}

fn sketch_tab(test: &str) -> (Harness<'static, StudioApp>, crate::ui::Fake) {
    let mut settings = settings(test);
    settings.tab = Tab::Sketch;
    let (mut harness, fake) = harness(settings);
    harness.state_mut().start_with_an_example();
    harness.run_steps(2);
    (harness, fake)
}

fn ink_pixels(harness: &Harness<'static, StudioApp>) -> usize {
    let sketch = harness.state().sketch().image();
    sketch.pixels().filter(|pixel| pixel.0[0] < 100).count()
}

#[test]
fn the_app_opens_on_the_sketch_tab_with_a_shoe_example_translated() {
    assert_eq!(Settings::default().tab, Tab::Sketch);
    assert_eq!(Settings::default().sketch_demo, DemoModel::Shoes);
    let (harness, fake) = sketch_tab("ui_first_screen");
    assert!(ink_pixels(&harness) > 300, "the example is on the sheet");
    assert!(has_label(
        &harness,
        "Draws shoes and handbags seen from the side"
    ));
    let sent = fake.sent();
    assert!(translated_with_demo(&sent, DemoModel::Shoes), "{sent:?}");
    // What went to the model is the drawing framed as the training edges were.
    let framed = frame_drawing(harness.state().sketch().image(), DrawingFrame::SHOES);
    assert_eq!(sent_drawings(&sent), vec![DynamicImage::ImageRgb8(framed)]);
}

#[test]
fn choosing_a_shipped_model_brings_its_pen_and_example_and_keeps_a_drawing() {
    let (mut harness, fake) = sketch_tab("ui_model_menu");
    assert_eq!(
        harness.state().settings().brush_px,
        DemoModel::Shoes.pen_px()
    );
    let shoe = harness.state().sketch().image().clone();
    harness.get_by_label("Model:").click();
    harness.run_steps(2);
    harness.get_by_label("Objects").click();
    harness.run_steps(2);
    let settings = harness.state().settings();
    assert_eq!(settings.sketch_demo, DemoModel::Sketches);
    assert_eq!(settings.brush_px, DemoModel::Sketches.pen_px());
    assert!(!settings.palette_mode);
    assert_ne!(
        *harness.state().sketch().image(),
        shoe,
        "the objects example replaced the shoe"
    );
    assert!(has_label(&harness, "Colours simple objects"));
    assert!(translated_with_demo(&fake.sent(), DemoModel::Sketches));

    // A stroke of the user's stays when the model changes.
    let canvas = harness.get_by_label("sketch canvas").rect();
    let at = |fx: f32, fy: f32| canvas.min + egui::vec2(fx * canvas.width(), fy * canvas.height());
    stroke_in_one_frame(&harness, &[at(0.1, 0.1), at(0.9, 0.1)]);
    harness.run_steps(2);
    let drawn = harness.state().sketch().image().clone();
    harness.get_by_label("Model:").click();
    harness.run_steps(2);
    harness.get_by_label("Shoes and handbags").click();
    harness.run_steps(2);
    assert_eq!(*harness.state().sketch().image(), drawn);
    assert_eq!(
        harness.state().settings().brush_px,
        DemoModel::Shoes.pen_px()
    );
    assert!(translated_with_demo(&fake.sent(), DemoModel::Shoes));
}

#[test]
fn a_drawing_goes_unframed_when_fitting_is_off() {
    let (mut harness, fake) = sketch_tab("ui_fit_off");
    // The example's translation comes back, so that the next one is sent at once.
    let sent = fake.sent();
    let Some(Command::Translate(first)) = sent.last() else {
        panic!("expected the example's translation, got {sent:?}");
    };
    fake.events
        .send(Event::Translated {
            id: first.id,
            images: vec![DynamicImage::new_rgb8(8, 8)],
            files: Vec::new(),
            millis: 1,
        })
        .unwrap();
    harness.run_steps(2);
    harness.get_by_label("fit the drawing to the frame").click();
    harness.run_steps(2);
    assert!(!harness.state().settings().fit_drawing);
    let raw = harness.state().sketch().image().clone();
    assert_eq!(
        sent_drawings(&fake.sent()),
        vec![DynamicImage::ImageRgb8(raw)]
    );
}
