//! What a paired dataset is: its splits, which side is the input, where each pair's pixels
//! come from, and what a dataset folder is told to discovery ([`super::discovery`] gathers the pairs into a
//! `Dataset`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::synth::SynthTask;
use crate::error::{Error, Result};

/// A dataset split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training pairs.
    Train,
    /// Validation pairs (previews and metrics).
    Val,
    /// Test pairs.
    Test,
}

impl Split {
    /// All splits in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// Folder names that mean this split.
    pub fn folder_names(self) -> &'static [&'static str] {
        match self {
            Split::Train => &["train", "training"],
            Split::Val => &["val", "valid", "validation"],
            Split::Test => &["test", "testing"],
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        })
    }
}

/// Which side of a pair is the input (the reference's `--direction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// A (left half, `A/`, `input/`, `*_label/`) is the input.
    #[default]
    AtoB,
    /// B is the input.
    BtoA,
}

impl std::str::FromStr for Direction {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "atob" | "a2b" => Ok(Direction::AtoB),
            "btoa" | "b2a" => Ok(Direction::BtoA),
            other => Err(Error::InvalidConfig(format!(
                "direction must be AtoB or BtoA, got `{other}`"
            ))),
        }
    }
}

/// Where one pair's pixels come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairFiles {
    /// One image, A on the left half and B on the right.
    SideBySide(PathBuf),
    /// Two images.
    Separate {
        /// The A side.
        a: PathBuf,
        /// The B side.
        b: PathBuf,
    },
    /// One photo; the pair is made by the dataset's synthesis task.
    Photo(PathBuf),
}

impl PairFiles {
    /// The file that names the pair in messages (A for separate pairs).
    pub fn path(&self) -> &Path {
        match self {
            PairFiles::SideBySide(path) | PairFiles::Photo(path) => path,
            PairFiles::Separate { a, .. } => a,
        }
    }
}

/// One usable pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairEntry {
    /// Its split.
    pub split: Split,
    /// Its files.
    pub files: PairFiles,
    /// Width and height of one side, in pixels.
    pub side_px: (u32, u32),
}

/// What the user says about the folder, where detection should not guess.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayoutHint {
    /// Detect the layout.
    #[default]
    Auto,
    /// Every image is input|target side by side, however narrow.
    SideBySide,
    /// Every image is a plain photo; make pairs with this task.
    Photos(SynthTask),
}

/// How to read a dataset folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoverOptions {
    /// Layout override.
    pub hint: LayoutHint,
    /// Which side is the input.
    pub direction: Direction,
    /// Pairs with a side shorter than this are skipped (0: no minimum).
    pub min_side_px: u32,
}
