//! The Sketch tab's model menu: the shipped models by what they draw, then the run being
//! trained, a checkpoint or reference weights; and one line on what the chosen model knows.

use crate::app::actions::UiAction;
use crate::app::background::ModelTarget;
use crate::app::panels::model_pick::model_path_ui;
use crate::app::state::{ModelChoice, Settings};
use crate::platform::bundled::DemoModel;

/// What the menu changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MenuChange {
    /// Nothing.
    None,
    /// Another shipped model: its pen, sheet and examples follow.
    Demo(DemoModel),
    /// Another model of the user's (or its folder or file).
    Model,
}

/// The model menu and the line under it.
pub fn sketch_model_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    actions: &mut Vec<UiAction>,
) -> MenuChange {
    let (choice_before, demo_before) = (settings.sketch_model.clone(), settings.sketch_demo);
    let pick = &mut settings.sketch_model;
    let demo = &mut settings.sketch_demo;
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Model:");
        egui::ComboBox::from_id_salt("sketch-model")
            .selected_text(entry_title(pick.choice, *demo))
            .width(220.0)
            .show_ui(ui, |ui| {
                for model in DemoModel::ALL {
                    let chosen = pick.choice == ModelChoice::Demo && *demo == model;
                    if ui.selectable_label(chosen, model.title()).clicked() {
                        pick.choice = ModelChoice::Demo;
                        *demo = model;
                    }
                }
                ui.separator();
                for choice in [
                    ModelChoice::CurrentRun,
                    ModelChoice::Checkpoint,
                    ModelChoice::Weights,
                ] {
                    ui.selectable_value(&mut pick.choice, choice, entry_title(choice, *demo));
                }
            })
            .response
            .labelled_by(label.id);
        ui.weak(knows(pick.choice, *demo));
    });
    model_path_ui(ui, pick, ModelTarget::Sketch, actions);
    if settings.sketch_model.choice == ModelChoice::Demo
        && (choice_before.choice != ModelChoice::Demo || demo_before != settings.sketch_demo)
    {
        MenuChange::Demo(settings.sketch_demo)
    } else if settings.sketch_model != choice_before {
        MenuChange::Model
    } else {
        MenuChange::None
    }
}

/// A menu entry's name.
fn entry_title(choice: ModelChoice, demo: DemoModel) -> &'static str {
    match choice {
        ModelChoice::Demo => demo.title(),
        ModelChoice::CurrentRun => "The run being trained",
        ModelChoice::Checkpoint => "A run or checkpoint folder",
        ModelChoice::Weights => "PyTorch weights (.pth, .safetensors)",
    }
}

/// What the chosen model knows, in one line.
fn knows(choice: ModelChoice, demo: DemoModel) -> &'static str {
    match choice {
        ModelChoice::Demo => demo.knows(),
        ModelChoice::CurrentRun => {
            "Knows what this session's run is learning: draw inputs like its training inputs"
        }
        ModelChoice::Checkpoint | ModelChoice::Weights => {
            "Knows what it was trained on: draw inputs like its training inputs"
        }
    }
}
