//! `translate --shard K/N` and `--skip-existing`: N shards cover a corpus exactly once between
//! them, and a restarted job redoes nothing it finished; a corrupt image fails alone. One output
//! per input, always: inputs of one stem keep their extension, equal names in two folders and an
//! output folder holding inputs are refused, and `--skip-existing` skips only an output of the
//! very same input.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::engine::{binary, run_ok};
use crate::util::{sketches, temp_dir};

/// The first `count` validation sketches copied into a fresh folder.
fn corpus(test: &str, count: usize) -> PathBuf {
    let dir = temp_dir(test).join("corpus");
    std::fs::create_dir_all(&dir).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(sketches().join("val"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    names.sort();
    for name in names.into_iter().take(count) {
        std::fs::copy(sketches().join("val").join(&name), dir.join(&name)).unwrap();
    }
    dir
}

fn translate(inputs: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    run_ok(
        binary()
            .args(["--device", "cpu", "translate"])
            .arg(inputs)
            .arg("-o")
            .arg(output)
            .args(extra),
    )
}

fn outputs(dir: &Path) -> Vec<(String, SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let modified = entry.metadata().unwrap().modified().unwrap();
            (entry.file_name().to_string_lossy().into_owned(), modified)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn three_shards_translate_every_input_exactly_once() {
    let inputs = corpus("shard-cover", 12);
    let output = temp_dir("shard-cover-out");
    let mut translated = 0;
    for index in 0..3 {
        let shard = format!("{index}/3");
        let done = translate(&inputs, &output, &["--shard", &shard]);
        let said = String::from_utf8_lossy(&done.stdout);
        let count: usize = said
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        translated += count;
    }
    assert_eq!(translated, 12, "each input once between the shards");
    assert_eq!(outputs(&output).len(), 12);
}

#[test]
fn a_restarted_job_redoes_nothing_it_finished() {
    let inputs = corpus("shard-restart", 8);
    let output = temp_dir("shard-restart-out");
    translate(&inputs, &output, &[]);
    // As if killed after half: the other outputs were never written.
    let mut before = outputs(&output);
    for (name, _) in before.drain(4..) {
        std::fs::remove_file(output.join(name)).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    let done = translate(&inputs, &output, &["--skip-existing"]);
    let said = String::from_utf8_lossy(&done.stderr);
    assert!(said.contains("4 already translated, left out"), "{said}");
    let after = outputs(&output);
    assert_eq!(after.len(), 8);
    for (name, modified) in &before {
        assert!(
            after.contains(&(name.clone(), *modified)),
            "{name} was redone"
        );
    }
    // Everything done: nothing to do, and still a success.
    let again = translate(&inputs, &output, &["--skip-existing"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to translate"));
}

#[test]
fn a_corrupt_image_in_a_shard_fails_alone_and_bad_shards_are_refused() {
    let inputs = corpus("shard-corrupt", 4);
    std::fs::write(inputs.join("broken.png"), b"not a png").unwrap();
    let output = temp_dir("shard-corrupt-out");
    let failed = binary()
        .args(["--device", "cpu", "translate"])
        .arg(&inputs)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(said.contains("broken.png"), "{said}");
    assert_eq!(outputs(&output).len(), 4, "the good images are kept");
    let refused = binary()
        .args(["translate", "--shard", "3/3"])
        .arg(&inputs)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("expected K/N"));
}

fn names(dir: &Path) -> Vec<String> {
    outputs(dir).into_iter().map(|(name, _)| name).collect()
}

fn refused(inputs: &[&Path], output: &Path) -> String {
    let mut command = binary();
    command.args(["--device", "cpu", "translate"]);
    for input in inputs {
        command.arg(input);
    }
    let done = command.arg("-o").arg(output).output().unwrap();
    assert_eq!(done.status.code(), Some(1));
    String::from_utf8_lossy(&done.stderr).into_owned()
}

/// A folder holding a.png and a.jpg was translated "2 of 2" into one a.png: the second result
/// replaced the first without a word.
#[test]
fn two_inputs_of_one_stem_get_two_outputs() {
    let inputs = corpus("one-stem", 2);
    let files = names(&inputs);
    std::fs::rename(inputs.join(&files[0]), inputs.join("a.png")).unwrap();
    let jpeg = image::open(inputs.join(&files[1])).unwrap();
    jpeg.save(inputs.join("a.jpg")).unwrap();
    std::fs::remove_file(inputs.join(&files[1])).unwrap();
    let output = temp_dir("one-stem-out");
    translate(&inputs, &output, &[]);
    assert_eq!(names(&output), ["a.jpg.png", "a.png.png"]);
}

#[test]
fn equal_names_in_two_input_folders_are_refused_naming_both() {
    let first = corpus("two-folders-a", 1);
    let second = temp_dir("two-folders-b");
    let name = names(&first).remove(0);
    std::fs::copy(first.join(&name), second.join(&name)).unwrap();
    let output = temp_dir("two-folders-out").join("out");
    let said = refused(&[&first, &second], &output);
    assert!(
        said.contains(&first.join(&name).display().to_string())
            && said.contains(&second.join(&name).display().to_string()),
        "{said}"
    );
    assert!(!output.exists(), "nothing written");
}

/// `-o` pointed at the input folder overwrote its PNG inputs with their translations.
#[test]
fn an_output_folder_holding_the_inputs_is_refused() {
    let inputs = corpus("into-inputs", 2);
    let before: Vec<Vec<u8>> = names(&inputs)
        .iter()
        .map(|name| std::fs::read(inputs.join(name)).unwrap())
        .collect();
    let said = refused(&[&inputs], &inputs);
    assert!(said.contains("holds the input"), "{said}");
    let after: Vec<Vec<u8>> = names(&inputs)
        .iter()
        .map(|name| std::fs::read(inputs.join(name)).unwrap())
        .collect();
    assert_eq!(after, before, "the inputs are untouched");
}

/// `--skip-existing` skipped any input whose output name existed, also when that output came
/// from another input of the same name.
#[test]
fn skip_existing_translates_again_an_output_of_another_input() {
    let inputs = corpus("skip-foreign", 2);
    let output = temp_dir("skip-foreign-out");
    translate(&inputs, &output, &[]);
    let files = names(&inputs);
    // The first input replaced by another picture under the same name.
    let other = image::open(sketches().join("val").join(&files[1]))
        .unwrap()
        .fliph();
    other.save(inputs.join(&files[0])).unwrap();
    let done = translate(&inputs, &output, &["--skip-existing"]);
    let said = String::from_utf8_lossy(&done.stderr);
    assert!(said.contains("1 already translated"), "{said}");
    assert!(
        said.contains("1 output(s) came from other inputs"),
        "{said}"
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("translated 1 of 1"));
    let again = translate(&inputs, &output, &["--skip-existing"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("2 already translated"));
}

/// Shards name alike: inputs of one stem may land in different shards, and each names its
/// output from the whole job, not from its own share.
#[test]
fn shards_name_outputs_from_the_whole_job() {
    let inputs = corpus("shard-names", 3);
    for (index, name) in names(&inputs).into_iter().enumerate() {
        let stem = ["a", "b", "c"][index];
        let picture = image::open(inputs.join(&name)).unwrap();
        picture.save(inputs.join(format!("{stem}.jpg"))).unwrap();
        std::fs::rename(inputs.join(&name), inputs.join(format!("{stem}.png"))).unwrap();
    }
    let output = temp_dir("shard-names-out");
    for index in 0..3 {
        translate(&inputs, &output, &["--shard", &format!("{index}/3")]);
    }
    assert_eq!(
        names(&output),
        [
            "a.jpg.png",
            "a.png.png",
            "b.jpg.png",
            "b.png.png",
            "c.jpg.png",
            "c.png.png"
        ]
    );
}
