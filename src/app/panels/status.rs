//! The status bar: the device, the run's state, the last message and the last error.

use egui::Color32;

use crate::app::panels::{Panel, PanelCtx};

/// Messages for the status bar.
#[derive(Default)]
pub struct StatusLine {
    /// The last informational message.
    pub message: Option<String>,
    /// The last error, shown until dismissed.
    pub error: Option<String>,
}

impl Panel for StatusLine {
    /// The device, the run's state and step, and the last error (dismissable) or message.
    fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut PanelCtx<'_>) {
        let (run, device, status) = (ctx.run, ctx.device, self);
        ui.horizontal(|ui| {
            let label = ui.label(format!("Device: {}", device.label()));
            if let Some(note) = device.note() {
                label.on_hover_text(format!("No GPU used: {note}"));
            }
            ui.separator();
            ui.label(format!("Run: {}", run.state.label()));
            if let Some(progress) = run.progress {
                ui.label(format!("step {} / {}", progress.step, progress.total_steps));
            }
            ui.separator();
            if let Some(error) = status.error.clone() {
                ui.colored_label(Color32::LIGHT_RED, format!("Error: {error}"));
                if ui.small_button("Dismiss").clicked() {
                    status.error = None;
                }
            } else if let Some(message) = &status.message {
                ui.label(message);
            }
        });
    }
}
