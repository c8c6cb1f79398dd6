//! The status bar: the device, the run's state, the last message and the last error.

use egui::Color32;

use crate::app::run_view::RunView;

/// Messages for the status bar.
#[derive(Default)]
pub struct StatusLine {
    /// The last informational message.
    pub message: Option<String>,
    /// The last error, shown until dismissed.
    pub error: Option<String>,
}

/// Draws the status bar.
pub fn status_ui(
    ui: &mut egui::Ui,
    status: &mut StatusLine,
    run: &RunView,
    device_label: &str,
    device_note: Option<&str>,
) {
    ui.horizontal(|ui| {
        let device = ui.label(format!("Device: {device_label}"));
        if let Some(note) = device_note {
            device.on_hover_text(format!("No GPU used: {note}"));
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
