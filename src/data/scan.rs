//! The scanning helpers every layout's collector shares: what discovery has gathered so far
//! ([`Found`]), a folder's listing, image headers read in parallel, the size minimum and the
//! split folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::decode::{ImageHeader, describe_color, has_image_extension, read_header};
use super::pairs::{DiscoverOptions, PairEntry, Split};
use super::report::{Issue, Problem};
use crate::error::{Error, Result};

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
