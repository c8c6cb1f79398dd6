//! The Translate tab: open images or a folder, pick a model and the inference choices, see
//! input | output side by side, save the results, or translate a whole folder to disk.

use std::path::PathBuf;

use egui::{Color32, DragValue};
use image::DynamicImage;

use crate::app::actions::UiAction;
use crate::app::background::{ModelTarget, Purpose};
use crate::app::panels::model_pick::model_pick_ui;
use crate::app::state::{InferenceForm, Settings};
use crate::app::textures::{TextureCache, color_image};
use crate::inference::SizeMode;
use crate::model::NormMode;

/// An image to translate and its result.
pub struct TranslateItem {
    /// Where it came from.
    pub path: PathBuf,
    /// The picture.
    pub input: DynamicImage,
    /// The translation, once done.
    pub output: Option<DynamicImage>,
}

/// What the Translate tab holds.
#[derive(Default)]
pub struct TranslateView {
    /// The loaded images.
    pub items: Vec<TranslateItem>,
    /// Files that could not be loaded.
    pub load_errors: Vec<String>,
    /// The request in flight for the loaded images.
    pub pending: Option<PendingTranslation>,
    /// A folder job in flight: request, done, total.
    pub folder_job: Option<(u64, usize, usize)>,
    /// The last result or error, for this tab.
    pub message: Option<Result<String, String>>,
    /// Bumped when new outputs arrive, so their textures are uploaded again.
    revision: u64,
    textures: TextureCache,
}

/// A translation of the loaded images in flight: its request id and the inputs it was made
/// from, so its outputs never land on other images.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingTranslation {
    /// The request.
    pub id: u64,
    /// The paths of the images sent, in order.
    pub inputs: Vec<PathBuf>,
}

impl TranslateView {
    /// Records a request for the images loaded now.
    pub fn translation_sent(&mut self, id: u64) {
        self.pending = Some(PendingTranslation {
            id,
            inputs: self.input_paths(),
        });
    }

    /// Whether `id` is the request in flight for these images.
    pub fn is_pending(&self, id: u64) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|pending| pending.id == id)
    }

    fn input_paths(&self) -> Vec<PathBuf> {
        self.items.iter().map(|item| item.path.clone()).collect()
    }

    /// Replaces the images (results are cleared). A translation still in flight is superseded:
    /// its outputs belong to the old images and will be dropped when they arrive.
    pub fn set_inputs(&mut self, images: Vec<(PathBuf, Result<DynamicImage, String>)>) {
        self.pending = None;
        self.items.clear();
        self.load_errors.clear();
        for (path, image) in images {
            match image {
                Ok(input) => self.items.push(TranslateItem {
                    path,
                    input,
                    output: None,
                }),
                Err(message) => self.load_errors.push(message),
            }
        }
        self.revision += 1;
    }

    /// Answers the pending request `id` with its outputs, which land only if the images are
    /// still the ones it was made from; returns whether they landed.
    pub fn take_outputs(&mut self, id: u64, outputs: Vec<DynamicImage>) -> bool {
        let current = self.input_paths();
        let answered = self.pending.take_if(|pending| pending.id == id);
        let lands = answered
            .is_some_and(|pending| pending.inputs == current && outputs.len() == current.len());
        if lands {
            for (item, output) in self.items.iter_mut().zip(outputs) {
                item.output = Some(output);
            }
            self.revision += 1;
        }
        lands
    }

    /// The results, named `<stem>_translated.png`.
    pub fn results(&self) -> Vec<(String, DynamicImage)> {
        self.items
            .iter()
            .filter_map(|item| {
                let stem = item.path.file_stem()?.to_string_lossy();
                Some((format!("{stem}_translated.png"), item.output.clone()?))
            })
            .collect()
    }
}

/// Draws the Translate tab.
pub fn translate_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    view: &mut TranslateView,
    actions: &mut Vec<UiAction>,
) {
    ui.horizontal(|ui| {
        let label = ui.label("Images:");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut settings.translate_inputs)
                    .desired_width(360.0)
                    .hint_text("an image or a folder"),
            )
            .labelled_by(label.id);
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .button("Load")
            .on_hover_text("Load the typed file or folder")
            .clicked()
            || entered
        {
            let path = PathBuf::from(settings.translate_inputs.trim());
            actions.push(UiAction::LoadTranslateInputs(vec![path]));
        }
        if ui.button("Open images...").clicked() {
            actions.push(UiAction::Pick(Purpose::TranslateFiles));
        }
        if ui.button("Open folder...").clicked() {
            actions.push(UiAction::Pick(Purpose::TranslateFolder));
        }
    });
    if model_pick_ui(
        ui,
        &mut settings.translate_model,
        ModelTarget::Translate,
        "sketches",
        actions,
    ) {
        for item in &mut view.items {
            item.output = None;
        }
    }
    inference_ui(ui, &mut settings.translate);
    ui.horizontal(|ui| {
        let busy = view.pending.is_some() || view.folder_job.is_some();
        if ui
            .add_enabled(!busy && !view.items.is_empty(), egui::Button::new("Translate images"))
            .on_hover_text("Translate the loaded images")
            .clicked()
        {
            actions.push(UiAction::TranslateLoaded);
        }
        let has_results = view.items.iter().any(|item| item.output.is_some());
        if ui
            .add_enabled(has_results, egui::Button::new("Save results"))
            .on_hover_text("Write the outputs as PNGs into the output folder")
            .clicked()
        {
            actions.push(UiAction::SaveTranslations);
        }
        let label = ui.label("Output folder:");
        ui.add(egui::TextEdit::singleline(&mut settings.output_dir).desired_width(200.0))
            .labelled_by(label.id);
        if ui.button("Browse...").clicked() {
            actions.push(UiAction::Pick(Purpose::OutputFolder));
        }
        let folder = PathBuf::from(settings.translate_inputs.trim());
        if ui
            .add_enabled(!busy && !settings.translate_inputs.trim().is_empty(), egui::Button::new("Translate folder to disk"))
            .on_hover_text("Translate every image of the typed folder straight into the output folder, with progress")
            .clicked()
        {
            actions.push(UiAction::TranslateFolderToDisk(folder));
        }
    });
    status_ui(ui, view);
    ui.separator();
    results_ui(ui, view);
}

/// Normalisation, dropout and size choices (shared with the Sketch tab).
pub fn inference_ui(ui: &mut egui::Ui, form: &mut InferenceForm) -> bool {
    let before = *form;
    ui.horizontal_wrapped(|ui| {
        ui.label("Normalisation:");
        ui.radio_value(&mut form.norm, NormMode::BatchStats, "batch statistics")
            .on_hover_text(
                "Each image normalised by its own statistics: the reference's default at test time",
            );
        ui.radio_value(&mut form.norm, NormMode::RunningStats, "running statistics")
            .on_hover_text("The statistics gathered in training: the reference's --eval");
        ui.separator();
        ui.checkbox(&mut form.dropout, "dropout").on_hover_text(
            "Keep dropout on, as the reference does at test time: each seed gives a variation",
        );
        let label = ui.label("seed");
        ui.add_enabled(form.dropout, DragValue::new(&mut form.dropout_seed))
            .labelled_by(label.id);
        if ui
            .add_enabled(form.dropout, egui::Button::new("New seed"))
            .clicked()
        {
            form.dropout_seed = form.dropout_seed.wrapping_add(1);
        }
        ui.separator();
        let label = ui.label("Size:");
        egui::ComboBox::from_id_salt("size_mode")
            .selected_text(size_name(form.size))
            .show_ui(ui, |ui| {
                for mode in [SizeMode::TrainedSize, SizeMode::Pad, SizeMode::Resize] {
                    ui.selectable_value(&mut form.size, mode, size_name(mode));
                }
            })
            .response
            .labelled_by(label.id);
    });
    *form != before
}

fn size_name(mode: SizeMode) -> &'static str {
    match mode {
        SizeMode::TrainedSize => "resize to the trained size",
        SizeMode::Pad => "keep size (pad)",
        SizeMode::Resize => "keep size (resize to a multiple)",
    }
}

fn status_ui(ui: &mut egui::Ui, view: &TranslateView) {
    if view.pending.is_some() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Translating...");
        });
    }
    if let Some((_, done, total)) = view.folder_job {
        ui.add(
            egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                .text(format!("{done} / {total}")),
        );
    }
    match &view.message {
        Some(Ok(message)) => {
            ui.label(message);
        }
        Some(Err(message)) => {
            ui.colored_label(Color32::LIGHT_RED, message);
        }
        None => {}
    }
    for message in &view.load_errors {
        ui.colored_label(Color32::LIGHT_RED, message);
    }
}

fn results_ui(ui: &mut egui::Ui, view: &mut TranslateView) {
    let ctx = ui.ctx().clone();
    let revision = view.revision;
    let side = ((ui.available_width() - 40.0) / 2.0).clamp(96.0, 384.0);
    let textures = &mut view.textures;
    egui::ScrollArea::vertical()
        .id_salt("translations")
        .show(ui, |ui| {
            for (index, item) in view.items.iter().enumerate() {
                let name = item
                    .path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                ui.label(&name);
                ui.horizontal(|ui| {
                    let input = textures.get(&ctx, &format!("{revision}-{index}-input"), || {
                        color_image(&item.input.to_rgb8())
                    });
                    ui.add(fitted(&input, side).alt_text(format!("input {name}")));
                    match &item.output {
                        Some(output) => {
                            let texture =
                                textures.get(&ctx, &format!("{revision}-{index}-output"), || {
                                    color_image(&output.to_rgb8())
                                });
                            ui.add(fitted(&texture, side).alt_text(format!("output {name}")));
                        }
                        None => {
                            ui.allocate_ui(egui::vec2(side, side), |ui| {
                                ui.weak("not translated yet")
                            });
                        }
                    }
                });
            }
        });
    let prefix = format!("{revision}-");
    textures.retain(|key| key.starts_with(&prefix));
}

/// An image scaled to fit a `side` square, keeping its aspect.
fn fitted(texture: &egui::TextureHandle, side: f32) -> egui::Image<'static> {
    let [width, height] = texture.size();
    let scale = side / width.max(height).max(1) as f32;
    egui::Image::new((
        texture.id(),
        egui::vec2(width as f32 * scale, height as f32 * scale),
    ))
}
