//! Finding the pairs in a folder the user picks: the layouts people already have (each
//! collected in `layouts.rs`), matched by file name (never by sort order), every file checked
//! from its header, and what was found gathered into a [`Dataset`] with its report.
//!
//! Layouts, tried in this order:
//! - separate input and target folders: `A/` + `B/`, `input/` + `target/` (flat, or with
//!   `train/`, `val/`, `test/` inside or around them), `train_A/` + `train_B/` (also
//!   `trainA/`), and pix2pixHD's `train_label/` + `train_img/`;
//! - input|target side by side in one image (the reference's aligned format), in `train/`,
//!   `val/`, `test/` or flat;
//! - plain photos, which become pairs through a synthesis task (see [`super::synth`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::layouts::{collect_photos, collect_separate, collect_side_by_side};
use super::pairs::{Direction, DiscoverOptions, LayoutHint, PairEntry, Split};
use super::report::{Issue, Report};
use super::scan::Found;
use super::synth::SynthTask;
use crate::error::{Error, Result};

/// Finds and checks the pairs in `root`.
pub fn discover(root: &Path, options: &DiscoverOptions) -> Result<Dataset> {
    if !root.is_dir() {
        let reason = if root.exists() {
            std::io::Error::other("not a folder")
        } else {
            std::io::Error::from(std::io::ErrorKind::NotFound)
        };
        return Err(Error::io(root, reason));
    }
    let mut found = Found::default();
    let layout = match options.hint {
        LayoutHint::Photos(task) => {
            collect_photos(root, options, &mut found)?;
            format!("plain photos, pairs made by {task}")
        }
        LayoutHint::SideBySide => {
            collect_side_by_side(root, options, true, &mut found)?;
            "input|target side by side in one image".to_string()
        }
        LayoutHint::Auto => match collect_separate(root, options, &mut found)? {
            Some(name) => name,
            None => {
                collect_side_by_side(root, options, false, &mut found)?;
                if found.plain_photos {
                    "plain photos (no pairs: choose a synthesis task to make them)".to_string()
                } else if found.side_by_side_by_seam {
                    "input|target side by side in one image (halves narrower than tall, told \
                     by the seam between them)"
                        .to_string()
                } else {
                    "input|target side by side in one image".to_string()
                }
            }
        },
    };
    let no_image_files = !found
        .problems
        .iter()
        .any(|p| matches!(p.issue, Issue::Unreadable(_) | Issue::NotAnImage(_)));
    let layout = if found.formats.is_empty() && found.pairs.is_empty() && no_image_files {
        found.problem(root, Issue::NoImages);
        "no images found".to_string()
    } else {
        layout
    };
    let synth = match options.hint {
        LayoutHint::Photos(task) => Some(task),
        _ => None,
    };
    Ok(into_dataset(found, root, layout, synth, options.direction))
}

/// The dataset of what discovery found, its pairs sorted by split and path.
fn into_dataset(
    mut found: Found,
    root: &Path,
    layout: String,
    synth: Option<SynthTask>,
    direction: Direction,
) -> Dataset {
    found
        .pairs
        .sort_by(|a, b| (a.split, a.files.path()).cmp(&(b.split, b.files.path())));
    found.problems.sort_by(|a, b| a.path.cmp(&b.path));
    let mut pairs_per_split = BTreeMap::new();
    let mut sizes = BTreeMap::new();
    for pair in &found.pairs {
        *pairs_per_split.entry(pair.split).or_default() += 1;
        *sizes.entry(pair.side_px).or_default() += 1;
    }
    let (a, b) = &found.side_names;
    let direction_text = match (direction, synth) {
        (_, Some(task)) => format!("{task}"),
        (Direction::AtoB, None) => format!("AtoB: input = {a} (A), target = {b} (B)"),
        (Direction::BtoA, None) => format!("BtoA: input = {b} (B), target = {a} (A)"),
    };
    Dataset {
        root: root.to_path_buf(),
        pairs: found.pairs,
        synth,
        direction,
        report: Report {
            layout,
            direction: direction_text,
            pairs_per_split,
            sizes,
            formats: found.formats,
            problems: found.problems,
        },
    }
}

/// The pairs of a dataset folder and the report of how they were found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// The folder.
    pub root: PathBuf,
    /// Usable pairs, sorted by split and path.
    pub pairs: Vec<PairEntry>,
    /// The synthesis task, for a folder of plain photos.
    pub synth: Option<SynthTask>,
    /// Which side is the input.
    pub direction: Direction,
    /// What was found and what was wrong.
    pub report: Report,
}

impl Dataset {
    /// The pairs of one split.
    pub fn split(&self, split: Split) -> Vec<PairEntry> {
        self.pairs
            .iter()
            .filter(|pair| pair.split == split)
            .cloned()
            .collect()
    }

    /// Fails, with the report's summary, when there is nothing to train on.
    pub fn ensure_trainable(&self) -> Result<()> {
        if self.pairs.iter().any(|pair| pair.split == Split::Train) {
            Ok(())
        } else {
            Err(Error::NoUsablePairs {
                path: self.root.clone(),
                summary: self.report.summary(),
            })
        }
    }
}
