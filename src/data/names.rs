//! Matching the files of two folders into pairs by name: equal stems, or stems equal but for a
//! constant tag per side (`_gtFine_labelIds`, `_leftImg8bit`); never by position.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

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
    let mut matched_b = HashSet::new();
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
