//! What ships with the app: the demo models and the example drawings, embedded in the binary
//! (about 24 MB) so the Sketch tab and `translate` work from any folder and from a copied or
//! `cargo install`ed binary; and the sample data, found in the working directory (`cargo run`),
//! beside the program or where the crate was built, and said to be missing otherwise.

use std::path::{Path, PathBuf};

/// The demo generators shipped in `assets/demo/`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DemoModel {
    /// Thin edge drawing to a photo of a shoe or a handbag; trained on 1,900 real pairs
    /// (`shoes_edges`, edges2shoes style).
    #[default]
    Shoes,
    /// Sketch (dark lines on white) to a coloured, shaded object; trained on
    /// `sample_pairs/sketches`.
    Sketches,
    /// Facade label map (the `sample_pairs/labels` palette) to a rendered building front.
    Labels,
}

impl DemoModel {
    /// Every shipped model, in the order menus list them.
    pub const ALL: [DemoModel; 3] = [DemoModel::Shoes, DemoModel::Sketches, DemoModel::Labels];

    /// The model's name (its folder under `assets/demo/`).
    pub fn name(self) -> &'static str {
        match self {
            DemoModel::Shoes => "shoes",
            DemoModel::Sketches => "sketches",
            DemoModel::Labels => "labels",
        }
    }

    /// The model's name in menus.
    pub fn title(self) -> &'static str {
        match self {
            DemoModel::Shoes => "Shoes and handbags",
            DemoModel::Sketches => "Objects",
            DemoModel::Labels => "Facade labels",
        }
    }

    /// What the model knows, in one line.
    pub fn knows(self) -> &'static str {
        match self {
            DemoModel::Shoes => {
                "Draws shoes and handbags seen from the side, from thin black outlines \
                 (learned from 1,900 real photos and their edges)"
            }
            DemoModel::Sketches => {
                "Colours simple objects (apples, suns, houses, fish...) drawn as black outlines \
                 (learned from the app's synthetic sample sketches)"
            }
            DemoModel::Labels => {
                "Paints building fronts from label maps drawn in the facade palette \
                 (learned from the app's synthetic sample facades)"
            }
        }
    }

    /// Whether the model reads label maps in the facade palette rather than line drawings.
    pub fn reads_label_maps(self) -> bool {
        self == DemoModel::Labels
    }

    /// The pen that draws like the model's training inputs, in pixels of a 256 px sheet: the
    /// shoe edges are 1-2 px lines, the sample sketches about 5 px.
    pub fn pen_px(self) -> f32 {
        match self {
            DemoModel::Shoes => 1.0,
            DemoModel::Sketches | DemoModel::Labels => 5.0,
        }
    }

    /// The model's `config.json` (a run configuration), as shipped in the binary.
    pub fn config_json(self) -> &'static [u8] {
        match self {
            DemoModel::Shoes => include_bytes!("../../assets/demo/shoes/config.json"),
            DemoModel::Sketches => include_bytes!("../../assets/demo/sketches/config.json"),
            DemoModel::Labels => include_bytes!("../../assets/demo/labels/config.json"),
        }
    }

    /// The model's `generator.safetensors` (f16, the reference's keys), as shipped in the
    /// binary.
    pub fn generator_safetensors(self) -> &'static [u8] {
        match self {
            DemoModel::Shoes => include_bytes!("../../assets/demo/shoes/generator.safetensors"),
            DemoModel::Sketches => {
                include_bytes!("../../assets/demo/sketches/generator.safetensors")
            }
            DemoModel::Labels => include_bytes!("../../assets/demo/labels/generator.safetensors"),
        }
    }
}

/// The example drawings shipped in the binary for a demo model's Sketch mode, by name: the
/// edge halves of held-out pairs for the shoes model, line sketches for the sketches model, a
/// facade label map for the labels model.
pub fn example_drawings(demo: DemoModel) -> &'static [(&'static str, &'static [u8])] {
    match demo {
        DemoModel::Shoes => &[
            (
                "sneaker",
                include_bytes!("../../assets/examples/shoes/sneaker_edges.png"),
            ),
            (
                "boot",
                include_bytes!("../../assets/examples/shoes/boot_edges.png"),
            ),
            (
                "sandal",
                include_bytes!("../../assets/examples/shoes/sandal_edges.png"),
            ),
            (
                "handbag",
                include_bytes!("../../assets/examples/shoes/handbag_edges.png"),
            ),
        ],
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
        for demo in DemoModel::ALL {
            for (name, png) in example_drawings(demo) {
                let image =
                    image::load_from_memory(png).unwrap_or_else(|err| panic!("{name}: {err}"));
                assert!(image.width() >= 64 && image.height() >= 64, "{name}");
            }
        }
    }
}
