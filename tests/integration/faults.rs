//! Faults a run survives: data that changes under it, kills in the middle of a save, a disk
//! that fills up, a run folder that turns read-only. Each ends with a clear message and the
//! last good checkpoint intact, or is reported and skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use pix2pix_studio::config::run_folder;
use pix2pix_studio::training::checkpoint;
use pix2pix_studio::worker::Event;

use crate::checkpoints::small_sketches;
use crate::engine::{TINY_CLI, binary, next, request, run_ok, until_finished, worker};
use crate::util::{temp_dir, tiny_run};

/// Saving every step, the rest rarely.
const SAVE_EVERY_STEP: [&str; 6] = [
    "--checkpoint-every",
    "1",
    "--preview-every",
    "1000",
    "--validate-every",
    "1000",
];

/// `train` of the tiny network on `dataset` into `run_dir`, saving every step.
pub(crate) fn train_command(
    dataset: &Path,
    run_dir: &Path,
    resume: bool,
    max_steps: u64,
) -> std::process::Command {
    let mut command = binary();
    command
        .args(["--device", "cpu", "train", "--dataroot"])
        .arg(dataset)
        .arg("-o")
        .arg(run_dir)
        .args(TINY_CLI)
        .args(SAVE_EVERY_STEP)
        .args(["--max-steps", &max_steps.to_string()]);
    if resume {
        command.arg("--resume");
    }
    command
}

/// Steps of the checkpoint `latest.json` names, after checking the library loads it whole.
fn latest_loads(run_dir: &Path) -> u64 {
    let latest = run_folder::latest(run_dir)
        .unwrap()
        .unwrap_or_else(|| panic!("{}: no latest.json", run_dir.display()));
    let config = run_folder::read_config(run_dir).unwrap();
    let restored = checkpoint::load(&latest, &config, &Device::flex())
        .unwrap_or_else(|err| panic!("{}: {err}", latest.display()));
    restored.counters.steps
}

fn first_val_image(dataset: &Path) -> PathBuf {
    let mut images: Vec<PathBuf> = std::fs::read_dir(dataset.join("val"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    images.sort();
    images.remove(0)
}

fn translate_works(run_dir: &Path, image: &Path, output_dir: &Path) {
    run_ok(
        binary()
            .args(["--device", "cpu", "translate", "-m"])
            .arg(run_dir)
            .arg(image)
            .arg("-o")
            .arg(output_dir),
    );
}

/// Waits until a checkpoint is being written (a `.partial-*` folder exists), at most `limit`.
fn wait_for_a_save(run_dir: &Path, child: &mut Child, limit: Duration) -> bool {
    let checkpoints = run_dir.join("checkpoints");
    let started = Instant::now();
    while started.elapsed() < limit {
        let saving = std::fs::read_dir(&checkpoints).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|entry| entry.file_name().to_string_lossy().starts_with(".partial-"))
        });
        if saving {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

#[test]
fn kill_during_save_never_leaves_a_checkpoint_that_cannot_be_loaded() {
    let dataset = small_sketches("faults-kill-data", 6, 1);
    let run_dir = temp_dir("faults-kill").join("run");
    let output_dir = temp_dir("faults-kill-out");
    let image = first_val_image(&dataset);
    run_ok(&mut train_command(&dataset, &run_dir, false, 1));
    let mut steps = latest_loads(&run_dir);
    let (mut during_save, mut timed) = (0, 0);
    for kill in 0..24u64 {
        let mut child = train_command(&dataset, &run_dir, true, 1_000_000)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Half the kills land while a checkpoint folder is being written, half after a delay
        // that moves through start-up, steps and saves.
        if kill % 2 == 0 {
            assert!(
                wait_for_a_save(&run_dir, &mut child, Duration::from_secs(60)),
                "kill {kill}: the resumed run never saved"
            );
            during_save += 1;
        } else {
            std::thread::sleep(Duration::from_millis(150 + 37 * kill));
            timed += 1;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            panic!(
                "kill {kill}: the resumed run ended by itself ({status}): {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // The checkpoint `latest.json` names loads whole and never goes backwards; the model
        // translates.
        let now = latest_loads(&run_dir);
        assert!(
            now >= steps,
            "kill {kill}: latest went from step {steps} back to {now}"
        );
        steps = now;
        translate_works(&run_dir, &image, &output_dir);
    }
    assert!(steps > 1, "the runs trained between the kills");
    // A last resume runs to its end and leaves no partial folder behind.
    run_ok(&mut train_command(&dataset, &run_dir, true, steps + 2));
    assert_eq!(latest_loads(&run_dir), steps + 2);
    let leftovers: Vec<_> = std::fs::read_dir(run_dir.join("checkpoints"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    eprintln!("{during_save} kills during a save, {timed} at timed moments; reached step {steps}");
}

#[test]
fn data_changing_under_training_is_reported_and_skipped() {
    let dataset = small_sketches("faults-changing-data", 6, 1);
    let mut config = tiny_run(30);
    config.data.dataset_dir = dataset.clone();
    config.schedule.n_epochs = 100;
    let run_dir = temp_dir("faults-changing");
    let worker = worker();
    worker.send(request(config, &run_dir, false)).unwrap();
    loop {
        if let Event::Progress(_) = next(&worker) {
            break;
        }
    }
    let mut pairs: Vec<PathBuf> = std::fs::read_dir(dataset.join("train"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    pairs.sort();
    std::fs::remove_file(&pairs[0]).unwrap();
    std::fs::write(&pairs[1], b"no longer a picture").unwrap();
    let events = until_finished(&worker);
    let reported = |path: &Path| {
        events
            .iter()
            .any(|event| matches!(event, Event::DataProblem(problem) if problem.path == path))
    };
    assert!(reported(&pairs[0]), "the deleted pair is reported");
    assert!(reported(&pairs[1]), "the damaged pair is reported");
    assert!(
        matches!(
            events.last(),
            Some(Event::Finished {
                step: 30,
                stopped: false
            })
        ),
        "training goes on to its end: {:?}",
        events.last()
    );
}

#[test]
fn an_epoch_where_every_pair_fails_ends_the_run_with_the_reason() {
    let dataset = small_sketches("faults-all-fail-data", 3, 1);
    let mut config = tiny_run(1000);
    config.data.dataset_dir = dataset.clone();
    config.schedule.n_epochs = 100;
    let run_dir = temp_dir("faults-all-fail");
    let worker = worker();
    worker.send(request(config, &run_dir, false)).unwrap();
    loop {
        if let Event::Progress(_) = next(&worker) {
            break;
        }
    }
    for entry in std::fs::read_dir(dataset.join("train")).unwrap() {
        std::fs::write(entry.unwrap().path(), b"damaged").unwrap();
    }
    let events = until_finished(&worker);
    match events.last() {
        Some(Event::Failed { message }) => {
            assert!(
                message.contains("none of the 3 pair(s)")
                    && message.contains("last good checkpoint"),
                "{message}"
            );
        }
        other => panic!("expected the run to fail with the reason, got {other:?}"),
    }
    // The run did not race through its 100 epochs saving empty ones.
    assert!(latest_loads(&run_dir) <= 6);
}

/// Runs `script` with `sh` in a private mount namespace (tmpfs and read-only bind mounts
/// without touching the machine; they also bind root, who ignores file permissions).
fn in_mount_namespace(script: &str) -> std::process::Output {
    let output = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .output()
        .expect("these fault tests need util-linux's `unshare`");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("unshare failed"),
        "these fault tests need mount namespaces (unshare -m): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| {
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                folder_bytes(&entry.path())
            } else {
                metadata.len()
            }
        })
        .sum()
}

/// Trains `run_dir` a step, then resumes it where `mount` (a shell line run in a private mount
/// namespace before the resume) makes it fail; returns the resume's exit code and error text,
/// and checks the last good checkpoint and translation afterwards, in the namespace.
fn resume_under(test: &str, mount: impl Fn(&Path, u64) -> String) -> (i32, String) {
    let dataset = small_sketches(&format!("{test}-data"), 4, 1);
    let work = temp_dir(test);
    let run_dir = work.join("run");
    run_ok(&mut train_command(&dataset, &run_dir, false, 1));
    let checkpoint_bytes = folder_bytes(&run_folder::latest(&run_dir).unwrap().unwrap());
    let report = work.join("report");
    std::fs::create_dir_all(&report).unwrap();
    let bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_pix2pix-studio")));
    let train = format!(
        "{bin} --device cpu train --dataroot {} -o {} {} --max-steps 50 --resume",
        shell_quote(&dataset),
        shell_quote(&run_dir),
        [TINY_CLI.as_slice(), SAVE_EVERY_STEP.as_slice()]
            .concat()
            .join(" ")
    );
    let script = format!(
        "set -e\n{mount}\nset +e\n{train} >/dev/null 2>{report}/train.err; echo $? >{report}/train.rc\n\
         ls -a {run}/checkpoints >{report}/checkpoints.txt\n\
         {bin} --device cpu inspect {run} >{report}/inspect.txt 2>&1; echo $? >{report}/inspect.rc\n\
         {bin} --device cpu translate -m {run} {image} -o {out} >/dev/null 2>{report}/translate.err; \
         echo $? >{report}/translate.rc\n",
        mount = mount(&run_dir, checkpoint_bytes),
        report = shell_quote(&report),
        run = shell_quote(&run_dir),
        image = shell_quote(&first_val_image(&dataset)),
        out = shell_quote(&work.join("out")),
    );
    let output = in_mount_namespace(&script);
    let read = |name: &str| std::fs::read_to_string(report.join(name)).unwrap_or_default();
    assert!(
        output.status.success() && !read("train.rc").is_empty(),
        "the namespace script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(read("inspect.rc").trim(), "0", "{}", read("inspect.txt"));
    assert_eq!(
        read("translate.rc").trim(),
        "0",
        "{}",
        read("translate.err")
    );
    let listing = read("checkpoints.txt");
    let leftovers: Vec<&str> = listing
        .lines()
        .filter(|name| name.starts_with(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "partial folders left: {leftovers:?}");
    let code = read("train.rc").trim().parse().unwrap();
    (code, read("train.err"))
}

#[test]
fn a_full_disk_ends_the_run_and_keeps_the_last_checkpoint() {
    // The run folder moves onto a small filesystem with room for about two more checkpoints.
    let (code, error) = resume_under("faults-disk-full", |run_dir, checkpoint_bytes| {
        let run = shell_quote(run_dir);
        let size_kib = (folder_bytes(run_dir) + checkpoint_bytes * 5 / 2) / 1024 + 8;
        format!(
            "cp -a {run} {run}.orig\nmount -t tmpfs -o size={size_kib}k tmpfs {run}\n\
             cp -a {run}.orig/. {run}/"
        )
    });
    assert_eq!(code, 1, "{error}");
    assert!(
        error.contains("No space left on device") && error.contains("faults-disk-full"),
        "the reason and the file: {error}"
    );
}

#[test]
fn a_read_only_run_folder_ends_the_run_and_keeps_the_last_checkpoint() {
    let (code, error) = resume_under("faults-read-only", |run_dir, _| {
        let run = shell_quote(run_dir);
        format!("mount --bind {run} {run}\nmount -o remount,bind,ro {run}")
    });
    assert_eq!(code, 1, "{error}");
    assert!(
        error.contains("Read-only file system") && error.contains("faults-read-only"),
        "the reason and the file: {error}"
    );
}
