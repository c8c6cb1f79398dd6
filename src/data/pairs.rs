//! Finding the pairs in a folder the user picks: the layouts people already have, matched by
//! file name (never by sort order), every file checked from its header.
//!
//! Layouts, tried in this order:
//! - separate input and target folders: `A/` + `B/`, `input/` + `target/` (flat, or with
//!   `train/`, `val/`, `test/` inside or around them), `train_A/` + `train_B/` (also
//!   `trainA/`), and pix2pixHD's `train_label/` + `train_img/`;
//! - input|target side by side in one image (the reference's aligned format), in `train/`,
//!   `val/`, `test/` or flat;
//! - plain photos, which become pairs through a synthesis task (see [`super::synth`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::decode::{ImageHeader, describe_color, has_image_extension, read_header, read_image};
use super::halves::{HalvesEvidence, SEAM_MIN_RATIO, inspect_halves};
use super::report::{Issue, Problem, Report};
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
    fn folder_names(self) -> &'static [&'static str] {
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

/// A side-by-side image narrower than this fraction of the dataset's typical width-to-height
/// ratio is a single picture, not a pair.
const SINGLE_IMAGE_RATIO: f64 = 0.6;
/// A folder whose typical image is narrower than this (width / height) holds plain pictures.
const PAIR_MIN_RATIO: f64 = 1.5;

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
struct Found {
    pairs: Vec<PairEntry>,
    problems: Vec<Problem>,
    formats: BTreeMap<String, usize>,
    plain_photos: bool,
    /// Side by side although the images are narrower than the aspect rule wants: the seam
    /// between the halves decided.
    side_by_side_by_seam: bool,
    /// What the two sides are called in this layout, for the report.
    side_names: (String, String),
}

impl Found {
    fn problem(&mut self, path: &Path, issue: Issue) {
        self.problems.push(Problem {
            path: path.to_path_buf(),
            issue,
        });
    }

    fn count_format(&mut self, header: &ImageHeader) {
        *self
            .formats
            .entry(describe_color(header.color).to_string())
            .or_default() += 1;
    }

    fn into_dataset(
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
fn list(dir: &Path) -> Result<(BTreeMap<String, PathBuf>, Vec<PathBuf>)> {
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
fn images(files: Vec<PathBuf>, found: &mut Found) -> Vec<PathBuf> {
    let (images, others): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|path| has_image_extension(path));
    for other in others {
        found.problem(&other, Issue::NotImageFile);
    }
    images
}

/// Reads every header in parallel, keeping the path with the outcome.
fn headers(paths: Vec<PathBuf>) -> Vec<(PathBuf, Result<ImageHeader>)> {
    paths
        .into_par_iter()
        .map(|path| {
            let header = read_header(&path);
            (path, header)
        })
        .collect()
}

fn header_problem(err: Error) -> Issue {
    match err {
        Error::Image { reason, .. } if reason.starts_with("not an image") => {
            Issue::NotAnImage(reason)
        }
        Error::Image { reason, .. } => Issue::Unreadable(reason),
        other => Issue::Unreadable(other.to_string()),
    }
}

/// Skips a pair whose side is below the minimum; true if it is large enough.
fn large_enough(
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
fn split_folders(folders: &BTreeMap<String, PathBuf>) -> Vec<(Split, PathBuf)> {
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

fn collect_side_by_side(
    root: &Path,
    options: &DiscoverOptions,
    forced: bool,
    found: &mut Found,
) -> Result<()> {
    found.side_names = ("left half".into(), "right half".into());
    let (folders, files) = list(root)?;
    let mut sources = split_folders(&folders);
    let mut files_by_split = Vec::new();
    if sources.is_empty() {
        files_by_split.push((Split::Train, images(files, found)));
    } else {
        for (split, dir) in sources.drain(..) {
            let (_, files) = list(&dir)?;
            files_by_split.push((split, images(files, found)));
        }
    }
    let mut readable = Vec::new();
    for (split, paths) in files_by_split {
        for (path, header) in headers(paths) {
            match header {
                Ok(header) => {
                    found.count_format(&header);
                    readable.push((split, path, header));
                }
                Err(err) => found.problem(&path, header_problem(err)),
            }
        }
    }
    let mut ratios: Vec<f64> = readable
        .iter()
        .map(|(_, _, h)| f64::from(h.width) / f64::from(h.height.max(1)))
        .collect();
    let typical_ratio = crate::stats::median(&mut ratios);
    // Halves narrower than tall make a pair look like a photo (a face-parsing set is about
    // 1.45:1): below the ratio that decides alone, a clear seam between the halves in most of
    // a sample still says "pairs". Portrait images (below 1:1) are never looked at.
    let sample = if forced || typical_ratio >= 1.0 {
        sample_halves(&readable)
    } else {
        Vec::new()
    };
    let seams = sample
        .iter()
        .filter(|(_, _, evidence)| evidence.seam_ratio >= SEAM_MIN_RATIO)
        .count();
    let seam_decides = !sample.is_empty() && seams * 4 >= sample.len() * 3;
    if !forced && !readable.is_empty() && typical_ratio < PAIR_MIN_RATIO && !seam_decides {
        found.plain_photos = true;
        found.problem(
            root,
            Issue::IgnoredFolder(format!(
                "{} image(s) that look like single pictures (typically {:.2}:1), not input|target \
                 side by side: pick a synthesis task to make pairs, or say they are side by side",
                readable.len(),
                typical_ratio
            )),
        );
        return Ok(());
    }
    if !forced && typical_ratio < PAIR_MIN_RATIO {
        found.side_by_side_by_seam = true;
    }
    note_identical_halves(&sample, found);
    for (split, path, header) in readable {
        let ratio = f64::from(header.width) / f64::from(header.height.max(1));
        if header.width < 2 || (!forced && ratio < SINGLE_IMAGE_RATIO * typical_ratio) {
            let issue = Issue::SingleImage {
                width: header.width,
                height: header.height,
            };
            found.problem(&path, issue);
            continue;
        }
        if header.width % 2 == 1 {
            found.problem(
                &path,
                Issue::OddWidth {
                    width: header.width,
                },
            );
        }
        let side = (header.width / 2, header.height);
        if large_enough(&path, side, options, found) {
            found.pairs.push(PairEntry {
                split,
                files: PairFiles::SideBySide(path),
                side_px: side,
            });
        }
    }
    Ok(())
}

/// Pairs of each split looked at for the seam and identical halves.
const HALVES_SAMPLE_PER_SPLIT: usize = 6;

/// Decodes up to [`HALVES_SAMPLE_PER_SPLIT`] images of each split, spread over it, and measures
/// their halves; images that fail to decode are left out (the loader reports them).
fn sample_halves(
    readable: &[(Split, PathBuf, ImageHeader)],
) -> Vec<(Split, PathBuf, HalvesEvidence)> {
    let mut chosen = Vec::new();
    for split in Split::ALL {
        let in_split: Vec<&PathBuf> = readable
            .iter()
            .filter(|(s, _, _)| *s == split)
            .map(|(_, path, _)| path)
            .collect();
        let count = in_split.len().min(HALVES_SAMPLE_PER_SPLIT);
        chosen.extend((0..count).map(|i| (split, in_split[i * in_split.len() / count].clone())));
    }
    chosen
        .into_par_iter()
        .filter_map(|(split, path)| {
            let image = read_image(&path).ok()?;
            Some((split, path, inspect_halves(&image)))
        })
        .collect()
}

/// A split whose every sampled pair has the same picture on both sides gets a note on its
/// folder.
fn note_identical_halves(sample: &[(Split, PathBuf, HalvesEvidence)], found: &mut Found) {
    for split in Split::ALL {
        let in_split: Vec<&(Split, PathBuf, HalvesEvidence)> =
            sample.iter().filter(|(s, _, _)| *s == split).collect();
        let all_identical = in_split.iter().all(|(_, _, evidence)| evidence.identical);
        if let (true, Some((_, path, _))) = (all_identical, in_split.first())
            && let Some(folder) = path.parent()
        {
            let issue = Issue::IdenticalHalves {
                sampled: in_split.len(),
            };
            found.problem(folder, issue);
        }
    }
}

fn collect_photos(root: &Path, options: &DiscoverOptions, found: &mut Found) -> Result<()> {
    let (folders, files) = list(root)?;
    let splits = split_folders(&folders);
    let mut files_by_split = vec![(Split::Train, images(files, found))];
    for (split, dir) in splits {
        let (_, files) = list(&dir)?;
        files_by_split.push((split, images(files, found)));
    }
    for (split, paths) in files_by_split {
        for (path, header) in headers(paths) {
            match header {
                Ok(header) => {
                    found.count_format(&header);
                    let side = (header.width, header.height);
                    if large_enough(&path, side, options, found) {
                        found.pairs.push(PairEntry {
                            split,
                            files: PairFiles::Photo(path),
                            side_px: side,
                        });
                    }
                }
                Err(err) => found.problem(&path, header_problem(err)),
            }
        }
    }
    Ok(())
}

/// One split of a separate-folder layout: the A folder and, where it exists, the B folder.
struct SeparateSplit {
    split: Split,
    a: PathBuf,
    b: Option<PathBuf>,
    b_name: String,
}

/// Folder-name pairs `(A, B, layout name)` of the separate layouts, for a split name `s`.
fn split_patterns(s: &str) -> Vec<(String, String, &'static str)> {
    vec![
        (
            format!("{s}_label"),
            format!("{s}_img"),
            "pix2pixHD label/img folders",
        ),
        (format!("{s}_a"), format!("{s}_b"), "A/B folders"),
        (format!("{s}a"), format!("{s}b"), "A/B folders"),
        (format!("{s}/a"), format!("{s}/b"), "A/B folders"),
        (
            format!("{s}/input"),
            format!("{s}/target"),
            "input/target folders",
        ),
        (format!("a/{s}"), format!("b/{s}"), "A/B folders"),
        (
            format!("input/{s}"),
            format!("target/{s}"),
            "input/target folders",
        ),
    ]
}

/// Looks a relative, lower-case path like `train/a` up case-insensitively.
fn lookup(root_folders: &BTreeMap<String, PathBuf>, relative: &str) -> Option<PathBuf> {
    let mut parts = relative.split('/');
    let mut path = root_folders.get(parts.next()?)?.clone();
    for part in parts {
        let (folders, _) = list(&path).ok()?;
        path = folders.get(part)?.clone();
    }
    Some(path)
}

/// Detects a separate-folder layout; returns its name, or `None` if there is none.
fn collect_separate(
    root: &Path,
    options: &DiscoverOptions,
    found: &mut Found,
) -> Result<Option<String>> {
    let (folders, _) = list(root)?;
    let mut splits: Vec<SeparateSplit> = Vec::new();
    let mut layout_name = None;
    for split in Split::ALL {
        'names: for name in split.folder_names() {
            for (a, b, name_of_layout) in split_patterns(name) {
                if let Some(a_dir) = lookup(&folders, &a) {
                    splits.push(SeparateSplit {
                        split,
                        a: a_dir,
                        b: lookup(&folders, &b),
                        b_name: format!("{b}/"),
                    });
                    layout_name.get_or_insert(name_of_layout);
                    break 'names;
                }
            }
        }
    }
    if splits.is_empty() {
        for (a, b, name_of_layout) in [
            ("a", "b", "A/B folders"),
            ("input", "target", "input/target folders"),
        ] {
            if let (Some(a_dir), Some(b_dir)) = (folders.get(a), folders.get(b)) {
                splits.push(SeparateSplit {
                    split: Split::Train,
                    a: a_dir.clone(),
                    b: Some(b_dir.clone()),
                    b_name: format!("{b}/"),
                });
                layout_name = Some(name_of_layout);
                break;
            }
        }
    }
    let Some(layout_name) = layout_name else {
        return Ok(None);
    };
    if let Some(first) = splits.first() {
        let name = |path: &Path| {
            let relative = path.strip_prefix(root).unwrap_or(path);
            format!("{}/", relative.display())
        };
        let b_name = first.b.as_deref().map_or(first.b_name.clone(), name);
        found.side_names = (name(&first.a), b_name);
    }
    for (name, path) in &folders {
        if name.ends_with("_inst") || name.ends_with("_feat") {
            let reason = "pix2pixHD instance / feature maps are not used by pix2pix";
            found.problem(path, Issue::IgnoredFolder(reason.into()));
        }
    }
    for separate in splits {
        let (_, a_files) = list(&separate.a)?;
        let a_images = images(a_files, found);
        let Some(b_dir) = &separate.b else {
            let issue = Issue::InputOnlyFolder {
                images: a_images.len(),
                missing: separate.b_name.clone(),
            };
            found.problem(&separate.a, issue);
            continue;
        };
        let (_, b_files) = list(b_dir)?;
        let b_images = images(b_files, found);
        let matching = match_by_name(&a_images, &b_images);
        for path in matching.only_a {
            found.problem(&path, Issue::NoTarget);
        }
        for path in matching.only_b {
            found.problem(&path, Issue::NoInput);
        }
        collect_separate_pairs(separate.split, matching.pairs, options, found);
    }
    Ok(Some(format!(
        "separate input and target folders ({layout_name})"
    )))
}

fn collect_separate_pairs(
    split: Split,
    pairs: Vec<(PathBuf, PathBuf)>,
    options: &DiscoverOptions,
    found: &mut Found,
) {
    let checked: Vec<(PathBuf, PathBuf, Result<ImageHeader>, Result<ImageHeader>)> = pairs
        .into_par_iter()
        .map(|(a, b)| {
            let (ha, hb) = (read_header(&a), read_header(&b));
            (a, b, ha, hb)
        })
        .collect();
    for (a, b, ha, hb) in checked {
        let (ha, hb) = match (ha, hb) {
            (Ok(ha), Ok(hb)) => (ha, hb),
            (Err(err), _) => {
                found.problem(&a, header_problem(err));
                continue;
            }
            (_, Err(err)) => {
                found.problem(&b, header_problem(err));
                continue;
            }
        };
        found.count_format(&ha);
        found.count_format(&hb);
        let (size_a, size_b) = ((ha.width, ha.height), (hb.width, hb.height));
        if size_a != size_b {
            let issue = Issue::SizeMismatch {
                input: size_a,
                target: size_b,
            };
            found.problem(&a, issue);
            continue;
        }
        if large_enough(&a, size_a, options, found) {
            found.pairs.push(PairEntry {
                split,
                files: PairFiles::Separate { a, b },
                side_px: size_a,
            });
        }
    }
}

/// Pairs of files matched by name, and the files left without a partner.
#[derive(Debug, Default, PartialEq)]
pub struct NameMatch {
    /// Matched (A, B) files.
    pub pairs: Vec<(PathBuf, PathBuf)>,
    /// A files without a B.
    pub only_a: Vec<PathBuf>,
    /// B files without an A.
    pub only_b: Vec<PathBuf>,
}

/// Matches two file lists by stem; where the two sides name files with a constant suffix each
/// (`x_gtFine_labelIds.png` and `x_leftImg8bit.png`), by the stem without that suffix. Never
/// by position.
pub fn match_by_name(a: &[PathBuf], b: &[PathBuf]) -> NameMatch {
    let exact = match_keys(a, b, |_| 0);
    let a_suffix = separator_suffix_len(a);
    let b_suffix = separator_suffix_len(b);
    let by_suffix = if a_suffix > 0 || b_suffix > 0 {
        match_keys(a, b, |side| if side == 0 { a_suffix } else { b_suffix })
    } else {
        NameMatch::default()
    };
    if by_suffix.pairs.len() > exact.pairs.len() {
        by_suffix
    } else {
        exact
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Matches by stem minus the last `strip(side)` characters; a key that is not unique on its side
/// matches nothing.
fn match_keys(a: &[PathBuf], b: &[PathBuf], strip: impl Fn(usize) -> usize) -> NameMatch {
    let key = |path: &Path, side: usize| {
        let stem = stem(path);
        let cut = stem.len().saturating_sub(strip(side));
        stem.get(..cut).unwrap_or(&stem).to_string()
    };
    let mut b_by_key: HashMap<String, Vec<&PathBuf>> = HashMap::new();
    for path in b {
        b_by_key.entry(key(path, 1)).or_default().push(path);
    }
    let mut a_counts: HashMap<String, usize> = HashMap::new();
    for path in a {
        *a_counts.entry(key(path, 0)).or_default() += 1;
    }
    let mut result = NameMatch::default();
    let mut matched_b = std::collections::HashSet::new();
    for path in a {
        let k = key(path, 0);
        match b_by_key.get(&k) {
            Some(candidates) if candidates.len() == 1 && a_counts.get(&k) == Some(&1) => {
                result.pairs.push((path.clone(), candidates[0].clone()));
                matched_b.insert(candidates[0].clone());
            }
            _ => result.only_a.push(path.clone()),
        }
    }
    result.only_b = b
        .iter()
        .filter(|path| !matched_b.contains(*path))
        .cloned()
        .collect();
    result
}

/// Length of the suffix all stems share, starting at a separator (`_`, `-`, `.`, space), that
/// leaves every stem non-empty; 0 if there is none. A suffix is a side's constant tag
/// (`_gtFine_labelIds`) only when at least two files share it and it holds a letter: a lone
/// file's "suffix" is its own name (`IMG_0001` would become `IMG` and pair with `IMG_0002`), and
/// digits are numbering, not a tag.
fn separator_suffix_len(paths: &[PathBuf]) -> usize {
    if paths.len() < 2 {
        return 0;
    }
    let stems: Vec<Vec<char>> = paths.iter().map(|p| stem(p).chars().collect()).collect();
    let Some(first) = stems.first() else {
        return 0;
    };
    let mut common = first.len();
    for other in &stems[1..] {
        let shared = first
            .iter()
            .rev()
            .zip(other.iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        common = common.min(shared);
    }
    let shortest = stems.iter().map(Vec::len).min().unwrap_or(0);
    let suffix = &first[first.len() - common..];
    let is_separator = |c: &char| matches!(c, '_' | '-' | '.' | ' ');
    match suffix.iter().position(is_separator) {
        Some(start)
            if common - start < shortest && suffix[start..].iter().any(|c| c.is_alphabetic()) =>
        {
            // Byte length of the suffix, since keys are cut on the UTF-8 stem.
            suffix[start..].iter().map(|c| c.len_utf8()).sum()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn matches_exact_stems_and_reports_the_rest() {
        let m = match_by_name(
            &paths(&["a/1.png", "a/2.png", "a/3.png"]),
            &paths(&["b/2.jpg", "b/1.jpg", "b/9.jpg"]),
        );
        assert_eq!(
            m.pairs,
            vec![
                ("a/1.png".into(), "b/1.jpg".into()),
                ("a/2.png".into(), "b/2.jpg".into())
            ]
        );
        assert_eq!(m.only_a, paths(&["a/3.png"]));
        assert_eq!(m.only_b, paths(&["b/9.jpg"]));
    }

    #[test]
    fn matches_names_that_differ_by_a_constant_suffix() {
        let labels = paths(&[
            "l/aachen_000000_000019_gtFine_labelIds.png",
            "l/aachen_000001_000019_gtFine_labelIds.png",
        ]);
        let images = paths(&[
            "i/aachen_000001_000019_leftImg8bit.png",
            "i/aachen_000000_000019_leftImg8bit.png",
        ]);
        let m = match_by_name(&labels, &images);
        assert_eq!(m.pairs.len(), 2);
        assert_eq!(
            m.pairs[0].1,
            PathBuf::from("i/aachen_000000_000019_leftImg8bit.png")
        );
        // Different names are never paired by position.
        let m = match_by_name(&paths(&["x/cat.png"]), &paths(&["y/dog.png"]));
        assert!(m.pairs.is_empty());
    }

    #[test]
    fn name_matching_never_pairs_different_stems_of_single_files() {
        // One file a side: its "suffix" is its own name, which explains nothing.
        let m = match_by_name(&paths(&["A/IMG_0001.png"]), &paths(&["B/IMG_0002.png"]));
        assert!(m.pairs.is_empty(), "{:?}", m.pairs);
        let m = match_by_name(&paths(&["x/cat_label.png"]), &paths(&["y/cat_photo.png"]));
        assert!(m.pairs.is_empty(), "{:?}", m.pairs);
        // Numbering shared by two files is not a tag either.
        let m = match_by_name(
            &paths(&["A/IMG_0001.png", "A/DSC_0001.png"]),
            &paths(&["B/IMG_0002.png", "B/DSC_0002.png"]),
        );
        assert!(m.pairs.is_empty(), "{:?}", m.pairs);
        // Equal stems still pair, one file or many.
        let m = match_by_name(&paths(&["A/IMG_0001.png"]), &paths(&["B/IMG_0001.jpg"]));
        assert_eq!(m.pairs.len(), 1);
    }
}
