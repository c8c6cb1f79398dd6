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

use rayon::prelude::*;

use super::decode::{ImageHeader, describe_color, has_image_extension, read_header};
use super::layouts::{collect_photos, collect_separate, collect_side_by_side};
use super::pairs::{Dataset, Direction, DiscoverOptions, LayoutHint, PairEntry, Split};
use super::report::{Issue, Problem, Report};
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
    Ok(found.into_dataset(root, layout, synth, options.direction))
}

/// What discovery has gathered so far.
#[derive(Default)]
pub(super) struct Found {
    pub(super) pairs: Vec<PairEntry>,
    pub(super) problems: Vec<Problem>,
    pub(super) formats: BTreeMap<String, usize>,
    pub(super) plain_photos: bool,
    /// Side by side although the images are narrower than the aspect rule wants: the seam
    /// between the halves decided.
    pub(super) side_by_side_by_seam: bool,
    /// What the two sides are called in this layout, for the report.
    pub(super) side_names: (String, String),
}

impl Found {
    pub(super) fn problem(&mut self, path: &Path, issue: Issue) {
        self.problems.push(Problem {
            path: path.to_path_buf(),
            issue,
        });
    }

    pub(super) fn count_format(&mut self, header: &ImageHeader) {
        *self
            .formats
            .entry(describe_color(header.color).to_string())
            .or_default() += 1;
    }

    pub(super) fn into_dataset(
        mut self,
        root: &Path,
        layout: String,
        synth: Option<SynthTask>,
        direction: Direction,
    ) -> Dataset {
        self.pairs
            .sort_by(|a, b| (a.split, a.files.path()).cmp(&(b.split, b.files.path())));
        self.problems.sort_by(|a, b| a.path.cmp(&b.path));
        let mut pairs_per_split = BTreeMap::new();
        let mut sizes = BTreeMap::new();
        for pair in &self.pairs {
            *pairs_per_split.entry(pair.split).or_default() += 1;
            *sizes.entry(pair.side_px).or_default() += 1;
        }
        let (a, b) = &self.side_names;
        let direction_text = match (direction, synth) {
            (_, Some(task)) => format!("{task}"),
            (Direction::AtoB, None) => format!("AtoB: input = {a} (A), target = {b} (B)"),
            (Direction::BtoA, None) => format!("BtoA: input = {b} (B), target = {a} (A)"),
        };
        Dataset {
            root: root.to_path_buf(),
            pairs: self.pairs,
            synth,
            direction,
            report: Report {
                layout,
                direction: direction_text,
                pairs_per_split,
                sizes,
                formats: self.formats,
                problems: self.problems,
            },
        }
    }
}

/// The sub-folders of `dir` by lower-case name, and its files, both sorted.
pub(super) fn list(dir: &Path) -> Result<(BTreeMap<String, PathBuf>, Vec<PathBuf>)> {
    let mut folders = BTreeMap::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|err| Error::io(dir, err))? {
        let entry = entry.map_err(|err| Error::io(dir, err))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            folders.insert(name.to_lowercase(), path);
        } else {
            files.push(path);
        }
    }
    files.sort();
    Ok((folders, files))
}

/// The images among `files`; other files become notes.
pub(super) fn images(files: Vec<PathBuf>, found: &mut Found) -> Vec<PathBuf> {
    let (images, others): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|path| has_image_extension(path));
    for other in others {
        found.problem(&other, Issue::NotImageFile);
    }
    images
}

/// Reads every header in parallel, keeping the path with the outcome.
pub(super) fn headers(paths: Vec<PathBuf>) -> Vec<(PathBuf, Result<ImageHeader>)> {
    paths
        .into_par_iter()
        .map(|path| {
            let header = read_header(&path);
            (path, header)
        })
        .collect()
}

pub(super) fn header_problem(err: Error) -> Issue {
    match err {
        Error::Image { reason, .. } if reason.starts_with("not an image") => {
            Issue::NotAnImage(reason)
        }
        Error::Image { reason, .. } => Issue::Unreadable(reason),
        other => Issue::Unreadable(other.to_string()),
    }
}

/// Skips a pair whose side is below the minimum; true if it is large enough.
pub(super) fn large_enough(
    path: &Path,
    side: (u32, u32),
    options: &DiscoverOptions,
    found: &mut Found,
) -> bool {
    if side.0.min(side.1) < options.min_side_px {
        found.problem(
            path,
            Issue::TooSmall {
                width: side.0,
                height: side.1,
                min_side_px: options.min_side_px,
            },
        );
        false
    } else {
        true
    }
}

/// The split folders directly in `root` (by any of their names), with their own listing.
pub(super) fn split_folders(folders: &BTreeMap<String, PathBuf>) -> Vec<(Split, PathBuf)> {
    Split::ALL
        .iter()
        .filter_map(|&split| {
            split
                .folder_names()
                .iter()
                .find_map(|name| folders.get(*name))
                .map(|path| (split, path.clone()))
        })
        .collect()
}
