//! The model chooser of the Translate tab (the demo model, the current run, a run or checkpoint
//! folder, or reference PyTorch weights), and the folder and file fields the Sketch tab's menu
//! shares with it.

use crate::app::actions::UiAction;
use crate::app::background::{ModelTarget, Purpose};
use crate::app::state::{ModelChoice, ModelPick};

/// Draws the chooser; true when the choice changed.
pub fn model_pick_ui(
    ui: &mut egui::Ui,
    pick: &mut ModelPick,
    target: ModelTarget,
    demo_name: &str,
    actions: &mut Vec<UiAction>,
) -> bool {
    let before = pick.clone();
    ui.horizontal_wrapped(|ui| {
        ui.label("Model:");
        ui.radio_value(
            &mut pick.choice,
            ModelChoice::Demo,
            format!("demo ({demo_name})"),
        )
        .on_hover_text("The small model built into the app (made from assets/demo/)");
        ui.radio_value(&mut pick.choice, ModelChoice::CurrentRun, "current run")
            .on_hover_text(
                "The run being trained (its live weights), or the last run of this session",
            );
        ui.radio_value(&mut pick.choice, ModelChoice::Checkpoint, "checkpoint")
            .on_hover_text("A run folder (its latest checkpoint) or one checkpoint folder");
        ui.radio_value(&mut pick.choice, ModelChoice::Weights, "PyTorch weights")
            .on_hover_text(
                "A generator state dict from the reference implementation (.pth or .safetensors); \
                 its architecture is read from the weights",
            );
    });
    model_path_ui(ui, pick, target, actions);
    *pick != before
}

/// The folder or file field of a checkpoint or weights choice (nothing for the others).
pub fn model_path_ui(
    ui: &mut egui::Ui,
    pick: &mut ModelPick,
    target: ModelTarget,
    actions: &mut Vec<UiAction>,
) {
    match pick.choice {
        ModelChoice::Checkpoint => {
            ui.horizontal(|ui| {
                let label = ui.label("Folder:");
                ui.add(
                    egui::TextEdit::singleline(&mut pick.checkpoint_dir)
                        .desired_width(360.0)
                        .hint_text("runs/my-run or runs/my-run/checkpoints/..."),
                )
                .labelled_by(label.id);
                if ui.button("Browse...").clicked() {
                    actions.push(UiAction::Pick(Purpose::CheckpointFolder(target)));
                }
            });
        }
        ModelChoice::Weights => {
            ui.horizontal(|ui| {
                let label = ui.label("File:");
                ui.add(
                    egui::TextEdit::singleline(&mut pick.weights_path)
                        .desired_width(360.0)
                        .hint_text("latest_net_G.pth"),
                )
                .labelled_by(label.id);
                if ui.button("Browse...").clicked() {
                    actions.push(UiAction::Pick(Purpose::WeightsFile(target)));
                }
            });
        }
        ModelChoice::Demo | ModelChoice::CurrentRun => {}
    }
}
