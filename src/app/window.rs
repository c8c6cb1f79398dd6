//! The native window: opened with the persisted settings and a worker that wakes it, and
//! eframe's hooks, which run a frame of [`StudioApp`] and save the settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{FrameStats, Settings, StudioApp};
use crate::platform::device::DeviceChoice;
use crate::platform::threads::training_threads_beside_window;
use crate::worker::{WorkerHandle, WorkerOptions};

/// Progress and previews repaint the window at most this often: on a software renderer a
/// frame costs tens of milliseconds of the CPU that training needs.
const PROGRESS_REPAINT: Duration = Duration::from_millis(250);

/// Opens the main window and blocks until it is closed. `device` replaces the device of the saved
/// settings. With `frame_log`, the interval of every frame while a run trains is recorded and
/// written there on exit (for measuring responsiveness).
pub fn run(
    device: Option<DeviceChoice>,
    frame_log: Option<PathBuf>,
    threads: Option<usize>,
) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("pix2pix-studio")
            .with_inner_size([1200.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "pix2pix-studio",
        options,
        Box::new(move |creation| {
            let mut settings: Settings = creation
                .storage
                .and_then(|storage| eframe::get_value(storage, eframe::APP_KEY))
                .unwrap_or_default();
            if let Some(device) = device {
                settings.train.device = device;
            }
            let ctx = creation.egui_ctx.clone();
            let worker = WorkerHandle::spawn_with(
                Arc::new(move |urgent| {
                    if urgent {
                        ctx.request_repaint();
                    } else {
                        ctx.request_repaint_after(PROGRESS_REPAINT);
                    }
                }),
                WorkerOptions {
                    background_priority: true,
                    background_threads: Some(training_threads_beside_window(threads)),
                },
            )?;
            let ctx = creation.egui_ctx.clone();
            let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || ctx.request_repaint());
            let mut app = StudioApp::new(settings, Box::new(worker), wake);
            app.start_with_an_example();
            app.frame_stats = frame_log.map(FrameStats::new);
            Ok(Box::new(app))
        }),
    )
}

impl eframe::App for StudioApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.pump(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        StudioApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn on_exit(&mut self) {
        if let Some(stats) = &self.frame_stats
            && let Err(err) = stats.write()
        {
            log::error!("{err}");
        }
    }
}
