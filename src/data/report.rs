//! The validation report of a dataset: what was found, per split and size, and every problem
//! with the file it concerns and whether that file was skipped.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::pairs::Split;

/// One thing wrong with a file or folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The file or folder.
    pub path: PathBuf,
    /// What is wrong.
    pub issue: Issue,
}

/// The kinds of problems, each with what the user needs to fix it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Issue {
    /// The file could not be read or decoded.
    Unreadable(String),
    /// The file has an image extension but is not an image the decoder knows.
    NotAnImage(String),
    /// An A|B image is narrower than it is tall: a single picture, not a pair side by side.
    SingleImage {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// An A|B image of odd width: the last column is dropped so the halves match (kept).
    OddWidth {
        /// Width in pixels.
        width: u32,
    },
    /// The input and target of a pair differ in size.
    SizeMismatch {
        /// Input size (width, height).
        input: (u32, u32),
        /// Target size (width, height).
        target: (u32, u32),
    },
    /// An input file with no target of the same name.
    NoTarget,
    /// A target file with no input of the same name.
    NoInput,
    /// A folder of inputs whose target folder does not exist (usable for translation only).
    InputOnlyFolder {
        /// Images in it.
        images: usize,
        /// The target folder that would complete it.
        missing: String,
    },
    /// Smaller than the training size allows.
    TooSmall {
        /// Width of one side.
        width: u32,
        /// Height.
        height: u32,
        /// The smallest side accepted.
        min_side_px: u32,
    },
    /// A folder that is not part of the pairs (e.g. pix2pixHD instance maps).
    IgnoredFolder(String),
    /// A non-image file among the images.
    NotImageFile,
    /// The sampled pairs of a folder have the same picture as input and target (a test split
    /// whose targets are copies?): they train nothing useful (kept).
    IdenticalHalves {
        /// Pairs looked at.
        sampled: usize,
    },
    /// A folder with no image in it or its split folders.
    NoImages,
}

impl Issue {
    /// Whether the file is left out of training because of it.
    pub fn skips(&self) -> bool {
        !matches!(
            self,
            Issue::OddWidth { .. }
                | Issue::IgnoredFolder(_)
                | Issue::NotImageFile
                | Issue::IdenticalHalves { .. }
                | Issue::NoImages
        )
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Issue::Unreadable(reason) => write!(f, "unreadable: {reason}"),
            Issue::NotAnImage(reason) => write!(f, "not an image: {reason}"),
            Issue::SingleImage { width, height } => write!(
                f,
                "a single {width}×{height} picture, not input|target side by side (an input-only image?)"
            ),
            Issue::OddWidth { width } => write!(
                f,
                "odd width {width}: split at {} px, the last column is dropped",
                width / 2
            ),
            Issue::SizeMismatch { input, target } => write!(
                f,
                "input is {}×{} but target is {}×{}",
                input.0, input.1, target.0, target.1
            ),
            Issue::NoTarget => write!(f, "input without a target of the same name"),
            Issue::NoInput => write!(f, "target without an input of the same name"),
            Issue::InputOnlyFolder { images, missing } => write!(
                f,
                "{images} input image(s) but no {missing} folder: usable for translation, not training"
            ),
            Issue::TooSmall {
                width,
                height,
                min_side_px,
            } => write!(
                f,
                "{width}×{height} is smaller than the {min_side_px} px the training size needs"
            ),
            Issue::IgnoredFolder(reason) => write!(f, "ignored: {reason}"),
            Issue::NotImageFile => write!(f, "not an image file (ignored)"),
            Issue::IdenticalHalves { sampled } => write!(
                f,
                "input and target are the same picture in all {sampled} pair(s) looked at (a \
                 test split without targets?): they teach the model nothing"
            ),
            Issue::NoImages => write!(
                f,
                "no images found (looked here and in train/, val/, test/; pick the folder that \
                 holds them)"
            ),
        }
    }
}

/// What discovery found in a dataset folder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The layout detected, in words.
    pub layout: String,
    /// Which side is the input, in words.
    pub direction: String,
    /// Usable pairs per split.
    pub pairs_per_split: BTreeMap<Split, usize>,
    /// How many usable pairs have each (width, height) of one side.
    pub sizes: BTreeMap<(u32, u32), usize>,
    /// How many images of each pixel format were seen.
    pub formats: BTreeMap<String, usize>,
    /// Every problem, in path order.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Usable pairs in all splits.
    pub fn total_pairs(&self) -> usize {
        self.pairs_per_split.values().sum()
    }

    /// Files left out.
    pub fn skipped(&self) -> usize {
        self.problems.iter().filter(|p| p.issue.skips()).count()
    }

    /// One line: pairs per split and problems.
    pub fn summary(&self) -> String {
        let splits: Vec<String> = self
            .pairs_per_split
            .iter()
            .map(|(split, count)| format!("{split} {count}"))
            .collect();
        let splits = if splits.is_empty() {
            "no pairs".to_string()
        } else {
            splits.join(", ")
        };
        format!(
            "{}: {splits}; {} problem(s), {} file(s) skipped",
            self.layout,
            self.problems.len(),
            self.skipped()
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "layout:    {}", self.layout)?;
        writeln!(f, "direction: {}", self.direction)?;
        let splits: Vec<String> = Split::ALL
            .iter()
            .map(|split| format!("{split} {}", self.pairs_per_split.get(split).unwrap_or(&0)))
            .collect();
        writeln!(f, "pairs:     {}", splits.join(", "))?;
        let mut sizes: Vec<(&(u32, u32), &usize)> = self.sizes.iter().collect();
        sizes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let shown: Vec<String> = sizes
            .iter()
            .take(6)
            .map(|((w, h), n)| format!("{w}×{h} ({n})"))
            .collect();
        let more = sizes.len().saturating_sub(6);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        writeln!(
            f,
            "sizes:     {}{more} (one side, width×height)",
            shown.join(", ")
        )?;
        let formats: Vec<String> = self
            .formats
            .iter()
            .map(|(name, n)| format!("{name} ({n})"))
            .collect();
        writeln!(f, "formats:   {}", formats.join(", "))?;
        if self.problems.is_empty() {
            return writeln!(f, "problems:  none");
        }
        writeln!(
            f,
            "problems:  {} ({} file(s) skipped)",
            self.problems.len(),
            self.skipped()
        )?;
        // Many files of one folder with the same problem become one line.
        let mut groups: Vec<(Option<&Path>, String, bool, Vec<&Problem>)> = Vec::new();
        for problem in &self.problems {
            let folder = problem.path.parent();
            let text = problem.issue.to_string();
            match groups
                .iter_mut()
                .find(|(f, t, _, _)| *f == folder && *t == text)
            {
                Some(group) => group.3.push(problem),
                None => groups.push((folder, text, problem.issue.skips(), vec![problem])),
            }
        }
        for (folder, text, skips, members) in groups {
            let mark = if skips { "skipped" } else { "note   " };
            match (folder, members.as_slice()) {
                (Some(folder), [first, _, _, _, ..]) => {
                    let name = first
                        .path
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default();
                    writeln!(
                        f,
                        "  {mark} {}/ ({} files, e.g. {name}): {text}",
                        folder.display(),
                        members.len()
                    )?;
                }
                _ => {
                    for problem in members {
                        writeln!(f, "  {mark} {}: {text}", problem.path.display())?;
                    }
                }
            }
        }
        Ok(())
    }
}
