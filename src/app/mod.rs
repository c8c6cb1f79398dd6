//! The desktop app (eframe/egui). For now a window that says what is ready; the panels for
//! data, training, translation and sketching follow.

use eframe::egui;

use crate::device::SelectedDevice;

/// Opens the main window and blocks until it is closed.
pub fn run(device: SelectedDevice) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("pix2pix-studio")
            .with_inner_size([960.0, 640.0]),
        ..Default::default()
    };
    eframe::run_native(
        "pix2pix-studio",
        options,
        Box::new(|_creation| Ok(Box::new(StudioApp { device }))),
    )
}

/// The app's state.
struct StudioApp {
    device: SelectedDevice,
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("pix2pix-studio");
            ui.label("Image-to-image translation with conditional GANs.");
            ui.separator();
            ui.label(format!("Compute device: {}", self.device.info));
            if let Some(reason) = &self.device.fallback_reason {
                ui.label(format!("No GPU used: {reason}"));
            }
            ui.label(
                "The networks, PyTorch weight import and training step are in place; \
                 the Data, Train, Translate and Sketch panels come next. \
                 Meanwhile `pix2pix-studio bench` measures training speed.",
            );
        });
    }
}
