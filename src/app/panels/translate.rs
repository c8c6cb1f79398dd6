//! The Translate tab: open images or a folder, pick a model and the inference choices, see
//! input | output side by side, save the results, or translate a whole folder to disk.

use std::path::{Path, PathBuf};

use egui::{Color32, DragValue};
use image::DynamicImage;

use crate::app::actions::UiAction;
use crate::app::background::{ModelTarget, Purpose};
use crate::app::panels::model_pick::model_pick_ui;
use crate::app::panels::verdict_view::{hovered_cell_ui, verdict_image_ui};
use crate::app::panels::{Panel, PanelCtx};
use crate::app::requests::PendingRequests;
use crate::app::state::InferenceForm;
use crate::app::textures::{TextureCache, color_image};
use crate::inference::SizeMode;
use crate::insight::verdict::VerdictMap;
use crate::model::NormMode;

/// An image to translate and its result.
pub struct TranslateItem {
    /// Where it came from.
    pub path: PathBuf,
    /// The picture.
    pub input: DynamicImage,
    /// The translation, once done.
    pub output: Option<DynamicImage>,
    /// The run's discriminator's verdicts on (input, output), once judged.
    pub verdict: Option<VerdictMap>,
}

/// One image translated under each inference mode.
pub struct ModesGrid {
    /// The image.
    pub path: PathBuf,
    /// Modes per row (dropout off, then each seed).
    pub columns: usize,
    /// Each mode's label and its result once it arrives.
    pub cells: Vec<(String, Option<DynamicImage>)>,
    /// Bumped per grid, for its textures.
    revision: u64,
}

/// What the Translate tab holds.
#[derive(Default)]
pub struct TranslateView {
    /// The loaded images.
    pub items: Vec<TranslateItem>,
    /// Files that could not be loaded.
    pub load_errors: Vec<String>,
    /// The last result or error, for this tab.
    pub message: Option<Result<String, String>>,
    /// The first image under each inference mode, when asked for.
    pub modes: Option<ModesGrid>,
    /// Bumped when new outputs arrive, so their textures are uploaded again.
    revision: u64,
    textures: TextureCache,
}

impl TranslateView {
    /// The paths of the loaded images, in order.
    pub fn input_paths(&self) -> Vec<PathBuf> {
        self.items.iter().map(|item| item.path.clone()).collect()
    }

    /// Replaces the images (results and the last message are cleared).
    pub fn set_inputs(&mut self, images: Vec<(PathBuf, Result<DynamicImage, String>)>) {
        self.message = None;
        self.modes = None;
        self.items.clear();
        self.load_errors.clear();
        for (path, image) in images {
            match image {
                Ok(input) => self.items.push(TranslateItem {
                    path,
                    input,
                    output: None,
                    verdict: None,
                }),
                Err(message) => self.load_errors.push(message),
            }
        }
        self.revision += 1;
    }

    /// Takes the outputs of a translation of `inputs`, which land only if the loaded images are
    /// still those, in that order; returns whether they landed.
    pub fn take_outputs(&mut self, inputs: &[PathBuf], outputs: Vec<DynamicImage>) -> bool {
        let current = self.input_paths();
        let lands = inputs == current && outputs.len() == current.len();
        if lands {
            for (item, output) in self.items.iter_mut().zip(outputs) {
                item.output = Some(output);
                item.verdict = None;
            }
            self.revision += 1;
        }
        lands
    }

    /// Takes the verdicts on the judged `inputs` (those with outputs, in order), which land
    /// only if the loaded images are still those; returns whether they landed.
    pub fn take_verdicts(&mut self, inputs: &[PathBuf], maps: Vec<VerdictMap>) -> bool {
        let judged: Vec<&mut TranslateItem> = self
            .items
            .iter_mut()
            .filter(|item| item.output.is_some())
            .collect();
        let lands = judged.len() == inputs.len()
            && maps.len() == inputs.len()
            && judged
                .iter()
                .zip(inputs)
                .all(|(item, path)| item.path == *path);
        if lands {
            for (item, map) in judged.into_iter().zip(maps) {
                item.verdict = Some(map);
            }
            self.revision += 1;
        }
        lands
    }

    /// The (input, output) pairs to judge, with their paths.
    pub fn judge_pairs(&self) -> (Vec<PathBuf>, Vec<(DynamicImage, DynamicImage)>) {
        self.items
            .iter()
            .filter_map(|item| {
                let output = item.output.clone()?;
                Some((item.path.clone(), (item.input.clone(), output)))
            })
            .unzip()
    }

    /// Starts a grid of `labels` for the image at `path`, `columns` to a row.
    pub fn start_modes(&mut self, path: PathBuf, labels: Vec<String>, columns: usize) {
        let revision = self.modes.as_ref().map_or(0, |grid| grid.revision + 1);
        self.modes = Some(ModesGrid {
            path,
            columns: columns.max(1),
            cells: labels.into_iter().map(|label| (label, None)).collect(),
            revision,
        });
    }

    /// A mode's result, which lands only in the grid of the same image.
    pub fn take_mode(&mut self, path: &Path, cell: usize, image: DynamicImage) {
        if let Some(grid) = &mut self.modes
            && grid.path == path
            && let Some(slot) = grid.cells.get_mut(cell)
        {
            slot.1 = Some(image);
        }
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

impl Panel for TranslateView {
    /// The inputs and the model, the translate and save controls, and inputs beside outputs.
    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut PanelCtx<'_>) {
        let view = self;
        let (settings, actions, requests) = (&mut *ctx.settings, &mut *ctx.actions, ctx.requests);
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
            // The grid showed the previous model.
            view.modes = None;
        }
        inference_ui(ui, &mut settings.translate);
        ui.horizontal(|ui| {
        let busy = requests.translating_loaded_images() || requests.folder_job().is_some();
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
        insight_buttons_ui(ui, view, requests, actions);
        status_ui(ui, view, requests);
        ui.separator();
        if view.modes.is_some() {
            modes_ui(ui, view);
            ui.separator();
        }
        results_ui(ui, view);
    }
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

/// "Judge with the run's discriminator" and "Compare inference modes".
fn insight_buttons_ui(
    ui: &mut egui::Ui,
    view: &TranslateView,
    requests: &PendingRequests,
    actions: &mut Vec<UiAction>,
) {
    ui.horizontal(|ui| {
        let has_results = view.items.iter().any(|item| item.output.is_some());
        if ui
            .add_enabled(
                has_results && !requests.judging(),
                egui::Button::new("Judge with the run's discriminator"),
            )
            .on_hover_text(
                "The run's PatchGAN scores each input/output pair patch by patch (green: it \
                 believes the patch real, red: fake). Needs a run or checkpoint folder as the \
                 model: imported and demo models come without a discriminator.",
            )
            .clicked()
        {
            actions.push(UiAction::JudgeTranslations);
        }
        if ui
            .add_enabled(
                !view.items.is_empty() && !requests.comparing_modes(),
                egui::Button::new("Compare inference modes"),
            )
            .on_hover_text(
                "The first image under batch and running statistics, with dropout off and on \
                 under several seeds, side by side. The reference's users argue over --eval and \
                 dropout at test time: here is what each does with your model.",
            )
            .clicked()
        {
            actions.push(UiAction::CompareInferenceModes);
        }
        if requests.judging() || requests.comparing_modes() {
            ui.spinner();
        }
    });
}

/// The first image under each inference mode, a row per normalisation.
fn modes_ui(ui: &mut egui::Ui, view: &mut TranslateView) {
    let Some(grid) = &view.modes else { return };
    let ctx = ui.ctx().clone();
    let name = grid
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    ui.strong(format!(
        "{name} under each inference mode (the default is the first)"
    ));
    let columns = grid.columns;
    let side = ((ui.available_width() - 16.0 * columns as f32) / columns as f32).clamp(64.0, 200.0);
    let revision = grid.revision;
    let textures = &mut view.textures;
    egui::Grid::new("inference_modes").show(ui, |ui| {
        for (index, (label, image)) in grid.cells.iter().enumerate() {
            ui.vertical(|ui| {
                ui.small(label);
                match image {
                    Some(image) => {
                        let key = format!("modes-{revision}-{index}");
                        let texture = textures.get(&ctx, &key, || color_image(&image.to_rgb8()));
                        ui.add(fitted(&texture, side).alt_text(label.clone()));
                    }
                    None => {
                        ui.allocate_ui(egui::vec2(side, side), |ui| ui.spinner());
                    }
                }
            });
            if (index + 1) % columns == 0 {
                ui.end_row();
            }
        }
    });
}

fn status_ui(ui: &mut egui::Ui, view: &TranslateView, requests: &PendingRequests) {
    if requests.translating_loaded_images() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Translating...");
        });
    }
    if let Some((done, total)) = requests.tiles() {
        ui.add(
            egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                .text(format!("a large image in tiles: {done} / {total}")),
        );
    }
    if let Some((done, total)) = requests.folder_job() {
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
    let judged = view.items.iter().any(|item| item.verdict.is_some());
    let columns = if judged { 3.0 } else { 2.0 };
    let side = ((ui.available_width() - 20.0 * columns) / columns).clamp(96.0, 384.0);
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
                let mut hovered = None;
                let row = ui.horizontal(|ui| {
                    let input = textures.get(&ctx, &format!("{revision}-{index}-input"), || {
                        color_image(&item.input.to_rgb8())
                    });
                    let input_rect = ui
                        .add(fitted(&input, side).alt_text(format!("input {name}")))
                        .rect;
                    match &item.output {
                        Some(output) => {
                            let texture =
                                textures.get(&ctx, &format!("{revision}-{index}-output"), || {
                                    color_image(&output.to_rgb8())
                                });
                            let shown = fitted(&texture, side);
                            let size = shown.size().unwrap_or(egui::Vec2::splat(side));
                            ui.add(shown.alt_text(format!("output {name}")));
                            if let Some(map) = &item.verdict {
                                let key = format!("{revision}-{index}-verdict");
                                let texture = textures
                                    .get(&ctx, &key, || color_image(&map.over(&output.to_rgb8())));
                                let alt = format!("D's verdict on {name}");
                                hovered =
                                    verdict_image_ui(ui, &texture, size, alt, "D on output", map);
                            }
                        }
                        None => {
                            ui.allocate_ui(egui::vec2(side, side), |ui| {
                                ui.weak("not translated yet")
                            });
                        }
                    }
                    input_rect
                });
                if let Some(hovered) = hovered {
                    hovered_cell_ui(ui, &hovered, row.inner);
                }
            }
        });
    let prefix = format!("{revision}-");
    let modes_prefix = view
        .modes
        .as_ref()
        .map(|grid| format!("modes-{}-", grid.revision));
    textures.retain(|key| {
        key.starts_with(&prefix) || modes_prefix.as_ref().is_some_and(|p| key.starts_with(p))
    });
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
