//! The Train tab: presets and every option with a tooltip, the run controls, live loss curves,
//! validation metrics and the input | generated | target previews with a slider back in time.

use clap::ValueEnum as _;
use egui::{Color32, DragValue, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints, log_grid_spacer};

use crate::app::actions::UiAction;
use crate::app::background::Purpose;
use crate::app::panels::verdict_view::{hovered_cell_ui, verdict_image_ui};
use crate::app::panels::{Panel, PanelCtx};
use crate::app::run_view::{CURVE_NAMES, RunState, RunView, loss_curves};
use crate::app::state::{Preset, Settings, TrainForm};
use crate::app::textures::{TextureCache, color_image};
use crate::config::GanMode;
use crate::config::schedule::PolicyKind;
use crate::data::Preprocess;
use crate::model::blocks::NormKind;
use crate::model::discriminator::MAX_N_LAYERS;
use crate::model::generator::{MAX_NUM_DOWNS, MIN_NUM_DOWNS};
use crate::platform::device::DeviceChoice;
use crate::worker::{Command, Triplet};

/// The Train tab's own state (plot options, the preview being looked at).
pub struct TrainView {
    /// Exponential smoothing of the curves, 0 = raw.
    pub smoothing: f64,
    /// Plot log10 of the losses.
    pub log_scale: bool,
    /// The preview set shown; `None` follows the newest.
    pub preview_index: Option<usize>,
    /// Show the discriminator's verdict maps beside the previews.
    pub show_verdicts: bool,
    textures: TextureCache,
}

impl Default for TrainView {
    fn default() -> Self {
        Self {
            smoothing: 0.6,
            log_scale: false,
            preview_index: None,
            show_verdicts: true,
            textures: TextureCache::default(),
        }
    }
}

impl Panel for TrainView {
    /// The options and run controls on the left; progress, curves and previews in the middle.
    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut PanelCtx<'_>) {
        let (settings, run, actions) = (&mut *ctx.settings, ctx.run, &mut *ctx.actions);
        let device_label = ctx.device.describe();
        egui::Panel::left("train_options")
            .resizable(true)
            .default_size(340.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("train_options_scroll")
                    .show(ui, |ui| {
                        controls_ui(ui, settings, run, actions);
                        ui.separator();
                        let locked = run.state.is_active();
                        options_ui(ui, &mut settings.train, &device_label, locked);
                    });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("train_main_scroll")
                .show(ui, |ui| {
                    progress_ui(ui, run);
                    curves_ui(ui, run, self);
                    ui.separator();
                    previews_ui(ui, run, self, settings.train.options.preview_every_steps);
                });
        });
    }
}

/// After a run failed on a GPU (or could not start on one): one click carries on on the CPU,
/// from the last checkpoint when there is one.
fn cpu_fallback_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    run: &RunView,
    actions: &mut Vec<UiAction>,
) {
    // A run that trained on a GPU, or one that could not start on the GPU it was asked for.
    let failed_on_gpu = run.state == RunState::Failed
        && match &run.info {
            Some(info) => info.device.kind != crate::platform::device::AdapterKind::Cpu,
            None => settings.train.device == DeviceChoice::Gpu,
        };
    if !failed_on_gpu {
        return;
    }
    let resume = run.last_checkpoint.is_some();
    let (text, tip) = if resume {
        (
            "Resume on the CPU",
            "Continue this run from its last checkpoint on the CPU",
        )
    } else {
        (
            "Start again on the CPU",
            "Start this run again with the same options on the CPU",
        )
    };
    if ui.button(text).on_hover_text(tip).clicked() {
        settings.train.device = DeviceChoice::Cpu;
        if let (true, Some(info)) = (resume, &run.info) {
            settings.resume_dir = info.run_dir.display().to_string();
        }
        actions.push(UiAction::StartTraining { resume });
    }
}

/// The preset, the run's buttons, the runs folder and resuming a run.
fn controls_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    run: &RunView,
    actions: &mut Vec<UiAction>,
) {
    preset_ui(ui, settings);
    run_buttons_ui(ui, settings, run, actions);
    cpu_fallback_ui(ui, settings, run, actions);
    ui.horizontal(|ui| {
        let label = ui.label("Runs folder:");
        ui.add(egui::TextEdit::singleline(&mut settings.runs_dir).desired_width(200.0))
            .labelled_by(label.id)
            .on_hover_text(
                "Each new run gets its own folder in here: config, checkpoints, previews",
            );
    });
    resume_ui(ui, settings, run, actions);
}

/// The preset menu: choosing one resets the form to it.
fn preset_ui(ui: &mut egui::Ui, settings: &mut Settings) {
    ui.horizontal(|ui| {
        let label = ui.label("Preset:");
        let mut preset = settings.train.preset;
        egui::ComboBox::from_id_salt("preset")
            .width(250.0)
            .selected_text(preset.title())
            .show_ui(ui, |ui| {
                for choice in [Preset::Quick, Preset::Paper, Preset::Custom] {
                    ui.selectable_value(&mut preset, choice, choice.title());
                }
            })
            .response
            .labelled_by(label.id);
        if preset != settings.train.preset {
            settings.train = settings.train.with_preset(preset);
        }
    });
}

/// Start, pause or resume, stop, save now.
fn run_buttons_ui(
    ui: &mut egui::Ui,
    settings: &Settings,
    run: &RunView,
    actions: &mut Vec<UiAction>,
) {
    let active = run.state.is_active();
    ui.horizontal_wrapped(|ui| {
        let can_start = !active && !settings.dataset_dir.trim().is_empty();
        if ui
            .add_enabled(can_start, egui::Button::new("Start training"))
            .on_hover_text(
                "Start a new run on the dataset of the Data tab with these options (Ctrl+Enter)",
            )
            .clicked()
        {
            actions.push(UiAction::StartTraining { resume: false });
        }
        let paused = run.state == RunState::Paused;
        if paused {
            if ui
                .button("Resume")
                .on_hover_text("Continue the paused run")
                .clicked()
            {
                actions.push(UiAction::Send(Command::Resume));
            }
        } else if ui
            .add_enabled(run.state == RunState::Training, egui::Button::new("Pause"))
            .on_hover_text("Pause after the current step")
            .clicked()
        {
            actions.push(UiAction::Send(Command::Pause));
        }
        let running = matches!(
            run.state,
            RunState::Training | RunState::Paused | RunState::CompilingKernels
        );
        if ui
            .add_enabled(
                running || run.state == RunState::Starting,
                egui::Button::new("Stop"),
            )
            .on_hover_text("Save a checkpoint and end the run (or give up a start)")
            .clicked()
        {
            actions.push(UiAction::StopTraining);
        }
        if ui
            .add_enabled(running, egui::Button::new("Save now"))
            .on_hover_text("Write the latest checkpoint now and go on")
            .clicked()
        {
            actions.push(UiAction::Send(Command::SaveCheckpoint));
        }
    });
}

/// Resuming a run from its folder.
fn resume_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    run: &RunView,
    actions: &mut Vec<UiAction>,
) {
    let active = run.state.is_active();
    ui.collapsing("Resume a run", |ui| {
        ui.horizontal(|ui| {
            let label = ui.label("Run folder:");
            ui.add(
                egui::TextEdit::singleline(&mut settings.resume_dir)
                    .desired_width(200.0)
                    .hint_text("runs/sketches-001"),
            )
            .labelled_by(label.id);
            if ui.button("Browse...").clicked() {
                actions.push(UiAction::Pick(Purpose::ResumeFolder));
            }
        });
        let can_resume = !active && !settings.resume_dir.trim().is_empty();
        if ui
            .add_enabled(can_resume, egui::Button::new("Resume run"))
            .on_hover_text(
                "Continue the run from its latest checkpoint: same step, learning rate, optimiser \
                 state and curves. The schedule and report intervals come from this form.",
            )
            .clicked()
        {
            actions.push(UiAction::StartTraining { resume: true });
        }
    });
}

/// A labelled row of the options grid; any change makes the preset Custom.
fn row(
    ui: &mut egui::Ui,
    name: &str,
    tip: &str,
    changed: &mut bool,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) {
    let label = ui.label(name).on_hover_text(tip);
    *changed |= add(ui).labelled_by(label.id).on_hover_text(tip).changed();
    ui.end_row();
}

/// Early stopping off, or its patience in validations; the response reports a change.
fn early_stop_ui(ui: &mut egui::Ui, patience: &mut Option<usize>) -> egui::Response {
    ui.horizontal(|ui| {
        let mut on = patience.is_some();
        let mut response = ui.checkbox(&mut on, "after");
        let mut validations = patience.unwrap_or(5);
        let count = ui
            .add_enabled(on, DragValue::new(&mut validations).range(1..=1000))
            .labelled_by(response.id);
        ui.label("validations without improvement");
        if response.changed() || count.changed() {
            response.mark_changed();
        }
        *patience = on.then_some(validations);
        response
    })
    .inner
}

/// A drop-down of `choices`; its response reports a change.
fn combo<T: PartialEq + Copy>(
    ui: &mut egui::Ui,
    id: &str,
    value: &mut T,
    choices: &[T],
    name: impl Fn(T) -> String,
) -> egui::Response {
    let before = *value;
    let mut response = egui::ComboBox::from_id_salt(id)
        .selected_text(name(*value))
        .show_ui(ui, |ui| {
            for &choice in choices {
                ui.selectable_value(value, choice, name(choice));
            }
        })
        .response;
    if *value != before {
        response.mark_changed();
    }
    response
}

fn debug_name<T: std::fmt::Debug>(value: T) -> String {
    format!("{value:?}")
}

/// The options form, locked while a run goes on; any change makes the preset Custom.
fn options_ui(ui: &mut egui::Ui, form: &mut TrainForm, device_label: &str, locked: bool) {
    let mut changed = false;
    ui.add_enabled_ui(!locked, |ui| {
        network_options(ui, form, &mut changed);
        loss_options(ui, form, &mut changed);
        data_options(ui, form, &mut changed);
        compute_options(ui, form, device_label, &mut changed);
        ui.weak(format!("Device: {device_label}"));
    });
    if changed {
        form.preset = Preset::Custom;
    }
}

/// The networks: size, depth, widths, the discriminator's patch, normalisation, dropout, skips, channels.
fn network_options(ui: &mut egui::Ui, form: &mut TrainForm, changed: &mut bool) {
    ui.strong("Networks");
    egui::Grid::new("model_options").num_columns(2).show(ui, |ui| {
        let multiple = 1u32 << form.options.num_downs.min(MAX_NUM_DOWNS);
        row(ui, "Image size (px)", "Training crop size; a multiple of 2^depth", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.image_size_px).range(32..=1024).speed(multiple as f64))
        });
        row(ui, "U-Net depth", "Down-sampling levels: 7 = unet_128, 8 = unet_256; the image size must be a multiple of 2^depth", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.num_downs).range(MIN_NUM_DOWNS..=MAX_NUM_DOWNS))
        });
        row(ui, "Generator width (ngf)", "Filters in the generator's first layer; the rest scale with it. 64 in the paper", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.ngf).range(4..=128))
        });
        row(ui, "Discriminator width (ndf)", "Filters in the discriminator's first layer. 64 in the paper", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.ndf).range(4..=128))
        });
        row(ui, "Discriminator patch", "How large a patch the discriminator judges: 1x1 PixelGAN only checks colours, 70x70 (the paper's) checks texture, 286x286 judges the whole image", changed, |ui| {
            combo(ui, "patch", &mut form.options.n_layers_d, &(0..=MAX_N_LAYERS).collect::<Vec<_>>(), patch_name)
        });
        row(ui, "Normalisation", "BatchNorm (the paper's), InstanceNorm, or none, in both networks", changed, |ui| {
            combo(ui, "norm", &mut form.options.norm, NormKind::value_variants(), debug_name)
        });
        row(ui, "Dropout", "Dropout in the decoder: the paper's only source of randomness", changed, |ui| {
            ui.checkbox(&mut form.options.dropout, "on")
        });
        row(ui, "U-Net skips", "Skip connections from encoder to decoder; off = the paper's plain encoder-decoder ablation, which blurs detail", changed, |ui| {
            ui.checkbox(&mut form.options.skips, "on")
        });
        row(ui, "Channels in", "1 = grayscale, 3 = colour (photo tasks set this themselves)", changed, |ui| {
            combo(ui, "in_channels", &mut form.options.input_channels, &[1, 3], |c| c.to_string())
        });
        row(ui, "Channels out", "1 = grayscale, 3 = colour (photo tasks set this themselves)", changed, |ui| {
            combo(ui, "out_channels", &mut form.options.output_channels, &[1, 3], |c| c.to_string())
        });
    });
}

/// The loss and the optimiser: GAN mode, lambda L1, Adam, the learning-rate schedule.
fn loss_options(ui: &mut egui::Ui, form: &mut TrainForm, changed: &mut bool) {
    ui.strong("Loss and optimiser");
    egui::Grid::new("loss_options").num_columns(2).show(ui, |ui| {
        row(ui, "GAN loss", "Vanilla = the paper's cross-entropy; Lsgan = least squares; Off = L1 alone (the paper's ablation: blurry but safe)", changed, |ui| {
            combo(ui, "gan_mode", &mut form.options.gan_mode, GanMode::value_variants(), debug_name)
        });
        row(ui, "lambda L1", "Weight of the L1 distance to the target (100 in the paper); 0 = GAN loss alone", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.lambda_l1).range(0.0..=1000.0).speed(1.0))
        });
        row(ui, "Learning rate", "Adam's step size for both networks (0.0002 in the paper)", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.learning_rate).range(1e-6..=1e-2).speed(1e-5).max_decimals(6))
        });
        row(ui, "Adam beta1", "Momentum of Adam (0.5 in the paper)", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.beta1).range(0.0..=0.99).speed(0.01))
        });
        row(ui, "LR schedule", "Linear: constant for the first epochs, then down to zero (the paper's); Constant; Step: x0.1 every N epochs; Cosine", changed, |ui| {
            combo(ui, "policy", &mut form.options.lr_policy, PolicyKind::value_variants(), debug_name)
        });
        row(ui, "Epochs", "Epochs at the starting learning rate", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.n_epochs).range(0..=10_000))
        });
        row(ui, "Decay epochs", "Epochs of linear decay to zero after those (linear schedule)", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.n_epochs_decay).range(0..=10_000))
        });
        if form.options.lr_policy == PolicyKind::Step {
            row(ui, "Decay every", "Epochs between x0.1 steps of the step schedule", changed, |ui| {
                ui.add(DragValue::new(&mut form.options.lr_decay_epochs).range(1..=10_000))
            });
        }
    });
}

/// The data: batch size, jitter, flips, the seed.
fn data_options(ui: &mut egui::Ui, form: &mut TrainForm, changed: &mut bool) {
    ui.strong("Data");
    egui::Grid::new("data_options").num_columns(2).show(ui, |ui| {
        row(ui, "Batch size", "Pairs per step (1 in the paper)", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.batch_size).range(1..=64))
        });
        row(ui, "Jitter", "ResizeAndCrop: scale to the load size, then a random crop (the paper's jitter); Crop; ScaleWidth; ScaleWidthAndCrop; None: keep the size", changed, |ui| {
            combo(ui, "preprocess", &mut form.options.preprocess, Preprocess::value_variants(), debug_name)
        });
        row(ui, "Load size (px)", "Size before the random crop (286 for 256 in the paper)", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.load_size_px).range(32..=2048))
        });
        row(ui, "Flip", "Random horizontal flips of both images", changed, |ui| {
            ui.checkbox(&mut form.options.flip, "on")
        });
        row(ui, "Seed", "Seed of the weights, shuffling, jitter and dropout: the same seed gives the same run", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.seed))
        });
    });
}

/// The device and the reporting intervals, early stopping.
fn compute_options(
    ui: &mut egui::Ui,
    form: &mut TrainForm,
    device_label: &str,
    changed: &mut bool,
) {
    ui.strong("Compute and reporting");
    egui::Grid::new("compute_options").num_columns(2).show(ui, |ui| {
        let tip = format!("Auto uses a hardware GPU when one works, else the CPU. Training, Translate and Sketch all use it. Now: {device_label}");
        row(ui, "Device", &tip, changed, |ui| {
            combo(ui, "device", &mut form.device, &[DeviceChoice::Auto, DeviceChoice::Gpu, DeviceChoice::Cpu], debug_name)
        });
        row(ui, "Preview every", "Steps between new preview triplets", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.preview_every_steps).range(1..=100_000))
        });
        row(ui, "Validate every", "Steps between validation metrics (L1, PSNR, SSIM on val/)", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.validate_every_steps).range(1..=100_000))
        });
        row(ui, "Checkpoint every", "Steps between saves of the latest checkpoint (also saved every epoch and on stop)", changed, |ui| {
            ui.add(DragValue::new(&mut form.options.checkpoint_every_steps).range(1..=1_000_000))
        });
        row(ui, "Early stop", "End the run once the validation L1 has not improved for this many validations in a row; the best checkpoint is kept", changed, |ui| {
            early_stop_ui(ui, &mut form.options.early_stop)
        });
    });
}

fn patch_name(n_layers: usize) -> String {
    match n_layers {
        0 => "1x1 PixelGAN".into(),
        _ => {
            let field = crate::model::PatchDiscriminatorConfig::new()
                .with_n_layers(n_layers)
                .receptive_field_px();
            format!("{field}x{field} PatchGAN")
        }
    }
}

fn progress_ui(ui: &mut egui::Ui, run: &RunView) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("Run: {}", run.state.label())).strong());
        if run.state == RunState::CompilingKernels {
            ui.spinner();
            let elapsed = run
                .compiling_since
                .map_or(0, |since| since.elapsed().as_secs());
            ui.label(format!(
                "compiling GPU kernels for the first step: {elapsed} s (up to a minute; later \
                 runs reuse the tuning)"
            ));
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs(1));
        }
        if let Some(progress) = run.progress {
            ui.label(format!(
                "step {} / {}   epoch {} / {}",
                progress.step,
                progress.total_steps,
                progress.epoch + 1,
                progress.total_epochs
            ));
            if let Some(rate) = run.steps_per_sec() {
                ui.label(format!("{rate:.2} it/s"));
            }
            ui.label(format!("ETA {}", duration_text(progress.eta_secs)));
            ui.label(format!("lr {:.2e}", progress.learning_rate));
        }
    });
    if let Some(progress) = run.progress {
        let fraction = progress.step as f32 / progress.total_steps.max(1) as f32;
        ui.add(egui::ProgressBar::new(fraction).show_percentage());
    }
    if let Some(reason) = &run.end_reason {
        ui.label(RichText::new(reason).strong());
    }
    if let Some((epoch, metrics)) = run.validations.last() {
        ui.label(format!(
            "Validation at epoch {epoch:.2}: L1 {:.4}   PSNR {:.2} dB   SSIM {:.4}",
            metrics.l1, metrics.psnr_db, metrics.ssim
        ));
    }
    if let Some(info) = &run.info {
        ui.weak(format!(
            "{} on {}; {} steps per epoch; {}",
            info.run_dir.display(),
            info.device,
            info.steps_per_epoch,
            info.dataset.summary()
        ));
    }
    if let Some((path, step)) = &run.last_checkpoint {
        ui.weak(format!("Last checkpoint: {} (step {step})", path.display()));
    }
    if let Some(message) = &run.last_error {
        ui.colored_label(Color32::LIGHT_RED, message);
    }
    if !run.data_problems.is_empty() {
        ui.collapsing(
            format!("Pairs left out ({})", run.data_problems.len()),
            |ui| {
                for problem in &run.data_problems {
                    ui.label(problem);
                }
            },
        );
    }
}

fn duration_text(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".into();
    }
    let secs = secs.round() as u64;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// The curves in three plots on one epoch axis, each on its own scale: G_L1 (λ·L1, tens),
/// the GAN contest (G_GAN, D_real, D_fake, around 0.3-3) and D's verdicts (probabilities).
/// On one axis the GAN curves would lie flat on the zero line under G_L1.
fn curves_ui(ui: &mut egui::Ui, run: &RunView, view: &mut TrainView) {
    ui.horizontal(|ui| {
        ui.strong("Training curves");
        ui.add(egui::Slider::new(&mut view.smoothing, 0.0..=0.99).text("smoothing"));
        ui.checkbox(&mut view.log_scale, "log scale (losses)");
    });
    health_ui(ui, run);
    let losses = loss_curves(&run.losses, view.smoothing, view.log_scale);
    let verdicts = loss_curves(&run.losses, view.smoothing, false);
    let log_scale = view.log_scale;
    let plot = |id: &str, height: f32, y_label: &str| {
        Plot::new(id.to_string())
            .legend(Legend::default())
            .height(height)
            .x_axis_label("epoch")
            .y_axis_label(y_label)
            .y_axis_min_width(40.0)
            // Steps of 1, 5, 25 ...: with powers of ten, a 0-40 range in a plot this short
            // puts its marks too close for labels and the axis shows no numbers.
            .y_grid_spacer(log_grid_spacer(5))
            .link_axis(egui::Id::unique("train_curves"), [true, false])
            .link_cursor(egui::Id::unique("train_curves"), [true, false])
            .allow_scroll(false)
    };
    let with_log = |plot: Plot<'static>| {
        if log_scale {
            plot.y_axis_formatter(|mark, _| format!("{:.3}", 10f64.powf(mark.value)))
        } else {
            plot
        }
    };
    let show = |ui: &mut egui::Ui, plot: Plot<'_>, curves: &[Vec<[f64; 2]>; 6], which: &[usize]| {
        plot.show(ui, |plot_ui| {
            for &index in which {
                let points = PlotPoints::from(curves[index].clone());
                plot_ui.line(Line::new(CURVE_NAMES[index], points));
            }
        });
    };
    show(ui, with_log(plot("g_l1", 130.0, "λ·L1")), &losses, &[1]);
    show(
        ui,
        with_log(plot("gan_losses", 150.0, "GAN losses")),
        &losses,
        &[0, 2, 3],
    );
    let gan_on = run
        .info
        .as_ref()
        .is_none_or(|info| info.config.training.gan_mode != GanMode::Off);
    if gan_on {
        let verdict_plot = plot("verdicts", 120.0, "P(real)")
            .include_y(0.0)
            .include_y(1.0);
        show(ui, verdict_plot, &verdicts, &[4, 5]);
    }
    ui.collapsing("How to read these curves", |ui| {
        ui.label(
            "λ·L1 is the distance to the target: it should fall steadily and is the best sign \
             of progress. G_GAN, D_real and D_fake are a contest: they do not converge to zero. \
             Healthy training keeps D_real and D_fake near 0.3-0.7 and G_GAN around 0.7-2. \
             D(x, y) and D(x, G(x)) are the discriminator's mean probability that a real and a \
             generated pair is real: in a healthy contest the first stays above the second and \
             neither sits at 0 or 1 for long. If D(x, G(x)) drops to ~0 while G_GAN climbs, the \
             discriminator is winning; if both sit at 0.5 and stop moving, it has collapsed. \
             Warnings above the plots say so when it happens. If the losses jump to NaN the \
             run stops and keeps its last good checkpoint. Judge the pictures below more than \
             the numbers.",
        );
    });
}

/// One preview sample: input, generated and target, and, when shown, the discriminator's
/// verdict maps over the generated and the target image. Hovering a map cell outlines the
/// patch of the input it judges, on the input and on the map, and names its probability.
fn preview_row_ui(
    ui: &mut egui::Ui,
    view: &mut TrainView,
    step: u64,
    sample: usize,
    triplet: &Triplet,
    side: f32,
) {
    let ctx = ui.ctx().clone();
    let size = egui::vec2(side, side);
    let mut hovered = None;
    let row = ui.horizontal(|ui| {
        let mut input_rect = egui::Rect::NOTHING;
        for (role, image) in [
            ("input", &triplet.input),
            ("generated", &triplet.generated),
            ("target", &triplet.target),
        ] {
            let key = format!("preview-{step}-{sample}-{role}");
            let texture = view.textures.get(&ctx, &key, || color_image(image));
            let alt = format!("{role} {} at step {step}", triplet.name);
            let response = ui.add(egui::Image::new((texture.id(), size)).alt_text(alt));
            if role == "input" {
                input_rect = response.rect;
            }
        }
        if !view.show_verdicts {
            return input_rect;
        }
        let maps = [
            (
                "D on generated",
                &triplet.verdict_generated,
                &triplet.generated,
            ),
            ("D on target", &triplet.verdict_real, &triplet.target),
        ];
        for (role, map, under) in maps {
            let Some(map) = map else { continue };
            let key = format!("preview-{step}-{sample}-{role}");
            let texture = view
                .textures
                .get(&ctx, &key, || color_image(&map.over(under)));
            let alt = format!("{role} {} at step {step}", triplet.name);
            if let Some(cell) = verdict_image_ui(ui, &texture, size, alt, role, map) {
                hovered = Some(cell);
            }
        }
        input_rect
    });
    if let Some(hovered) = hovered {
        hovered_cell_ui(ui, &hovered, row.inner);
    }
}

/// The health detectors' warnings, each with its evidence, meaning and what to try.
fn health_ui(ui: &mut egui::Ui, run: &RunView) {
    for warning in &run.health {
        let symptom = warning.symptom;
        ui.colored_label(
            Color32::from_rgb(240, 180, 60),
            RichText::new(format!(
                "Health: {} (step {})",
                symptom.title(),
                warning.step
            ))
            .strong(),
        );
        ui.label(&warning.evidence);
        ui.label(symptom.meaning());
        ui.label(format!("Try: {}", symptom.what_to_try()));
    }
}

fn previews_ui(ui: &mut egui::Ui, run: &RunView, view: &mut TrainView, every: u64) {
    let judged = run.previews.last().is_some_and(|set| {
        set.triplets
            .iter()
            .any(|triplet| triplet.verdict_generated.is_some())
    });
    ui.strong(if view.show_verdicts && judged {
        "Input | generated | target | D's verdict on generated | on target"
    } else {
        "Input | generated | target"
    });
    if run.previews.is_empty() {
        ui.label(format!(
            "Previews of fixed samples appear every {every} steps."
        ));
        return;
    }
    let last = run.previews.len() - 1;
    let mut index = view.preview_index.unwrap_or(last).min(last);
    ui.horizontal(|ui| {
        let response = ui.add(
            egui::Slider::new(&mut index, 0..=last)
                .text("preview")
                .custom_formatter(|value, _| format!("step {}", run.previews[value as usize].step)),
        );
        if response.changed() {
            view.preview_index = (index != last).then_some(index);
        }
        let mut follow = view.preview_index.is_none();
        if ui.checkbox(&mut follow, "follow the newest").changed() {
            view.preview_index = if follow { None } else { Some(index) };
        }
    });
    if run.previews[index]
        .triplets
        .iter()
        .any(|t| t.verdict_generated.is_some())
    {
        ui.checkbox(&mut view.show_verdicts, "show the discriminator's verdicts")
            .on_hover_text(
                "Each square of a map is one patch the PatchGAN judged: green = it calls the patch \
                 real, red = fake. Hover over a map to see the patch of the input it looks at.",
            );
    }
    let set = &run.previews[index];
    let columns = if view.show_verdicts { 5.0 } else { 3.0 };
    let side = ((ui.available_width() - 16.0 * columns) / columns).clamp(64.0, 256.0);
    for (sample, triplet) in set.triplets.iter().enumerate() {
        preview_row_ui(ui, view, set.step, sample, triplet, side);
        ui.small(&triplet.name);
    }
    // Only the shown set stays uploaded.
    let prefix = format!("preview-{}-", set.step);
    view.textures.retain(|key| key.starts_with(&prefix));
}
