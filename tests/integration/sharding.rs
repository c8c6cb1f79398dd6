//! `translate --shard K/N` and `--skip-existing`: N shards cover a corpus exactly once between
//! them, and a restarted job redoes nothing it finished; a corrupt image fails alone.

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
