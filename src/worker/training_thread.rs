//! The training thread: a loop that takes commands first (a translation waiting runs before
//! the next training step) and otherwise trains one step; each command is handled by its own
//! method, and a panic in one ends the run it concerns, not the thread.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::protocol::{Command, DeviceReport, Event, TrainingRequest, WorkerOptions};
use super::sink::EventSink;
use super::threads::{Yielding, device_hint, low_priority_pool, panic_message};
use super::trainer::{StepOutcome, Trainer};
use super::translate::{Job, LiveModel};
use crate::platform::device::{self, DeviceChoice};
use crate::platform::threads::on_global_pool;
use crate::training::checkpoint::CheckpointKind;

/// Whether the worker goes on after a command.
enum Flow {
    Continue,
    Exit,
}

/// The worker's state between commands.
struct Worker {
    sink: EventSink,
    trainer: Option<Trainer>,
    paused: bool,
    /// Raised by the handle when it sends Stop or Shutdown, so a run still starting (discovery,
    /// fixed samples, the baseline validation) gives up without waiting for the command.
    stop_requested: Arc<AtomicBool>,
    /// A start was given up for a Stop; that Stop command, when it arrives, is not an error.
    start_abandoned: bool,
    /// Where training work runs: a pool of lowest-priority threads when the app asked for one
    /// (translations keep the UI's priority), else the global pool.
    training_pool: Option<rayon::ThreadPool>,
    /// The run as the translation thread sees it: the worker publishes its generator there.
    live: Arc<LiveModel>,
    /// Translations that reached the worker (the handle sends them to the translation thread
    /// directly) go on there.
    translations: Sender<Job>,
}

/// The worker thread's loop: commands first (a translation waiting runs before the next
/// training step), then one training step when a run is going.
pub(crate) fn run(
    commands: &Receiver<Command>,
    sink: EventSink,
    stop_requested: Arc<AtomicBool>,
    live: Arc<LiveModel>,
    translations: Sender<Job>,
    options: WorkerOptions,
) {
    let mut worker = Worker::new(sink, stop_requested, live, translations, options);
    loop {
        let command = if worker.trainer.is_none() || worker.paused {
            match commands.recv() {
                Ok(command) => Some(command),
                Err(_) => return worker.end_run(false),
            }
        } else {
            commands.try_recv().ok()
        };
        if let Some(command) = command {
            if let Flow::Exit = worker.handle_guarded(command, Worker::handle) {
                return;
            }
            continue;
        }
        worker.train_one_step();
    }
}

impl Worker {
    fn new(
        sink: EventSink,
        stop_requested: Arc<AtomicBool>,
        live: Arc<LiveModel>,
        translations: Sender<Job>,
        options: WorkerOptions,
    ) -> Self {
        Self {
            sink,
            trainer: None,
            paused: false,
            stop_requested,
            start_abandoned: false,
            training_pool: options
                .background_priority
                .then(|| {
                    low_priority_pool(
                        "train",
                        Yielding::LowestPriority,
                        options.background_threads,
                    )
                })
                .flatten(),
            live,
            translations,
        }
    }

    /// Sets or ends the run; the translation thread follows.
    fn set_trainer(&mut self, trainer: Option<Trainer>) {
        match &trainer {
            Some(_) => {
                self.live.run_started();
            }
            None => self.live.run_ended(),
        }
        self.trainer = trainer;
        self.publish_live();
    }

    /// Publishes the run's generator for the translation thread, when someone asks for it.
    fn publish_live(&self) {
        if let Some(trainer) = &self.trainer
            && self.live.wanted()
        {
            self.live.publish(trainer.translator());
        }
    }

    /// Handles a command with `handle`; a panic inside (a bug, a failing device) ends the run
    /// it concerns with the message instead of the worker thread, and the worker goes on.
    fn handle_guarded(
        &mut self,
        command: Command,
        handle: impl FnOnce(&mut Self, Command) -> Flow,
    ) -> Flow {
        let name = command_name(&command);
        match catch_unwind(AssertUnwindSafe(|| handle(self, command))) {
            Ok(flow) => flow,
            Err(panic) => {
                let reason = panic_message(panic.as_ref());
                let run_dir = self.trainer.as_ref().map(|t| t.run_dir().to_path_buf());
                if name == "Shutdown" {
                    return Flow::Exit;
                }
                // The run's state may be half-updated: it ends; its checkpoints on disk stay.
                self.set_trainer(None);
                self.paused = false;
                self.sink.send(Event::Failed {
                    message: match run_dir {
                        Some(dir) => format!(
                            "{name} failed: internal error ({reason}); the run ended, its last \
                             good checkpoint is kept in {}",
                            dir.display()
                        ),
                        None => format!("{name} failed: internal error ({reason})"),
                    },
                });
                Flow::Continue
            }
        }
    }

    /// Runs training work on a thread of the training pool, or of the global pool without one
    /// (the CLI): see [`on_global_pool`].
    fn on_training_pool<T: Send>(
        pool: Option<&rayon::ThreadPool>,
        work: impl FnOnce() -> T + Send,
    ) -> T {
        match pool {
            Some(pool) => pool.install(work),
            None => on_global_pool(work),
        }
    }

    /// Handles one command.
    fn handle(&mut self, command: Command) -> Flow {
        let name = command_name(&command);
        match command {
            Command::StartTraining(request) => {
                if self.trainer.is_some() {
                    self.reject(name, "a run is already in progress");
                } else {
                    self.start(&request);
                }
            }
            Command::Pause => self.pause(name),
            Command::Resume => self.resume(name),
            Command::Stop => self.stop(name),
            Command::SaveCheckpoint => self.save_checkpoint(name),
            command
            @ (Command::Translate(_) | Command::ScoreCheckpoints(_) | Command::Judge(_)) => {
                self.forward_to_translation(command);
            }
            Command::MakeBest {
                run_dir,
                checkpoint,
                val_l1,
            } => self.make_best(name, run_dir, checkpoint, val_l1),
            Command::SelectDevice(choice) => self.select_device(choice),
            Command::Shutdown => {
                self.end_run(true);
                return Flow::Exit;
            }
        }
        Flow::Continue
    }

    /// Refuses the command `name`, saying why.
    fn reject(&self, name: &str, reason: &str) {
        self.sink.send(Event::Rejected {
            command: name.into(),
            reason: reason.into(),
        });
    }

    /// Pauses the run after reporting every step it took; its weights as they are now serve
    /// the sketch while no steps run.
    fn pause(&mut self, name: &str) {
        let Some(trainer) = self.trainer.as_mut().filter(|_| !self.paused) else {
            return self.reject(name, "no run is training");
        };
        let sink = &self.sink;
        let reported =
            Self::on_training_pool(self.training_pool.as_ref(), || trainer.report_losses(sink));
        if let Err(err) = reported {
            return self.fail_run(err);
        }
        self.live.publish(trainer.translator());
        self.paused = true;
        self.sink.send(Event::Paused {
            step: trainer.steps(),
        });
    }

    /// Continues a paused run.
    fn resume(&mut self, name: &str) {
        match (&self.trainer, self.paused) {
            (Some(trainer), true) => {
                self.paused = false;
                self.sink.send(Event::Resumed {
                    step: trainer.steps(),
                });
            }
            _ => self.reject(name, "no run is paused"),
        }
    }

    /// Saves and ends the run; the Stop that ended a start already given up is no error.
    fn stop(&mut self, name: &str) {
        self.stop_requested.store(false, Ordering::SeqCst);
        if self.trainer.is_some() {
            self.end_run(true);
        } else if !std::mem::take(&mut self.start_abandoned) {
            self.reject(name, "no run to stop");
        }
    }

    /// Saves the latest checkpoint and goes on.
    fn save_checkpoint(&mut self, name: &str) {
        let Some(trainer) = self.trainer.as_mut() else {
            return self.reject(name, "no run to save");
        };
        let sink = &self.sink;
        let saved = Self::on_training_pool(self.training_pool.as_ref(), || {
            trainer.save(CheckpointKind::Latest, sink)
        });
        if let Err(err) = saved {
            self.sink.send(Event::Failed {
                message: format!("saving the checkpoint: {err}"),
            });
        }
    }

    /// Hands a translation, judgement or gallery that reached this thread to the translation
    /// thread, or says that too many wait.
    fn forward_to_translation(&self, command: Command) {
        let Ok(job) = Job::of(command) else {
            return;
        };
        let id = job.id();
        if self.translations.try_send(job).is_err() {
            self.sink.send(Event::TranslateFailed {
                id,
                message: "too many translations, judgements or galleries waiting; try again".into(),
            });
        }
    }

    /// Makes a checkpoint the run's best, unless that run is training (its validations
    /// choose).
    fn make_best(&self, name: &str, run_dir: PathBuf, checkpoint: PathBuf, val_l1: Option<f64>) {
        let training_it = self
            .trainer
            .as_ref()
            .is_some_and(|trainer| same_folder(trainer.run_dir(), &run_dir));
        if training_it {
            return self.reject(
                name,
                "this run is training: its validations choose its best checkpoint; stop it first",
            );
        }
        let event = match crate::insight::gallery::make_best(&run_dir, &checkpoint, val_l1) {
            Ok(()) => Event::BestChosen {
                run_dir,
                checkpoint,
            },
            Err(err) => Event::Failed {
                message: format!("making the checkpoint the best: {err}"),
            },
        };
        self.sink.send(event);
    }

    /// Probes a compute device and reports what it is.
    fn select_device(&self, choice: DeviceChoice) {
        let outcome = device::select(choice)
            .map(|selected| DeviceReport {
                info: selected.info,
                fallback_reason: selected.fallback_reason,
            })
            .map_err(|err| err.to_string());
        self.sink.send(Event::DeviceSelected { choice, outcome });
    }

    fn start(&mut self, request: &TrainingRequest) {
        // Translations of "the current run" asked for while it starts wait for its weights.
        self.live.run_started();
        let sink = &self.sink;
        let stop = &*self.stop_requested;
        let should_stop = || stop.load(Ordering::SeqCst);
        let started = catch_unwind(AssertUnwindSafe(|| {
            Self::on_training_pool(self.training_pool.as_ref(), || {
                device::select(request.device)
                    .and_then(|selected| Trainer::start(request, &selected, sink, &should_stop))
            })
        }));
        match started {
            Ok(Ok(Some(trainer))) => {
                self.set_trainer(Some(trainer));
                self.paused = false;
            }
            Ok(Ok(None)) => {
                // Stopped while starting: nothing trained, nothing to save.
                self.live.run_ended();
                self.start_abandoned = true;
                self.sink.send(Event::Finished {
                    step: 0,
                    stopped: true,
                });
            }
            Ok(Err(err)) => {
                self.live.run_ended();
                self.sink.send(Event::Failed {
                    message: format!("could not start training: {err}"),
                });
            }
            Err(panic) => {
                self.live.run_ended();
                self.sink.send(Event::Failed {
                    message: format!(
                        "could not start training: the compute device failed ({}){}",
                        panic_message(panic.as_ref()),
                        device_hint(request.device)
                    ),
                });
            }
        }
    }

    fn train_one_step(&mut self) {
        let Some(trainer) = self.trainer.as_mut() else {
            return;
        };
        // A device that is lost, out of memory or failing panics inside burn: the run ends with
        // the message, and the checkpoints already on disk (the last good one) stay as they are.
        let sink = &self.sink;
        let pool = self.training_pool.as_ref();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            Self::on_training_pool(pool, || trainer.step(sink))
        }));
        let outcome = match outcome {
            Ok(Ok(StepOutcome::Continue)) => {
                self.publish_live();
                return;
            }
            Ok(outcome) => outcome,
            Err(panic) => {
                let message = format!(
                    "training stopped at step {}: the compute device failed ({}); the last good \
                     checkpoint is kept in {}{}",
                    trainer.steps() + 1,
                    panic_message(panic.as_ref()),
                    trainer.run_dir().display(),
                    if trainer.on_gpu() {
                        "; resume the run on the CPU (device: cpu)"
                    } else {
                        ""
                    }
                );
                self.set_trainer(None);
                self.sink.send(Event::Failed { message });
                return;
            }
        };
        match outcome {
            Ok(StepOutcome::Continue) => {}
            Ok(StepOutcome::Finished) => {
                let step = trainer.steps();
                self.set_trainer(None);
                self.sink.send(Event::Finished {
                    step,
                    stopped: false,
                });
            }
            Ok(StepOutcome::EarlyStopped(reason)) => {
                let step = trainer.steps();
                self.set_trainer(None);
                self.sink.send(Event::EarlyStopped { step, reason });
                self.sink.send(Event::Finished {
                    step,
                    stopped: true,
                });
            }
            Err(err) => self.fail_run(err),
        }
    }

    /// Ends the run on `err`, saying where its last good checkpoint is.
    fn fail_run(&mut self, err: crate::Error) {
        let Some(trainer) = self.trainer.as_ref() else {
            return;
        };
        // A write that failed (a full disk, a folder turned read-only) changed nothing already
        // saved: say where the last good checkpoint is.
        let kept = match &err {
            crate::Error::Io { .. } => format!(
                "; the last good checkpoint is kept in {}",
                trainer.run_dir().display()
            ),
            _ => String::new(),
        };
        self.set_trainer(None);
        self.sink.send(Event::Failed {
            message: format!("training stopped: {err}{kept}"),
        });
    }

    /// Saves and ends the run, if any.
    fn end_run(&mut self, stopped: bool) {
        if let Some(mut trainer) = self.trainer.take() {
            self.live.run_ended();
            let sink = &self.sink;
            let saved = Self::on_training_pool(self.training_pool.as_ref(), || {
                trainer.save(CheckpointKind::Latest, sink)
            });
            if let Err(err) = saved {
                self.sink.send(Event::Failed {
                    message: format!("saving the checkpoint on stop: {err}"),
                });
            }
            self.sink.send(Event::Finished {
                step: trainer.steps(),
                stopped,
            });
        }
        self.paused = false;
    }
}

/// Whether two paths name the same folder (as given, or once resolved).
fn same_folder(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (a.canonicalize(), b.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        )
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::StartTraining(_) => "StartTraining",
        Command::Pause => "Pause",
        Command::Resume => "Resume",
        Command::Stop => "Stop",
        Command::SaveCheckpoint => "SaveCheckpoint",
        Command::Translate(_) => "Translate",
        Command::ScoreCheckpoints(_) => "ScoreCheckpoints",
        Command::Judge(_) => "Judge",
        Command::MakeBest { .. } => "MakeBest",
        Command::SelectDevice(_) => "SelectDevice",
        Command::Shutdown => "Shutdown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker() -> (Worker, Receiver<Event>) {
        let (sender, events) = crossbeam_channel::bounded(64);
        let (translations, _) = crossbeam_channel::bounded(4);
        let sink = EventSink::new(sender, Arc::new(|_| {}));
        let worker = Worker::new(
            sink,
            Arc::default(),
            Arc::default(),
            translations,
            WorkerOptions::default(),
        );
        (worker, events)
    }

    fn panics(_: &mut Worker, _: Command) -> Flow {
        panic!("boom")
    }

    #[test]
    fn a_panic_in_a_command_becomes_its_failure_and_the_worker_goes_on() {
        let (mut worker, events) = worker();
        let flow = worker.handle_guarded(Command::SaveCheckpoint, panics);
        assert!(matches!(flow, Flow::Continue));
        match events.try_recv() {
            Ok(Event::Failed { message }) => {
                assert!(
                    message.contains("SaveCheckpoint") && message.contains("boom"),
                    "{message}"
                );
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        // The worker still answers.
        assert!(matches!(
            worker.handle_guarded(Command::Stop, Worker::handle),
            Flow::Continue
        ));
        assert!(matches!(events.try_recv(), Ok(Event::Rejected { .. })));
    }

    #[test]
    fn stop_while_starting_gives_up_the_start_without_an_error() {
        let (mut worker, events) = worker();
        let run_dir = std::env::temp_dir().join(format!("p2p-worker-stop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run_dir);
        let dataset =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_pairs/sketches");
        let options = crate::config::RunOptions {
            ngf: 4,
            ndf: 4,
            n_layers_d: 2,
            ..crate::config::RunOptions::at_size(32)
        };
        let config = options.run_config(
            &dataset,
            crate::data::Direction::AtoB,
            crate::data::LayoutHint::Auto,
        );
        // The Stop was sent (the handle raised the flag) while the start was under way.
        worker.stop_requested.store(true, Ordering::SeqCst);
        let request = TrainingRequest {
            config,
            run_dir: run_dir.clone(),
            resume: false,
            device: DeviceChoice::Cpu,
        };
        worker.handle_guarded(Command::StartTraining(Box::new(request)), Worker::handle);
        let received: Vec<Event> = events.try_iter().collect();
        assert!(
            matches!(
                received.as_slice(),
                [Event::Finished {
                    step: 0,
                    stopped: true
                }]
            ),
            "{received:?}"
        );
        assert!(worker.trainer.is_none());
        assert!(!run_dir.join("latest.json").exists(), "nothing was saved");
        // Its Stop command arrives next: not an error.
        worker.handle_guarded(Command::Stop, Worker::handle);
        assert!(
            events.try_recv().is_err(),
            "no refusal for the Stop that ended the start"
        );
        assert!(
            !worker.stop_requested.load(Ordering::SeqCst),
            "the next start is not stopped by it"
        );
        let _ = std::fs::remove_dir_all(&run_dir);
    }
}
