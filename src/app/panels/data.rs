//! The Data tab: choose a dataset folder (dialog, typed path, drop, or a bundled sample), see
//! its layout and validation report, set the direction, make pairs from plain photos, and
//! browse the pairs in a lazily loaded thumbnail grid.

use std::collections::HashMap;
use std::path::Path;

use egui::{Color32, RichText, TextureHandle, TextureOptions};

use crate::app::actions::UiAction;
use crate::app::background::{AugmentedPair, Background, PairThumbnail, Purpose};
use crate::app::panels::{Panel, PanelCtx};
use crate::app::state::Settings;
use crate::data::{Dataset, Direction, LayoutHint, SynthTask};
use crate::platform::bundled;

/// Side of a thumbnail on screen, px.
const THUMB_PX: f32 = 96.0;

/// Pairs whose thumbnails stay uploaded; beyond this the ones far from view are dropped.
const MAX_THUMBNAILS: usize = 400;

/// A pair's thumbnails as they load.
enum Thumb {
    Loading,
    Ready(TextureHandle, TextureHandle),
    Failed(String),
}

/// What the Data tab knows about the chosen folder.
#[derive(Default)]
pub struct DataView {
    /// Counts discovery requests; answers to older ones are ignored.
    generation: u64,
    /// A discovery is running.
    pub discovering: bool,
    /// The folder's pairs and report.
    pub dataset: Option<Box<Dataset>>,
    /// Why the folder could not be read.
    pub error: Option<String>,
    thumbnails: HashMap<usize, Thumb>,
    /// Draws of the augmentation preview so far (each shows the next pair, freshly jittered).
    augment_draws: u64,
    /// The last draw: its textures and description, or why it failed.
    augmented: Option<Result<(TextureHandle, TextureHandle, String, String), String>>,
}

impl DataView {
    /// Forgets the folder and returns the number of the new discovery request.
    pub fn begin_discovery(&mut self) -> u64 {
        self.generation += 1;
        self.discovering = true;
        self.dataset = None;
        self.error = None;
        self.thumbnails.clear();
        self.augmented = None;
        self.generation
    }

    /// Takes a discovery result (ignored if a newer request is running).
    pub fn discovered(&mut self, generation: u64, result: Result<Box<Dataset>, String>) {
        if generation != self.generation {
            return;
        }
        self.discovering = false;
        match result {
            Ok(dataset) => self.dataset = Some(dataset),
            Err(message) => self.error = Some(message),
        }
    }

    /// Takes a drawn augmentation preview and uploads it.
    pub fn augmented_loaded(
        &mut self,
        ctx: &egui::Context,
        generation: u64,
        result: Result<AugmentedPair, String>,
    ) {
        if generation != self.generation {
            return;
        }
        self.augmented = Some(result.map(|pair| {
            let upload = |name: &str, image| ctx.load_texture(name, image, TextureOptions::NEAREST);
            (
                upload("augmented-input", pair.input),
                upload("augmented-target", pair.target),
                pair.name,
                pair.description,
            )
        }));
    }

    /// Takes a pair's thumbnails and uploads them.
    pub fn thumbnail_loaded(
        &mut self,
        ctx: &egui::Context,
        generation: u64,
        index: usize,
        result: Result<PairThumbnail, String>,
    ) {
        if generation != self.generation {
            return;
        }
        let thumb = match result {
            Ok((input, target)) => Thumb::Ready(
                ctx.load_texture(
                    format!("thumb-{index}-input"),
                    input,
                    TextureOptions::LINEAR,
                ),
                ctx.load_texture(
                    format!("thumb-{index}-target"),
                    target,
                    TextureOptions::LINEAR,
                ),
            ),
            Err(message) => Thumb::Failed(message),
        };
        self.thumbnails.insert(index, thumb);
    }
}

impl Panel for DataView {
    /// The folder and its options, the report, and the pairs' thumbnails.
    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut PanelCtx<'_>) {
        let view = self;
        let (settings, actions, background) =
            (&mut *ctx.settings, &mut *ctx.actions, ctx.background);
        ui.heading("Dataset");
        folder_row(ui, settings, actions);
        options_row(ui, settings, actions);
        ui.separator();
        if view.discovering {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the folder...");
            });
        }
        if let Some(message) = &view.error {
            ui.colored_label(
                Color32::LIGHT_RED,
                format!("Cannot use this folder: {message}"),
            );
        }
        // Out of the view while drawing (the grid updates the view's thumbnails), back after it:
        // no copy of thousands of pair entries per frame.
        let Some(dataset) = view.dataset.take() else {
            return;
        };
        report_ui(ui, &dataset, settings, actions);
        ui.separator();
        augment_preview_ui(ui, &dataset, settings, view, background);
        ui.separator();
        thumbnail_grid(ui, &dataset, view, background);
        view.dataset = Some(dataset);
    }
}

/// The augmentation preview: the next pair, drawn as training sees it with the Train form's
/// size and preprocessing (resize, random crop, random flip), drawn afresh at each click.
fn augment_preview_ui(
    ui: &mut egui::Ui,
    dataset: &Dataset,
    settings: &Settings,
    view: &mut DataView,
    background: &Background,
) {
    ui.horizontal(|ui| {
        ui.strong("As the model sees it");
        let draw = ui
            .add_enabled(!dataset.pairs.is_empty(), egui::Button::new("Draw a pair"))
            .on_hover_text(
                "The next pair after the Train tab's preprocessing: resized, randomly cropped \
                 and flipped as in training (previews and validation are neither). Each click \
                 draws again.",
            );
        if draw.clicked() {
            let dataset_dir = Path::new(settings.dataset_dir.trim());
            let config =
                settings
                    .train
                    .run_config(dataset_dir, settings.direction, settings.layout);
            let sample_config = config.sample_config(dataset.synth);
            let draw = view.augment_draws;
            view.augment_draws += 1;
            let entry = dataset.pairs[draw as usize % dataset.pairs.len()].clone();
            background.augment_preview(view.generation, entry, sample_config, draw);
        }
    });
    match &view.augmented {
        Some(Ok((input, target, name, description))) => {
            ui.horizontal(|ui| {
                let side = egui::vec2(THUMB_PX * 1.5, THUMB_PX * 1.5);
                ui.add(egui::Image::new((input.id(), side)).alt_text("augmented input"));
                ui.add(egui::Image::new((target.id(), side)).alt_text("augmented target"));
                ui.label(format!("{name}: {description}"));
            });
        }
        Some(Err(message)) => {
            ui.colored_label(Color32::LIGHT_RED, message);
        }
        None => {}
    }
}

fn folder_row(ui: &mut egui::Ui, settings: &mut Settings, actions: &mut Vec<UiAction>) {
    ui.horizontal(|ui| {
        let label = ui.label("Folder:");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut settings.dataset_dir)
                    .desired_width(420.0)
                    .hint_text("a folder of pairs, or of plain photos"),
            )
            .labelled_by(label.id);
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .button("Open")
            .on_hover_text("Read the typed folder")
            .clicked()
            || entered
        {
            actions.push(UiAction::Discover);
        }
        if ui
            .button("Browse...")
            .on_hover_text("Choose the folder with the system's dialog")
            .clicked()
        {
            actions.push(UiAction::Pick(Purpose::DatasetFolder));
        }
    });
    ui.horizontal(|ui| {
        ui.label("Bundled samples:");
        if let Some(samples) = bundled::sample_pairs_dir() {
            for (name, tip) in [
                ("sketches", "Line drawings to coloured, shaded objects"),
                ("labels", "Facade label maps to rendered building fronts"),
            ] {
                if ui.button(name).on_hover_text(tip).clicked() {
                    settings.dataset_dir = samples.join(name).display().to_string();
                    settings.layout = LayoutHint::Auto;
                    actions.push(UiAction::Discover);
                }
            }
        } else {
            ui.label("(sample_pairs/ is not beside this program: run it from the repository, or choose a folder)");
        }
        ui.weak("You can also drop a folder on the window.");
    });
}

fn options_row(ui: &mut egui::Ui, settings: &mut Settings, actions: &mut Vec<UiAction>) {
    ui.horizontal(|ui| {
        ui.label("Direction:");
        let before = settings.direction;
        ui.radio_value(&mut settings.direction, Direction::AtoB, "A to B")
            .on_hover_text("A (left half, A/, input/, *_label/) is the input");
        ui.radio_value(&mut settings.direction, Direction::BtoA, "B to A")
            .on_hover_text("B (right half, B/, target/, *_img/) is the input");
        ui.separator();
        let label = ui.label("Layout:");
        let previous = settings.layout;
        egui::ComboBox::from_id_salt("layout")
            .selected_text(layout_name(settings.layout))
            .show_ui(ui, |ui| {
                let mut choices = vec![LayoutHint::Auto, LayoutHint::SideBySide];
                choices.extend(SynthTask::ALL.map(LayoutHint::Photos));
                for choice in choices {
                    ui.selectable_value(&mut settings.layout, choice, layout_name(choice));
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text(
                "Auto detects A|B images and A/B folders. 'Side by side' forces A|B splitting; \
                 the photo tasks make pairs from plain pictures.",
            );
        if before != settings.direction || previous != settings.layout {
            actions.push(UiAction::Discover);
        }
    });
}

fn layout_name(layout: LayoutHint) -> String {
    match layout {
        LayoutHint::Auto => "detect".into(),
        LayoutHint::SideBySide => "A|B side by side".into(),
        LayoutHint::Photos(task) => format!("photos: {task}"),
    }
}

fn report_ui(
    ui: &mut egui::Ui,
    dataset: &Dataset,
    settings: &mut Settings,
    actions: &mut Vec<UiAction>,
) {
    let report = &dataset.report;
    ui.label(RichText::new(format!("Layout: {}", report.layout)).strong());
    egui::Grid::new("report").num_columns(2).show(ui, |ui| {
        for (name, value) in report_rows(dataset) {
            ui.label(name);
            ui.label(value);
            ui.end_row();
        }
    });
    let photos_without_task = dataset.pairs.is_empty() && report.layout.contains("plain photos");
    if photos_without_task {
        ui.horizontal(|ui| {
            ui.label("These are plain pictures. Make pairs from them:");
            for task in SynthTask::ALL {
                if ui.button(task.to_string()).clicked() {
                    settings.layout = LayoutHint::Photos(task);
                    actions.push(UiAction::Discover);
                }
            }
        });
    } else if dataset.pairs.is_empty() {
        ui.colored_label(
            Color32::LIGHT_RED,
            "No usable pairs: training cannot start on this folder.",
        );
    }
    if !report.problems.is_empty() {
        egui::CollapsingHeader::new(format!("Problems ({})", report.problems.len()))
            .default_open(report.problems.len() <= 20)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("problems")
                    .max_height(160.0)
                    .show(ui, |ui| {
                        for problem in &report.problems {
                            let text = format!(
                                "{}: {}",
                                short_path(&problem.path, &dataset.root),
                                problem.issue
                            );
                            let color = if problem.issue.skips() {
                                Color32::LIGHT_RED
                            } else {
                                Color32::YELLOW
                            };
                            ui.colored_label(color, text);
                        }
                    });
            });
    }
}

fn report_rows(dataset: &Dataset) -> Vec<(&'static str, String)> {
    let report = &dataset.report;
    let splits: Vec<String> = report
        .pairs_per_split
        .iter()
        .map(|(split, count)| format!("{split} {count}"))
        .collect();
    let mut sizes: Vec<(&(u32, u32), &usize)> = report.sizes.iter().collect();
    sizes.sort_by(|a, b| b.1.cmp(a.1));
    let sizes: Vec<String> = sizes
        .iter()
        .take(4)
        .map(|((w, h), n)| format!("{w}x{h} ({n})"))
        .collect();
    let formats: Vec<String> = report
        .formats
        .iter()
        .map(|(format, n)| format!("{format} ({n})"))
        .collect();
    vec![
        (
            "Pairs:",
            if splits.is_empty() {
                "none".into()
            } else {
                splits.join(", ")
            },
        ),
        ("Direction:", report.direction.clone()),
        ("Sizes (one side):", sizes.join(", ")),
        ("Formats:", formats.join(", ")),
        ("Skipped files:", report.skipped().to_string()),
    ]
}

/// A path relative to the dataset root, for compact lists ("this folder" for the root).
fn short_path(path: &Path, root: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) if relative.as_os_str().is_empty() => "this folder".into(),
        Ok(relative) => relative.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

/// Pairs in rows, only the visible rows drawn and their thumbnails requested.
fn thumbnail_grid(
    ui: &mut egui::Ui,
    dataset: &Dataset,
    view: &mut DataView,
    background: &Background,
) {
    let cell_width = 2.0 * THUMB_PX + 16.0;
    let columns = ((ui.available_width() / cell_width).floor() as usize).max(1);
    let rows = dataset.pairs.len().div_ceil(columns);
    let row_height = THUMB_PX + ui.text_style_height(&egui::TextStyle::Small) + 8.0;
    let shown = egui::ScrollArea::vertical()
        .id_salt("thumbnails")
        .auto_shrink([false, false])
        .show_rows(ui, row_height, rows, |ui, visible| {
            for row in visible.clone() {
                ui.horizontal(|ui| {
                    for index in row * columns..((row + 1) * columns).min(dataset.pairs.len()) {
                        pair_cell(ui, dataset, index, view, background);
                    }
                });
            }
            visible.start * columns..visible.end * columns
        })
        .inner;
    // Thousands of pairs: keep the textures near the visible rows only.
    if view.thumbnails.len() > MAX_THUMBNAILS {
        let keep = shown.start.saturating_sub(MAX_THUMBNAILS / 4)..shown.end + MAX_THUMBNAILS / 4;
        view.thumbnails.retain(|index, _| keep.contains(index));
    }
}

fn pair_cell(
    ui: &mut egui::Ui,
    dataset: &Dataset,
    index: usize,
    view: &mut DataView,
    background: &Background,
) {
    let entry = &dataset.pairs[index];
    if !view.thumbnails.contains_key(&index)
        && background.request_thumbnail(
            view.generation,
            index,
            entry.clone(),
            dataset.direction,
            dataset.synth,
        )
    {
        view.thumbnails.insert(index, Thumb::Loading);
    }
    let name = entry
        .files
        .path()
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    ui.vertical(|ui| {
        ui.set_width(2.0 * THUMB_PX + 8.0);
        ui.horizontal(|ui| match view.thumbnails.get(&index) {
            Some(Thumb::Ready(input, target)) => {
                let size = egui::vec2(THUMB_PX, THUMB_PX);
                ui.add(egui::Image::new((input.id(), size)).alt_text(format!("input {name}")));
                ui.add(egui::Image::new((target.id(), size)).alt_text(format!("target {name}")));
            }
            Some(Thumb::Failed(message)) => {
                ui.colored_label(Color32::LIGHT_RED, "unreadable")
                    .on_hover_text(message);
            }
            _ => {
                ui.allocate_ui(egui::vec2(2.0 * THUMB_PX, THUMB_PX), |ui| ui.spinner());
            }
        });
        ui.small(format!("{} ({})", name, entry.split));
    });
}
