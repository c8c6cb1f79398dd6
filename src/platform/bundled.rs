//! What ships with the app: the demo models and the example drawings, embedded in the binary
//! (about 8 MB) so the Sketch tab and `translate` work from any folder and from a copied or
//! `cargo install`ed binary; and the sample data, found in the working directory (`cargo run`),
//! beside the program or where the crate was built, and said to be missing otherwise.

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
            DemoModel::Sketches => include_bytes!("../../assets/demo/sketches/config.json"),
            DemoModel::Labels => include_bytes!("../../assets/demo/labels/config.json"),
        }
    }

    /// The model's `generator.safetensors` (f16, the reference's keys), as shipped in the
    /// binary.
    pub fn generator_safetensors(self) -> &'static [u8] {
        match self {
            DemoModel::Sketches => {
                include_bytes!("../../assets/demo/sketches/generator.safetensors")
            }
            DemoModel::Labels => include_bytes!("../../assets/demo/labels/generator.safetensors"),
        }
    }
}

/// The example drawings shipped in the binary for a demo model's Sketch mode, by name: line
/// sketches for the sketches model, a facade label map for the labels model.
pub fn example_drawings(demo: DemoModel) -> &'static [(&'static str, &'static [u8])] {
    match demo {
        DemoModel::Sketches => &[
            (
                "fish",
                include_bytes!("../../assets/examples/fish_sketch.png"),
            ),
            (
                "house",
                include_bytes!("../../assets/examples/house_sketch.png"),
            ),
            (
                "mushroom",
                include_bytes!("../../assets/examples/mushroom_sketch.png"),
            ),
        ],
        DemoModel::Labels => &[(
            "facade",
            include_bytes!("../../assets/examples/labels/facade_labels.png"),
        )],
    }
}

/// The bundled `sample_pairs/` folder, if it can be found.
pub fn sample_pairs_dir() -> Option<PathBuf> {
    find(Path::new("sample_pairs"))
}

/// `relative` under the working directory, else beside the program (an unpacked release),
/// else under the crate's source folder (a build from a checkout).
fn find(relative: &Path) -> Option<PathBuf> {
    let beside_program = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    [
        Some(PathBuf::from(".")),
        beside_program,
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ]
    .into_iter()
    .flatten()
    .map(|base| base.join(relative))
    .find(|path| path.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_drawing_decodes() {
        for demo in [DemoModel::Sketches, DemoModel::Labels] {
            for (name, png) in example_drawings(demo) {
                let image =
                    image::load_from_memory(png).unwrap_or_else(|err| panic!("{name}: {err}"));
                assert!(image.width() >= 64 && image.height() >= 64, "{name}");
            }
        }
    }
}
