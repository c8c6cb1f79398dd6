//! The Sketch tab: a model menu, a canvas with pen, eraser, rectangle and fill, brush size,
//! undo / redo, clear, examples and load; a palette mode for facade label maps. Every finished
//! stroke is translated off the UI thread (the newest request wins) and the result is shown
//! with its latency.
//!
//! The canvas replays the frame's raw pointer events rather than reading one pointer position
//! per frame: when training makes frames slow, one frame can hold a whole stroke.

use egui::{Color32, PointerButton, Sense, TextureHandle, TextureOptions};
use image::{DynamicImage, Rgb};

use crate::app::actions::UiAction;
use crate::app::background::Purpose;
use crate::app::panels::sketch_model::{MenuChange, sketch_model_ui};
use crate::app::panels::translate::inference_ui;
use crate::app::panels::{Panel, PanelCtx};
use crate::app::sketch::{Sketch, Tool};
use crate::app::state::{ModelChoice, Settings};
use crate::app::textures::color_image;
use crate::samples::facades::PALETTE;

/// The sheet's side in pixels (the model's input is resized from it).
pub const SHEET_PX: u32 = 256;
/// Pen colour in line mode.
const INK: Rgb<u8> = Rgb([0, 0, 0]);
/// Sheet colour in line mode.
const PAPER: Rgb<u8> = Rgb([255, 255, 255]);

/// The Sketch tab's state.
pub struct SketchView {
    /// The drawing.
    pub sketch: Sketch,
    /// The tool in hand.
    pub tool: Tool,
    /// The palette entry used in palette mode.
    pub palette_index: usize,
    /// The latest translation of the sketch.
    pub result: Option<DynamicImage>,
    /// The sketch changed while a request was in flight: send again when it returns.
    pub dirty: bool,
    /// Round trip of the last translation and the worker's share of it, ms.
    pub latency_ms: Option<(u64, u64)>,
    /// Why the last translation failed.
    pub error: Option<String>,
    /// The example drawing the Example button loads next.
    pub next_example: usize,
    /// The sheet holds an example as loaded (no stroke since): choosing another shipped model
    /// replaces it with one of that model's.
    pub example_shown: bool,
    sheet: Option<(TextureHandle, u64)>,
    result_texture: Option<TextureHandle>,
}

impl Default for SketchView {
    fn default() -> Self {
        Self {
            sketch: Sketch::new(SHEET_PX, PAPER),
            tool: Tool::Pen,
            palette_index: 1,
            result: None,
            dirty: false,
            latency_ms: None,
            error: None,
            next_example: 0,
            example_shown: false,
            sheet: None,
            result_texture: None,
        }
    }
}

impl SketchView {
    /// Takes a translation result, with its round trip and the worker's share of it.
    pub fn set_result(&mut self, image: DynamicImage, round_trip_ms: u64, worker_ms: u64) {
        self.latency_ms = Some((round_trip_ms, worker_ms));
        self.result = Some(image);
        self.result_texture = None;
        self.error = None;
    }

    /// The colour the pen draws with.
    fn ink(&self, palette_mode: bool) -> Rgb<u8> {
        if palette_mode {
            Rgb(PALETTE[self.palette_index.min(PALETTE.len() - 1)].2)
        } else {
            INK
        }
    }
}

/// The sheet colour of a mode: white paper, or the sky of the facade palette.
pub fn sheet_color(palette_mode: bool) -> Rgb<u8> {
    if palette_mode {
        Rgb(PALETTE[0].2)
    } else {
        PAPER
    }
}

impl Panel for SketchView {
    /// The model and inference choices, the toolbar, and the canvas beside its translation.
    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut PanelCtx<'_>) {
        let view = self;
        let (settings, actions) = (&mut *ctx.settings, &mut *ctx.actions);
        let in_flight = ctx.requests.sketch_in_flight();
        let mut retranslate = match sketch_model_ui(ui, settings, actions) {
            MenuChange::None => false,
            MenuChange::Demo(demo) => {
                actions.push(UiAction::SketchDemoChosen(demo));
                false
            }
            MenuChange::Model => true,
        };
        retranslate |= inference_ui(ui, &mut settings.translate);
        retranslate |= toolbar_ui(ui, settings, view, actions);
        ui.separator();
        let side = (ui.available_width() / 2.0 - 16.0)
            .clamp(128.0, 512.0)
            .min(ui.available_height() - 40.0)
            .max(128.0);
        ui.horizontal_top(|ui| {
            let stroke = canvas_ui(ui, settings, view, side);
            view.example_shown &= !stroke;
            retranslate |= stroke;
            result_ui(ui, view, side, in_flight);
        });
        if retranslate {
            actions.push(UiAction::SketchChanged);
        }
    }
}

fn toolbar_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    view: &mut SketchView,
    actions: &mut Vec<UiAction>,
) -> bool {
    let mut changed = false;
    ui.horizontal_wrapped(|ui| {
        for (tool, name, tip) in [
            (Tool::Pen, "Pen", "Draw lines"),
            (Tool::Eraser, "Eraser", "Paint the sheet colour"),
            (Tool::Rectangle, "Rectangle", "Drag a filled rectangle (windows, doors)"),
            (Tool::Fill, "Fill", "Fill the region under the click"),
        ] {
            ui.selectable_value(&mut view.tool, tool, name).on_hover_text(tip);
        }
        ui.separator();
        let label = ui.label("Brush px");
        ui.add(egui::Slider::new(&mut settings.brush_px, 1.0..=40.0))
            .labelled_by(label.id);
        ui.separator();
        let (undo_steps, redo_steps) = view.sketch.history_len();
        if ui.add_enabled(undo_steps > 0, egui::Button::new("Undo")).on_hover_text("Ctrl+Z").clicked() {
            changed |= view.sketch.undo();
        }
        if ui.add_enabled(redo_steps > 0, egui::Button::new("Redo")).on_hover_text("Ctrl+Y").clicked() {
            changed |= view.sketch.redo();
        }
        if ui.button("Clear").clicked() {
            view.sketch.clear();
            view.example_shown = false;
            changed = true;
        }
        if ui
            .button("Example")
            .on_hover_text("Start from one of the example drawings built into the app")
            .clicked()
        {
            actions.push(UiAction::LoadSketchExample);
        }
        if ui.button("Load image...").on_hover_text("Start from a picture").clicked() {
            actions.push(UiAction::Pick(Purpose::SketchImage));
        }
        if ui
            .button("Save")
            .on_hover_text("Save the sketch and its translation as PNGs into the output folder of the Translate tab")
            .clicked()
        {
            actions.push(UiAction::SaveSketch);
        }
    });
    changed |= mode_row_ui(ui, settings, view);
    // Keyboard: undo and redo.
    let (undo, redo) = ui.input_mut(|input| {
        let redo = input.consume_key(egui::Modifiers::COMMAND, egui::Key::Y)
            || input.consume_key(
                egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
                egui::Key::Z,
            );
        (
            input.consume_key(egui::Modifiers::COMMAND, egui::Key::Z),
            redo,
        )
    });
    if undo {
        changed |= view.sketch.undo();
    }
    if redo {
        changed |= view.sketch.redo();
    }
    changed
}

/// The second row, always there so that the canvas does not move when the model changes: the
/// fitting in line mode (enabled where the model's frame is known), palette mode for a model
/// of the user's, the palette in palette mode. True when the drawing should be translated again.
fn mode_row_ui(ui: &mut egui::Ui, settings: &mut Settings, view: &mut SketchView) -> bool {
    let mut changed = false;
    ui.horizontal_wrapped(|ui| {
        let on_demo = settings.sketch_model.choice == ModelChoice::Demo;
        if !settings.palette_mode {
            let framed = settings.sketch_frame().is_some();
            let mut fit = settings.fit_drawing && framed;
            let response = ui
                .add_enabled(
                    framed,
                    egui::Checkbox::new(&mut fit, "fit the drawing to the frame"),
                )
                .on_hover_text(
                    "Scale and centre the drawing, and thin its lines, as the model's training \
                     drawings were before it is translated (the canvas keeps what you drew)",
                )
                .on_disabled_hover_text(
                    "Known for the shoes model only: this model's training drawings share no frame",
                );
            if response.changed() {
                settings.fit_drawing = fit;
                changed = true;
            }
        }
        if !on_demo
            && ui
                .checkbox(&mut settings.palette_mode, "palette mode (label maps)")
                .on_hover_text("Draw facade label maps in the colours of sample_pairs/labels")
                .changed()
        {
            view.sketch
                .set_background(sheet_color(settings.palette_mode));
            view.tool = if settings.palette_mode {
                Tool::Rectangle
            } else {
                Tool::Pen
            };
            changed = true;
        }
        if settings.palette_mode {
            for (index, (_, name, rgb)) in PALETTE.iter().enumerate() {
                let color = Color32::from_rgb(rgb[0], rgb[1], rgb[2]);
                let text = egui::RichText::new(*name)
                    .color(contrast(color))
                    .background_color(color);
                ui.selectable_value(&mut view.palette_index, index, text);
            }
        }
    });
    changed
}

/// Black or white text on `color`.
fn contrast(color: Color32) -> Color32 {
    let luma = 0.299 * color.r() as f32 + 0.587 * color.g() as f32 + 0.114 * color.b() as f32;
    if luma > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    }
}

/// The canvas; true when a stroke finished.
fn canvas_ui(ui: &mut egui::Ui, settings: &Settings, view: &mut SketchView, side: f32) -> bool {
    let (rect, _response) = ui.allocate_exact_size(egui::vec2(side, side), Sense::click_and_drag());
    let scale = SHEET_PX as f32 / side;
    let to_sheet = |pos: egui::Pos2| ((pos.x - rect.min.x) * scale, (pos.y - rect.min.y) * scale);
    let radius = settings.brush_px / 2.0;
    let ink = view.ink(settings.palette_mode);
    let layer = ui.layer_id();
    let mut finished = false;
    for event in ui.input(|input| input.events.clone()) {
        match event {
            egui::Event::PointerButton {
                pos,
                button: PointerButton::Primary,
                pressed: true,
                ..
            } if rect.contains(pos) && ui.ctx().layer_id_at(pos) == Some(layer) => {
                view.sketch.begin(to_sheet(pos), view.tool, ink, radius);
            }
            egui::Event::PointerMoved(pos) if view.sketch.is_drawing() => {
                view.sketch.extend(to_sheet(pos));
            }
            egui::Event::PointerButton {
                pos,
                button: PointerButton::Primary,
                pressed: false,
                ..
            } if view.sketch.is_drawing() => {
                view.sketch.extend(to_sheet(pos));
                finished |= view.sketch.finish();
            }
            egui::Event::PointerGone if view.sketch.is_drawing() => {
                finished |= view.sketch.finish();
            }
            _ => {}
        }
    }
    let revision = view.sketch.revision();
    let texture = match &mut view.sheet {
        Some((texture, shown)) => {
            if *shown != revision {
                texture.set(color_image(view.sketch.image()), TextureOptions::NEAREST);
                *shown = revision;
            }
            texture.clone()
        }
        None => {
            let texture = ui.ctx().load_texture(
                "sketch",
                color_image(view.sketch.image()),
                TextureOptions::NEAREST,
            );
            view.sheet = Some((texture.clone(), revision));
            texture
        }
    };
    ui.put(
        rect,
        egui::Image::new((texture.id(), rect.size())).alt_text("sketch canvas"),
    );
    ui.painter().rect_stroke(
        rect,
        0.0,
        egui::Stroke::new(1.0, Color32::GRAY),
        egui::StrokeKind::Outside,
    );
    finished
}

fn result_ui(ui: &mut egui::Ui, view: &mut SketchView, side: f32, in_flight: bool) {
    ui.vertical(|ui| {
        if let Some(result) = &view.result {
            let texture = view
                .result_texture
                .get_or_insert_with(|| {
                    ui.ctx().load_texture(
                        "sketch-result",
                        color_image(&result.to_rgb8()),
                        TextureOptions::LINEAR,
                    )
                })
                .clone();
            ui.add(
                egui::Image::new((texture.id(), egui::vec2(side, side)))
                    .alt_text("translated sketch"),
            );
        } else {
            ui.allocate_ui(egui::vec2(side, side), |ui| {
                ui.weak("Draw: the translation appears here after each stroke.");
            });
        }
        ui.horizontal(|ui| {
            if in_flight {
                ui.spinner();
                ui.label("translating...");
            }
            if let Some((round_trip, worker)) = view.latency_ms {
                ui.label(format!("latency {round_trip} ms (model {worker} ms)"));
            }
        });
        if let Some(message) = &view.error {
            ui.colored_label(Color32::LIGHT_RED, message);
        }
    });
}
