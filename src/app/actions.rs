//! What the panels decide during a frame, applied by the app after it (so a panel never needs
//! the worker, the dialogs or another panel while it draws).

use std::path::PathBuf;

use super::background::Purpose;
use crate::platform::bundled::DemoModel;
use crate::worker::Command;

/// An action decided in the UI.
#[derive(Debug)]
pub enum UiAction {
    /// Send a command to the worker as it is.
    Send(Command),
    /// Start a new run with the form's settings (or resume the chosen run folder).
    StartTraining {
        /// Resume `Settings::resume_dir` instead of starting fresh.
        resume: bool,
    },
    /// Stop the run (also while it is still starting): the last checkpoint is written.
    StopTraining,
    /// Open a native dialog.
    Pick(Purpose),
    /// Read the dataset folder again (path, direction or layout changed).
    Discover,
    /// Load images to translate (files or folders).
    LoadTranslateInputs(Vec<PathBuf>),
    /// Translate the loaded images.
    TranslateLoaded,
    /// Translate every image of a folder straight to the output folder.
    TranslateFolderToDisk(PathBuf),
    /// Save the translated images to the output folder.
    SaveTranslations,
    /// The sketch changed: translate it (the newest request wins).
    SketchChanged,
    /// Load a picture to start the sketch from.
    LoadSketchImage(PathBuf),
    /// Start the sketch from the next example drawing built into the app.
    LoadSketchExample,
    /// A shipped model was chosen in the Sketch tab: its pen and sheet, and one of its
    /// examples where the sheet holds none of the user's strokes.
    SketchDemoChosen(DemoModel),
    /// Save the sketch and its translation to the output folder.
    SaveSketch,
    /// Score a run's checkpoints in the Checkpoints tab.
    OpenGallery(PathBuf),
    /// Use a checkpoint in the Translate tab and translate its loaded images.
    TranslateWithCheckpoint(PathBuf),
    /// Ask where to write a checkpoint's generator as an ONNX model, then write it.
    ExportOnnx(PathBuf),
    /// Judge the Translate tab's inputs and outputs with its model's discriminator.
    JudgeTranslations,
    /// Translate the Translate tab's first image under each inference mode.
    CompareInferenceModes,
    /// Read the Compare tab's run folders again.
    ReadComparedRuns,
}
