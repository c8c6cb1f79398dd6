//! Where the bundled sample data and demo models are: beside the working directory when the app
//! runs from the repository (`cargo run`), else where the crate was built.

use std::path::{Path, PathBuf};

/// The demo generators shipped in `assets/demo/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DemoModel {
    /// Sketch (dark lines on white) to a coloured, shaded object; trained on
    /// `sample_pairs/sketches`.
    Sketches,
    /// Facade label map (the `sample_pairs/labels` palette) to a rendered building front.
    Labels,
}

impl DemoModel {
    /// The model's folder name under `assets/demo/`.
    fn folder_name(self) -> &'static str {
        match self {
            DemoModel::Sketches => "sketches",
            DemoModel::Labels => "labels",
        }
    }
}

/// The bundled `sample_pairs/` folder, if it can be found.
pub fn sample_pairs_dir() -> Option<PathBuf> {
    find(Path::new("sample_pairs"))
}

/// A shipped demo model's folder (`config.json` + `generator.safetensors`, loadable as a
/// checkpoint), if it can be found.
pub fn demo_model_dir(model: DemoModel) -> Option<PathBuf> {
    find(&Path::new("assets/demo").join(model.folder_name()))
}

/// `relative` under the working directory, else under the crate's source folder.
fn find(relative: &Path) -> Option<PathBuf> {
    [
        PathBuf::from("."),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    ]
    .into_iter()
    .map(|base| base.join(relative))
    .find(|path| path.exists())
}
