//! The layouts discovery recognises, each collecting its pairs and problems: separate input
//! and target folders (matched by name), input|target side by side in one image (told from
//! single pictures by aspect and by the seam between the halves), and plain photos.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::decode::{ImageHeader, read_header, read_image};
use super::halves::{HalvesEvidence, SEAM_MIN_RATIO, inspect_halves};
use super::names::match_by_name;
use super::pairs::{DiscoverOptions, PairEntry, PairFiles, Split};
use super::report::Issue;
use super::scan::{Found, header_problem, headers, images, large_enough, list, split_folders};
use crate::error::Result;

/// A side-by-side image narrower than this fraction of the dataset's typical width-to-height
/// ratio is a single picture, not a pair.
const SINGLE_IMAGE_RATIO: f64 = 0.6;
/// A folder whose typical image is narrower than this (width / height) holds plain pictures.
const PAIR_MIN_RATIO: f64 = 1.5;

pub(super) fn collect_side_by_side(
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
    let typical_ratio = crate::util::stats::median(&mut ratios);
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

pub(super) fn collect_photos(
    root: &Path,
    options: &DiscoverOptions,
    found: &mut Found,
) -> Result<()> {
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
pub(super) fn collect_separate(
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
