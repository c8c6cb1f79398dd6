//! Where a translation job writes each input's result, one file per input, always. The rule:
//! `<stem>.png` in the output folder; inputs whose stems are equal (`a.png` and `a.jpg`, letter
//! case ignored, as some filesystems do) keep their whole file name instead (`a.png.png`,
//! `a.jpg.png`); inputs that would still share a name (the same file name in two folders) are
//! refused, as is an output folder that holds inputs. The names are chosen over the whole list
//! before `--shard` splits it, so every machine of a sharded job names alike.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The output file of each input (in the same order), by the rule above.
pub fn output_files(output_dir: &Path, inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    refuse_input_folder(output_dir, inputs)?;
    let stem = |path: &Path| name_part(path.file_stem());
    let mut stems: HashMap<String, usize> = HashMap::new();
    for input in inputs {
        *stems.entry(stem(input).to_lowercase()).or_default() += 1;
    }
    let names: Vec<String> = inputs
        .iter()
        .map(|input| {
            let stem = stem(input);
            if stems[&stem.to_lowercase()] > 1 {
                format!("{}.png", name_part(input.file_name()))
            } else {
                format!("{stem}.png")
            }
        })
        .collect();
    let mut taken: HashMap<String, &Path> = HashMap::new();
    for (input, name) in inputs.iter().zip(&names) {
        if let Some(first) = taken.insert(name.to_lowercase(), input) {
            return Err(Error::InvalidConfig(format!(
                "{} and {} would both be written as {}: rename one, or translate them into \
                 different folders",
                first.display(),
                input.display(),
                output_dir.join(name).display()
            )));
        }
    }
    Ok(names
        .into_iter()
        .map(|name| output_dir.join(name))
        .collect())
}

fn name_part(part: Option<&std::ffi::OsStr>) -> String {
    part.map(|part| part.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An output folder that holds one of the inputs would mix results with inputs (and a PNG
/// input's result would replace it).
fn refuse_input_folder(output_dir: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(output) = output_dir.canonicalize() else {
        return Ok(()); // not there yet: it holds nothing
    };
    for input in inputs {
        let folder = match input.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if folder.canonicalize().is_ok_and(|folder| folder == output) {
            return Err(Error::InvalidConfig(format!(
                "the output folder {} holds the input {}: choose another output folder",
                output_dir.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(inputs: &[&str]) -> Result<Vec<String>> {
        let inputs: Vec<PathBuf> = inputs.iter().map(PathBuf::from).collect();
        let out = Path::new("/nonexistent-output");
        Ok(output_files(out, &inputs)?
            .into_iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect())
    }

    #[test]
    fn unique_stems_keep_their_stem() {
        assert_eq!(
            names(&["in/a.jpg", "in/b.png"]).unwrap(),
            ["a.png", "b.png"]
        );
    }

    #[test]
    fn equal_stems_keep_their_whole_name() {
        assert_eq!(
            names(&["in/a.png", "in/a.jpg", "in/c.jpg"]).unwrap(),
            ["a.png.png", "a.jpg.png", "c.png"]
        );
        // Letter case does not make two names on a case-insensitive disk.
        assert_eq!(
            names(&["in/A.png", "in/a.jpg"]).unwrap(),
            ["A.png.png", "a.jpg.png"]
        );
    }

    #[test]
    fn the_same_name_in_two_folders_is_refused_naming_both() {
        let err = names(&["one/a.png", "two/a.png"]).unwrap_err().to_string();
        assert!(
            err.contains("one/a.png") && err.contains("two/a.png"),
            "{err}"
        );
    }
}
