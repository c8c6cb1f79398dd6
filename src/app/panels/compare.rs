//! The Compare tab: several run folders at once (the paper's ablations, or any runs): their
//! validation L1 and training losses overlaid on one step axis, and a table of the options in
//! which they differ with their scores (the table `pix2pix-studio compare` prints).

use std::path::PathBuf;

use egui::Color32;
use egui_plot::{Legend, Line, Plot, PlotPoints, Points, log_grid_spacer};

use crate::app::actions::UiAction;
use crate::app::background::Purpose;
use crate::app::panels::{Panel, PanelCtx};
use crate::insight::compare::{RunRecord, comparison_table, run_name};

/// Weight of the past in the smoothed training curves.
const SMOOTHING: f64 = 0.95;
/// Points per training curve at most (long runs are thinned after smoothing).
const MAX_CURVE_POINTS: usize = 1500;

/// Distinct colours, one per run, the same in every plot.
const RUN_COLORS: [Color32; 8] = [
    Color32::from_rgb(230, 90, 80),
    Color32::from_rgb(80, 150, 240),
    Color32::from_rgb(130, 200, 70),
    Color32::from_rgb(240, 180, 50),
    Color32::from_rgb(190, 110, 230),
    Color32::from_rgb(60, 200, 190),
    Color32::from_rgb(240, 130, 190),
    Color32::from_rgb(170, 170, 170),
];

/// The colour of the run at `index` (the palette repeats after eight runs).
fn run_color(index: usize) -> Color32 {
    RUN_COLORS[index % RUN_COLORS.len()]
}

/// One run's curves, `[step, value]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparedRun {
    /// The run's name (its folder's).
    pub name: String,
    /// Validation L1 at each validation.
    pub validation_l1: Vec<[f64; 2]>,
    /// λ·L1 of the training steps, smoothed.
    pub training_l1: Vec<[f64; 2]>,
    /// G_GAN of the training steps, smoothed.
    pub g_gan: Vec<[f64; 2]>,
}

impl ComparedRun {
    fn of(record: &RunRecord) -> Self {
        let validations = &record.history.validations;
        let losses = &record.history.losses;
        let curve = |value: fn(&crate::training::history::LossRecord) -> f32| {
            let mut smoothed: Option<f64> = None;
            let every = losses.len().div_ceil(MAX_CURVE_POINTS).max(1);
            let mut points = Vec::with_capacity(losses.len() / every + 1);
            for (index, record) in losses.iter().enumerate() {
                let v = f64::from(value(record));
                let next = smoothed.map_or(v, |s| SMOOTHING * s + (1.0 - SMOOTHING) * v);
                smoothed = Some(next);
                if index % every == 0 || index + 1 == losses.len() {
                    points.push([record.step as f64, next]);
                }
            }
            points
        };
        Self {
            name: run_name(&record.dir),
            validation_l1: validations
                .iter()
                .map(|v| [v.step as f64, v.metrics.l1])
                .collect(),
            training_l1: curve(|record| record.losses.g_l1),
            g_gan: curve(|record| record.losses.g_gan),
        }
    }
}

/// What the Compare tab holds.
#[derive(Default)]
pub struct CompareView {
    /// The runs read, in the list's order.
    pub runs: Vec<ComparedRun>,
    /// The comparison table: a header row, then an option or a score per row.
    pub table: Vec<Vec<String>>,
    /// Folders that could not be read, with why.
    pub errors: Vec<String>,
    /// A reading is going on.
    pub reading: bool,
    /// The folder typed in, to add.
    pub new_run: String,
    generation: u64,
}

impl CompareView {
    /// A new reading was asked for; returns its generation.
    pub fn start_reading(&mut self) -> u64 {
        self.generation += 1;
        self.reading = true;
        self.generation
    }

    /// Run folders were read (an older reading's answer is ignored).
    pub fn runs_read(&mut self, generation: u64, runs: Vec<(PathBuf, Result<RunRecord, String>)>) {
        if generation != self.generation {
            return;
        }
        self.reading = false;
        self.errors.clear();
        let mut records = Vec::new();
        for (dir, record) in runs {
            match record {
                Ok(record) => records.push(record),
                Err(message) => self.errors.push(format!("{}: {message}", dir.display())),
            }
        }
        self.runs = records.iter().map(ComparedRun::of).collect();
        self.table = match comparison_table(&records) {
            Ok(table) if !records.is_empty() => table,
            Ok(_) => Vec::new(),
            Err(err) => {
                self.errors.push(err.to_string());
                Vec::new()
            }
        };
    }
}

impl Panel for CompareView {
    /// The list of runs, the overlaid curves and the table.
    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut PanelCtx<'_>) {
        let (settings, actions) = (&mut *ctx.settings, &mut *ctx.actions);
        ui.horizontal(|ui| {
            let label = ui.label("Run folder:");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.new_run)
                        .desired_width(360.0)
                        .hint_text("a run folder to add"),
                )
                .labelled_by(label.id);
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let typed = self.new_run.trim().to_string();
            if (ui
                .add_enabled(!typed.is_empty(), egui::Button::new("Add"))
                .clicked()
                || entered)
                && !typed.is_empty()
            {
                if !settings.compare_runs.contains(&typed) {
                    settings.compare_runs.push(typed);
                }
                self.new_run.clear();
                actions.push(UiAction::ReadComparedRuns);
            }
            if ui.button("Browse...").clicked() {
                actions.push(UiAction::Pick(Purpose::CompareRun));
            }
            if let Some(dir) = ctx.run.run_dir()
                && ui.button("Add this session's run").clicked()
            {
                let dir = dir.display().to_string();
                if !settings.compare_runs.contains(&dir) {
                    settings.compare_runs.push(dir);
                    actions.push(UiAction::ReadComparedRuns);
                }
            }
            if ui
                .add_enabled(
                    !settings.compare_runs.is_empty(),
                    egui::Button::new("Reload"),
                )
                .on_hover_text("Read the runs again (a run still training has moved on)")
                .clicked()
            {
                actions.push(UiAction::ReadComparedRuns);
            }
        });
        let mut removed = None;
        for (index, dir) in settings.compare_runs.iter().enumerate() {
            ui.horizontal(|ui| {
                if ui
                    .small_button("Remove")
                    .on_hover_text(format!("Remove {dir} from the comparison"))
                    .clicked()
                {
                    removed = Some(index);
                }
                ui.label(dir);
            });
        }
        if let Some(index) = removed {
            settings.compare_runs.remove(index);
            actions.push(UiAction::ReadComparedRuns);
        }
        if self.reading {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("reading the runs...");
            });
        }
        for error in &self.errors {
            ui.colored_label(Color32::LIGHT_RED, error);
        }
        ui.separator();
        if self.runs.is_empty() {
            ui.weak(
                "Add two or more run folders to overlay their curves and see the options in which \
                 they differ: e.g. the paper's ablations (L1 only: --gan_mode none; cGAN only: \
                 --lambda_L1 0; no skips: --no_skips; PixelGAN / 16×16 / 70×70 / 286×286: \
                 --netD pixel / --n_layers_D 1 / 3 / 5), trained with the same seed.",
            );
            return;
        }
        egui::ScrollArea::vertical()
            .id_salt("compare")
            .show(ui, |ui| {
                self.table_ui(ui);
                ui.separator();
                self.curves_ui(ui);
            });
    }
}

impl CompareView {
    fn curves_ui(&self, ui: &mut egui::Ui) {
        let plot = |id: &str, y_label: &str| {
            Plot::new(id.to_string())
                .legend(Legend::default())
                .height(140.0)
                .x_axis_label("step")
                .y_axis_label(y_label)
                .y_axis_min_width(48.0)
                // Steps of 1, 5, 25 ...: with powers of ten, a 0-40 range in a plot this short
                // puts its marks too close for labels and the axis shows no numbers.
                .y_grid_spacer(log_grid_spacer(5))
                .link_axis(egui::Id::unique("compare_curves"), [true, false])
                .link_cursor(egui::Id::unique("compare_curves"), [true, false])
                .allow_scroll(false)
        };
        ui.strong("Validation L1 (lower is better)");
        plot("compare_validation", "val L1").show(ui, |plot_ui| {
            for (index, run) in self.runs.iter().enumerate() {
                let points = PlotPoints::from(run.validation_l1.clone());
                plot_ui.line(Line::new(run.name.clone(), points).color(run_color(index)));
                let markers = PlotPoints::from(run.validation_l1.clone());
                let markers = Points::new(run.name.clone(), markers).radius(2.5);
                plot_ui.points(markers.color(run_color(index)));
            }
        });
        ui.strong("Training λ·L1 and G_GAN (smoothed)");
        plot("compare_l1", "λ·L1").show(ui, |plot_ui| {
            for (index, run) in self.runs.iter().enumerate() {
                let points = PlotPoints::from(run.training_l1.clone());
                plot_ui.line(Line::new(run.name.clone(), points).color(run_color(index)));
            }
        });
        plot("compare_gan", "G_GAN").show(ui, |plot_ui| {
            for (index, run) in self.runs.iter().enumerate() {
                let points = PlotPoints::from(run.g_gan.clone());
                plot_ui.line(Line::new(run.name.clone(), points).color(run_color(index)));
            }
        });
    }

    fn table_ui(&self, ui: &mut egui::Ui) {
        ui.strong("Options that differ, and scores");
        egui::Grid::new("compare_table")
            .striped(true)
            .num_columns(self.table.first().map_or(0, Vec::len))
            .show(ui, |ui| {
                for (index, row) in self.table.iter().enumerate() {
                    for cell in row {
                        if index == 0 {
                            ui.strong(cell);
                        } else {
                            ui.label(cell);
                        }
                    }
                    ui.end_row();
                }
            });
    }
}
