//! What ships with the app: the demo models, embedded in the binary (about 8 MB) so the Sketch
//! tab and `translate` work from any folder and from a copied or `cargo install`ed binary; and
//! the sample data, found beside the working directory (`cargo run`) or where the crate was
//! built, and said to be missing otherwise.

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
    /// The model's name (its folder under `assets/demo/`).
    pub fn name(self) -> &'static str {
        match self {
            DemoModel::Sketches => "sketches",
            DemoModel::Labels => "labels",
        }
    }

    /// The model's `config.json` (a run configuration), as shipped in the binary.
    pub fn config_json(self) -> &'static [u8] {
        match self {
            DemoModel::Sketches => include_bytes!("../assets/demo/sketches/config.json"),
            DemoModel::Labels => include_bytes!("../assets/demo/labels/config.json"),
        }
    }

    /// The model's `generator.safetensors` (f16, the reference's keys), as shipped in the
    /// binary.
    pub fn generator_safetensors(self) -> &'static [u8] {
        match self {
            DemoModel::Sketches => include_bytes!("../assets/demo/sketches/generator.safetensors"),
            DemoModel::Labels => include_bytes!("../assets/demo/labels/generator.safetensors"),
        }
    }
}

/// The bundled `sample_pairs/` folder, if it can be found.
pub fn sample_pairs_dir() -> Option<PathBuf> {
    find(Path::new("sample_pairs"))
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
