//! A deterministic share of a corpus for one of N machines (`translate --shard K/N`): a file
//! belongs to shard `FNV-1a(file name) mod N`, so every machine, listing the corpus in any
//! order (or seeing more or fewer of its files), agrees on who translates what, with no
//! coordinator. Any scheduler that hands out indices (Slurm job arrays, Kubernetes indexed
//! Jobs, GNU parallel) can spread the work.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Shard `index` of `count` (0-based: `0/4` … `3/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// Shards in all.
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N` with `0 <= K < N`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || format!("`{text}`: expected K/N with 0 <= K < N, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let index: u64 = index.trim().parse().map_err(|_| usage())?;
        let count: u64 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// Whether `path` (by its file name) is this shard's.
    pub fn contains(&self, path: &Path) -> bool {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(name.as_bytes());
        hasher.finish() % self.count == self.index
    }

    /// This shard's part of `paths`, in their order.
    pub fn select(&self, paths: Vec<PathBuf>) -> Vec<PathBuf> {
        paths
            .into_iter()
            .filter(|path| self.contains(path))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<PathBuf> {
        (0..1000)
            .map(|i| PathBuf::from(format!("frames/frame_{i:05}.jpg")))
            .collect()
    }

    #[test]
    fn the_shards_cover_every_file_exactly_once_in_near_equal_parts() {
        let shards: Vec<Shard> = (0..4).map(|index| Shard { index, count: 4 }).collect();
        for path in corpus() {
            let owners = shards.iter().filter(|shard| shard.contains(&path)).count();
            assert_eq!(owners, 1, "{}", path.display());
        }
        for shard in &shards {
            let share = shard.select(corpus()).len();
            assert!(
                (200..=300).contains(&share),
                "shard {}: {share} of 1000",
                shard.index
            );
        }
    }

    #[test]
    fn a_file_stays_in_its_shard_whatever_the_listing_order_or_folder() {
        let shard = Shard { index: 1, count: 3 };
        let mut reversed = corpus();
        reversed.reverse();
        let mut forward = shard.select(corpus());
        let mut backward = shard.select(reversed);
        forward.sort();
        backward.sort();
        assert_eq!(forward, backward);
        let here = Path::new("/mnt/a/frame_00042.jpg");
        let there = Path::new("/data/b/frame_00042.jpg");
        assert_eq!(shard.contains(here), shard.contains(there));
    }

    #[test]
    fn shard_names_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!("2/5".parse(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1/0", "a/3", "3", "-1/3"] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains("expected K/N"), "{bad}: {err}");
        }
    }
}
