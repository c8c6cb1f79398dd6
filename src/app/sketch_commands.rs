//! Command handling for the Sketch tab: translating the drawing (framed as the model's
//! training drawings were), the examples, taking up a shipped model, and saving.

use std::path::PathBuf;
use std::time::Instant;

use image::DynamicImage;

use super::StudioApp;
use super::background::ModelTarget;
use super::panels::sketch::sheet_color;
use super::requests::Requester;
use super::sketch::Tool;
use super::state::ModelChoice;
use crate::inference::drawing_frame::frame_drawing;
use crate::platform::bundled::{self, DemoModel};
use crate::worker::TranslateInputs;

impl StudioApp {
    /// Translates the sketch as it is now, framed as the model's training drawings were where
    /// that is known and asked for.
    pub(super) fn translate_sketch(&mut self) {
        let drawing = self.sketch.sketch.image();
        let frame = self
            .settings
            .sketch_frame()
            .filter(|_| self.settings.fit_drawing);
        let image = DynamicImage::ImageRgb8(match frame {
            Some(frame) => frame_drawing(drawing, frame),
            None => drawing.clone(),
        });
        let inputs = TranslateInputs::Images(vec![image]);
        let requester = Requester::Sketch {
            sent: Instant::now(),
        };
        self.request_translation(ModelTarget::Sketch, inputs, requester);
    }

    /// Starts the sketch from the next example drawing of the mode's demo model (a few KB of
    /// PNG embedded in the binary, decoded here in well under a millisecond).
    pub(super) fn load_sketch_example(&mut self) {
        let examples = bundled::example_drawings(self.sketch_demo());
        let (name, png) = examples[self.sketch.next_example % examples.len()];
        self.sketch.next_example += 1;
        match image::load_from_memory(png) {
            Ok(picture) => {
                self.sketch.sketch.load(&picture);
                self.sketch.example_shown = true;
                self.translate_sketch();
            }
            Err(err) => self.status.error = Some(format!("example drawing {name}: {err}")),
        }
    }

    /// Takes up a shipped model in the Sketch tab: its pen and sheet, and its first example
    /// where the sheet is blank or holds an example; translates.
    pub(super) fn choose_sketch_demo(&mut self, demo: DemoModel) {
        let palette = demo.reads_label_maps();
        self.settings.palette_mode = palette;
        self.settings.brush_px = demo.pen_px();
        self.sketch.tool = if palette { Tool::Rectangle } else { Tool::Pen };
        self.sketch.next_example = 0;
        let blank = self.sketch.sketch.is_blank();
        self.sketch.sketch.set_background(sheet_color(palette));
        if blank || self.sketch.example_shown {
            self.load_sketch_example();
        } else {
            self.translate_sketch();
        }
    }

    /// The shipped model whose examples the Sketch tab offers: the chosen one, else the one
    /// that reads what the sheet holds (label maps in palette mode, lines otherwise).
    pub(super) fn sketch_demo(&self) -> DemoModel {
        let demo = self.settings.sketch_demo;
        match (
            self.settings.sketch_model.choice,
            self.settings.palette_mode,
        ) {
            (ModelChoice::Demo, _) => demo,
            (_, true) => DemoModel::Labels,
            (_, false) if demo.reads_label_maps() => DemoModel::Shoes,
            (_, false) => demo,
        }
    }

    /// Writes the sketch and its translation into the output folder as new files, named by the
    /// time (a save never replaces an earlier one).
    pub(super) fn save_sketch(&mut self) {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let mut images = vec![(
            String::new(),
            DynamicImage::ImageRgb8(self.sketch.sketch.image().clone()),
        )];
        if let Some(result) = &self.sketch.result {
            images.push(("-translated".into(), result.clone()));
        }
        self.background.save_new_images(
            PathBuf::from(self.settings.output_dir.trim()),
            format!("sketch-{stamp}"),
            images,
        );
    }
}
