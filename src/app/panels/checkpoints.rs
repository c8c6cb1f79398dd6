//! The Checkpoints tab: a run's checkpoints scored on its validation pairs (L1, PSNR, SSIM), one
//! row each with the same validation inputs translated by it, the lowest L1 marked; translate
//! with one, or make it the run's best. The scoring runs in the worker, rows fill in as they
//! come.

use std::path::{Path, PathBuf};

use egui::{Color32, RichText};

use crate::app::actions::UiAction;
use crate::app::background::Purpose;
use crate::app::panels::{Panel, PanelCtx};
use crate::app::textures::{TextureCache, color_image};
use crate::insight::gallery::{CheckpointEntry, CheckpointScore, GalleryHeader};
use crate::worker::Command;

/// Side of a thumbnail, in points.
const THUMBNAIL_SIDE: f32 = 112.0;
/// Width of the column of names, scores and buttons left of each row.
const LABEL_WIDTH: f32 = 260.0;

/// What the Checkpoints tab holds: the run shown and its scores as they arrive.
#[derive(Default)]
pub struct GalleryView {
    /// The run folder shown.
    pub run_dir: Option<PathBuf>,
    /// Its checkpoints, oldest first.
    pub checkpoints: Vec<CheckpointEntry>,
    /// Each checkpoint's score once it arrives, or why it could not be scored.
    pub scores: Vec<Option<Result<CheckpointScore, String>>>,
    /// The pairs scored on, with the inputs and targets of the thumbnails.
    pub header: Option<GalleryHeader>,
    /// The scoring is going on.
    pub scoring: bool,
    /// What the last scoring or choice said.
    pub message: Option<Result<String, String>>,
    /// Bumped for each new listing, so its textures are uploaded again.
    revision: u64,
    textures: TextureCache,
}

impl GalleryView {
    /// A new scoring of `run_dir` was asked for.
    pub fn start(&mut self, run_dir: PathBuf) {
        *self = Self {
            run_dir: Some(run_dir),
            scoring: true,
            revision: self.revision + 1,
            ..Self::default()
        };
    }

    /// The worker listed the run's checkpoints and the pairs they are scored on.
    pub fn listed(&mut self, checkpoints: Vec<CheckpointEntry>, header: GalleryHeader) {
        self.scores = vec![None; checkpoints.len()];
        self.checkpoints = checkpoints;
        self.header = Some(header);
    }

    /// One checkpoint's score arrived.
    pub fn scored(&mut self, index: usize, score: Result<CheckpointScore, String>) {
        if let Some(slot) = self.scores.get_mut(index) {
            *slot = Some(score);
        }
    }

    /// Every checkpoint was scored, in `millis`.
    pub fn done(&mut self, millis: u64) {
        self.scoring = false;
        let pairs = self.header.as_ref().map_or(0, |header| header.pairs);
        self.message = Some(Ok(format!(
            "scored {} checkpoint(s) on {pairs} pair(s) in {:.1} s",
            self.checkpoints.len(),
            millis as f64 / 1000.0
        )));
    }

    /// The scoring could not run.
    pub fn failed(&mut self, message: String) {
        self.scoring = false;
        self.message = Some(Err(message));
    }

    /// `checkpoint` became the run's best.
    pub fn best_chosen(&mut self, checkpoint: &Path) {
        for entry in &mut self.checkpoints {
            entry.is_best = entry.dir == checkpoint;
        }
        self.message = Some(Ok(format!(
            "{} is now the run's best (best.json)",
            checkpoint.display()
        )));
    }

    /// The lowest validation L1 of the checkpoints scored (the latest checkpoint is often the
    /// same weights as the last kept one: both are marked).
    pub fn lowest_l1(&self) -> Option<f64> {
        self.scores
            .iter()
            .filter_map(|score| match score {
                Some(Ok(score)) => Some(score.metrics.l1),
                _ => None,
            })
            .min_by(f64::total_cmp)
    }
}

impl Panel for GalleryView {
    /// The run folder and the Score button, then a row per checkpoint.
    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut PanelCtx<'_>) {
        let (settings, actions) = (&mut *ctx.settings, &mut *ctx.actions);
        ui.horizontal(|ui| {
            let label = ui.label("Run folder:");
            ui.add(
                egui::TextEdit::singleline(&mut settings.gallery_run)
                    .desired_width(360.0)
                    .hint_text("a run folder (runs/sketches-001)"),
            )
            .labelled_by(label.id);
            if ui.button("Browse...").clicked() {
                actions.push(UiAction::Pick(Purpose::GalleryRun));
            }
            let typed = settings.gallery_run.trim();
            if ui
                .add_enabled(
                    !self.scoring && !typed.is_empty(),
                    egui::Button::new("Score checkpoints"),
                )
                .on_hover_text(
                    "Translate the run's validation pairs with every checkpoint it keeps and \
                     score them (L1, PSNR, SSIM), as training validates",
                )
                .clicked()
            {
                actions.push(UiAction::OpenGallery(PathBuf::from(typed)));
            }
            if let Some(dir) = ctx.run.run_dir()
                && ui
                    .button("This session's run")
                    .on_hover_text(dir.display().to_string())
                    .clicked()
            {
                settings.gallery_run = dir.display().to_string();
            }
        });
        self.status_ui(ui);
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("gallery")
            .show(ui, |ui| self.rows_ui(ui, actions));
        let prefix = format!("{}-", self.revision);
        self.textures.retain(|key| key.starts_with(&prefix));
    }
}

impl GalleryView {
    fn status_ui(&self, ui: &mut egui::Ui) {
        if self.scoring {
            // A still bar, redrawn when a score arrives: an animated spinner would repaint the
            // window continuously, and on a software renderer those frames take the CPU the
            // scoring needs.
            let done = self.scores.iter().filter(|score| score.is_some()).count();
            let total = self.checkpoints.len();
            let text = if self.header.is_some() {
                format!("scored {done} of {total} checkpoints...")
            } else {
                "reading the run and its validation pairs...".into()
            };
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .desired_width(360.0)
                    .text(text),
            );
        }
        match &self.message {
            Some(Ok(message)) => {
                ui.label(message);
            }
            Some(Err(message)) => {
                ui.colored_label(Color32::LIGHT_RED, message);
            }
            None => {}
        }
        if self.header.as_ref().is_some_and(|h| h.from_training_split) {
            ui.colored_label(
                Color32::from_rgb(240, 180, 60),
                "The dataset has no validation split: these scores are on training pairs, \
                 which the model has seen.",
            );
        }
    }

    fn rows_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<UiAction>) {
        let Some(header) = &self.header else {
            if !self.scoring {
                ui.weak(
                    "Score a run's checkpoints to see which one translates its validation pairs \
                     best. Each row is one checkpoint; the lowest validation L1 is marked.",
                );
            }
            return;
        };
        let lowest = self.lowest_l1();
        let ctx = ui.ctx().clone();
        let size = egui::Vec2::splat(THUMBNAIL_SIDE);
        let revision = self.revision;
        let textures = &mut self.textures;
        let mut picture = |ui: &mut egui::Ui, key: String, image: &image::RgbImage, alt: String| {
            let texture = textures.get(&ctx, &format!("{revision}-{key}"), || color_image(image));
            ui.add(egui::Image::new((texture.id(), size)).alt_text(alt));
        };
        let names = &header.names;
        let name = |index: usize| names.get(index).map_or("", String::as_str);
        for (role, images) in [("input", &header.inputs), ("target", &header.targets)] {
            ui.horizontal(|ui| {
                label_column(ui, |ui| {
                    ui.strong(format!("validation {role}s"));
                });
                for (index, image) in images.iter().enumerate() {
                    let alt = format!("{role} {}", name(index));
                    picture(ui, format!("{role}-{index}"), image, alt);
                }
            });
        }
        ui.separator();
        let run_dir = self.run_dir.clone().unwrap_or_default();
        for (index, entry) in self.checkpoints.iter().enumerate() {
            let score = self.scores.get(index).and_then(Option::as_ref);
            ui.horizontal(|ui| {
                label_column(ui, |ui| {
                    let is_lowest = matches!(
                        (score, lowest),
                        (Some(Ok(score)), Some(l1)) if score.metrics.l1 == l1
                    );
                    checkpoint_label_ui(ui, entry, score, is_lowest);
                    checkpoint_buttons_ui(ui, &run_dir, entry, score, actions);
                });
                match score {
                    Some(Ok(score)) => {
                        for (sample, image) in score.thumbnails.iter().enumerate() {
                            let alt = format!("{} by {}", name(sample), entry.name);
                            picture(ui, format!("{}-{sample}", entry.name), image, alt);
                        }
                    }
                    Some(Err(message)) => {
                        ui.colored_label(Color32::LIGHT_RED, message);
                    }
                    None => {
                        ui.weak("waiting to be scored");
                    }
                }
            });
            ui.separator();
        }
    }
}

/// The fixed-width column left of a row's pictures, so the pictures of all rows line up.
fn label_column(ui: &mut egui::Ui, content: impl FnOnce(&mut egui::Ui)) {
    ui.allocate_ui(egui::vec2(LABEL_WIDTH, THUMBNAIL_SIDE), |ui| {
        ui.set_min_width(LABEL_WIDTH);
        ui.vertical(content);
    });
}

/// A checkpoint's name, step, roles and scores.
fn checkpoint_label_ui(
    ui: &mut egui::Ui,
    entry: &CheckpointEntry,
    score: Option<&Result<CheckpointScore, String>>,
    lowest: bool,
) {
    ui.horizontal(|ui| {
        ui.strong(&entry.name);
        ui.label(format!("step {}", entry.steps));
    });
    ui.horizontal(|ui| {
        if entry.is_latest {
            ui.label(RichText::new("latest").color(Color32::LIGHT_BLUE));
        }
        if entry.is_best {
            ui.label(RichText::new("best.json").color(Color32::LIGHT_GREEN));
        }
        if lowest {
            ui.label(RichText::new("lowest L1").color(Color32::GOLD))
                .on_hover_text("The lowest validation L1 of the checkpoints scored here");
        }
    });
    if let Some(Ok(score)) = score {
        let metrics = score.metrics;
        ui.label(format!(
            "L1 {:.4} · PSNR {:.2} dB · SSIM {:.3}",
            metrics.l1, metrics.psnr_db, metrics.ssim
        ));
    }
}

/// "Translate with it", "Make best" and "Export ONNX...".
fn checkpoint_buttons_ui(
    ui: &mut egui::Ui,
    run_dir: &Path,
    entry: &CheckpointEntry,
    score: Option<&Result<CheckpointScore, String>>,
    actions: &mut Vec<UiAction>,
) {
    ui.horizontal(|ui| {
        let translate = ui
            .add(egui::Button::new("Translate with it"))
            .on_hover_text(
                "Use this checkpoint in the Translate tab (and translate the loaded images)",
            );
        if translate.clicked() {
            actions.push(UiAction::TranslateWithCheckpoint(entry.dir.clone()));
        }
        let val_l1 = match score {
            Some(Ok(score)) => Some(score.metrics.l1),
            _ => None,
        };
        let make_best = ui
            .add_enabled(!entry.is_best, egui::Button::new("Make best"))
            .on_hover_text(
                "Point the run's best.json at this checkpoint: `export --best` and `inspect` \
                 then take this one",
            );
        if make_best.clicked() {
            actions.push(UiAction::Send(Command::MakeBest {
                run_dir: run_dir.to_path_buf(),
                checkpoint: entry.dir.clone(),
                val_l1,
            }));
        }
        let export = ui.add(egui::Button::new("Export ONNX...")).on_hover_text(
            "Write this checkpoint's generator as an ONNX model for onnxruntime, TensorRT, \
             Unity Sentis or a browser: opset 17, each image's own statistics, the trained size. \
             `pix2pix-studio export --dynamic-size / --eval / --opset` offers the other choices.",
        );
        if export.clicked() {
            actions.push(UiAction::ExportOnnx(entry.dir.clone()));
        }
    });
}
