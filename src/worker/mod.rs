//! The worker: a named thread that owns every tensor, driven by [`Command`]s and reporting
//! [`Event`]s. The GUI and the CLI are two faces of it.

pub mod handle;
pub mod protocol;
pub mod sink;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::Receiver;

use crate::device::{self, DeviceChoice};
use crate::inference::{ModelSource, Translator, WeightsStamp};
use crate::training::checkpoint::CheckpointKind;
use crate::training::run::{StepOutcome, Trainer};
pub use handle::{WorkerHandle, WorkerOptions};
pub use protocol::{
    Command, DeviceReport, Event, Progress, RunInfo, TrainingRequest, TranslateInputs,
    TranslateRequest, Triplet,
};
use sink::EventSink;

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
    /// The last translator loaded from a file, reused while requests name the same source and
    /// device and its weights file is unchanged.
    translator: Option<CachedTranslator>,
}

/// A translator loaded from a file, with what it was loaded from.
struct CachedTranslator {
    source: ModelSource,
    device: DeviceChoice,
    stamp: WeightsStamp,
    translator: Translator,
}

/// The worker thread's loop: commands first (a translation waiting runs before the next
/// training step), then one training step when a run is going.
pub(crate) fn run(
    commands: &Receiver<Command>,
    sink: EventSink,
    stop_requested: Arc<AtomicBool>,
    options: WorkerOptions,
) {
    let mut worker = Worker::new(sink, stop_requested, options);
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
    fn new(sink: EventSink, stop_requested: Arc<AtomicBool>, options: WorkerOptions) -> Self {
        Self {
            sink,
            trainer: None,
            paused: false,
            stop_requested,
            start_abandoned: false,
            training_pool: options
                .background_priority
                .then(low_priority_pool)
                .flatten(),
            translator: None,
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
        let translate_id = match &command {
            Command::Translate(request) => Some((request.id, request.device)),
            _ => None,
        };
        match catch_unwind(AssertUnwindSafe(|| handle(self, command))) {
            Ok(flow) => flow,
            Err(panic) => {
                let reason = panic_message(panic.as_ref());
                if let Some((id, choice)) = translate_id {
                    // The cached model may be what failed: load it again next time.
                    self.translator = None;
                    self.sink.send(Event::TranslateFailed {
                        id,
                        message: format!(
                            "translation failed: internal error ({reason}){}",
                            device_hint(choice)
                        ),
                    });
                    return Flow::Continue;
                }
                let run_dir = self.trainer.as_ref().map(|t| t.run_dir().to_path_buf());
                if name == "Shutdown" {
                    return Flow::Exit;
                }
                // The run's state may be half-updated: it ends; its checkpoints on disk stay.
                self.trainer = None;
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

    /// Runs training work on the training pool (or the current one).
    fn on_training_pool<T: Send>(
        pool: Option<&rayon::ThreadPool>,
        work: impl FnOnce() -> T + Send,
    ) -> T {
        match pool {
            Some(pool) => pool.install(work),
            None => work(),
        }
    }

    fn handle(&mut self, command: Command) -> Flow {
        let name = command_name(&command);
        let reject = |sink: &EventSink, reason: &str| {
            sink.send(Event::Rejected {
                command: name.into(),
                reason: reason.into(),
            });
        };
        match command {
            Command::StartTraining(request) => {
                if self.trainer.is_some() {
                    reject(&self.sink, "a run is already in progress");
                } else {
                    self.start(&request);
                }
            }
            Command::Pause => match (&self.trainer, self.paused) {
                (Some(trainer), false) => {
                    self.paused = true;
                    self.sink.send(Event::Paused {
                        step: trainer.steps(),
                    });
                }
                _ => reject(&self.sink, "no run is training"),
            },
            Command::Resume => match (&self.trainer, self.paused) {
                (Some(trainer), true) => {
                    self.paused = false;
                    self.sink.send(Event::Resumed {
                        step: trainer.steps(),
                    });
                }
                _ => reject(&self.sink, "no run is paused"),
            },
            Command::Stop => {
                self.stop_requested.store(false, Ordering::SeqCst);
                if self.trainer.is_some() {
                    self.end_run(true);
                } else if !std::mem::take(&mut self.start_abandoned) {
                    reject(&self.sink, "no run to stop");
                }
            }
            Command::SaveCheckpoint => match self.trainer.as_mut() {
                Some(trainer) => {
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
                None => reject(&self.sink, "no run to save"),
            },
            Command::Translate(request) => self.translate(&request),
            Command::SelectDevice(choice) => {
                let outcome = device::select(choice)
                    .map(|selected| DeviceReport {
                        info: selected.info,
                        fallback_reason: selected.fallback_reason,
                    })
                    .map_err(|err| err.to_string());
                self.sink.send(Event::DeviceSelected { choice, outcome });
            }
            Command::Shutdown => {
                self.end_run(true);
                return Flow::Exit;
            }
        }
        Flow::Continue
    }

    fn start(&mut self, request: &TrainingRequest) {
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
                self.trainer = Some(trainer);
                self.paused = false;
            }
            Ok(Ok(None)) => {
                // Stopped while starting: nothing trained, nothing to save.
                self.start_abandoned = true;
                self.sink.send(Event::Finished {
                    step: 0,
                    stopped: true,
                });
            }
            Ok(Err(err)) => {
                self.sink.send(Event::Failed {
                    message: format!("could not start training: {err}"),
                });
            }
            Err(panic) => {
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
                self.trainer = None;
                self.sink.send(Event::Failed { message });
                return;
            }
        };
        match outcome {
            Ok(StepOutcome::Continue) => {}
            Ok(StepOutcome::Finished) => {
                let step = trainer.steps();
                self.trainer = None;
                self.sink.send(Event::Finished {
                    step,
                    stopped: false,
                });
            }
            Err(err) => {
                // A write that failed (a full disk, a folder turned read-only) changed nothing
                // already saved: say where the last good checkpoint is.
                let kept = match &err {
                    crate::Error::Io { .. } => format!(
                        "; the last good checkpoint is kept in {}",
                        trainer.run_dir().display()
                    ),
                    _ => String::new(),
                };
                self.trainer = None;
                self.sink.send(Event::Failed {
                    message: format!("training stopped: {err}{kept}"),
                });
            }
        }
    }

    /// Saves and ends the run, if any.
    fn end_run(&mut self, stopped: bool) {
        if let Some(mut trainer) = self.trainer.take() {
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

    fn translate(&mut self, request: &TranslateRequest) {
        let started = Instant::now();
        let loaded = match &request.model {
            None => match &self.trainer {
                Some(trainer) => Loaded::Training(trainer.translator()),
                None => {
                    self.sink.send(Event::TranslateFailed {
                        id: request.id,
                        message: "no run is training; choose a model".into(),
                    });
                    return;
                }
            },
            Some(source) => match self.cached_translator(source, request.device) {
                Ok(cached) => Loaded::FromFile(cached),
                Err(err) => {
                    self.sink.send(Event::TranslateFailed {
                        id: request.id,
                        message: format!("could not load the model: {err}"),
                    });
                    return;
                }
            },
        };
        let translator = loaded.translator();
        let outcome = match &request.inputs {
            TranslateInputs::Images(images) => images
                .iter()
                .map(|image| translator.translate(image, &request.options))
                .collect::<crate::Result<Vec<_>>>()
                .map(|images| (images, Vec::new())),
            TranslateInputs::Files { paths, output_dir } => crate::data::decode::image_files(paths)
                .map(|inputs| {
                    let files =
                        translate_files(translator, request, &inputs, output_dir, &self.sink);
                    (Vec::new(), files)
                }),
        };
        self.keep_translator(loaded);
        match outcome {
            Ok((images, files)) => self.sink.send(Event::Translated {
                id: request.id,
                images,
                files,
                millis: started.elapsed().as_millis() as u64,
            }),
            Err(err) => self.sink.send(Event::TranslateFailed {
                id: request.id,
                message: format!("translation failed: {err}"),
            }),
        };
    }

    /// The translator of `source` on `device`: the cached one while its weights file is
    /// unchanged, else loaded again (the cache is taken; [`Self::keep_translator`] puts it back).
    fn cached_translator(
        &mut self,
        source: &ModelSource,
        device: DeviceChoice,
    ) -> crate::Result<CachedTranslator> {
        let stamp = source.weights_stamp()?;
        if let Some(cached) = self.translator.take()
            && cached.source == *source
            && cached.device == device
            && cached.stamp == stamp
        {
            return Ok(cached);
        }
        let selected = device::select(device)?;
        Ok(CachedTranslator {
            translator: Translator::load(source, &selected.device)?,
            source: source.clone(),
            device,
            stamp,
        })
    }

    /// Puts a translator loaded from a file back in the cache (the training run's is not kept).
    fn keep_translator(&mut self, translator: Loaded) {
        if let Loaded::FromFile(cached) = translator {
            self.translator = Some(cached);
        }
    }
}

/// The translator a request runs with: a snapshot of the run in training, or one loaded from
/// a file (kept for the next request).
enum Loaded {
    Training(Translator),
    FromFile(CachedTranslator),
}

impl Loaded {
    fn translator(&self) -> &Translator {
        match self {
            Loaded::Training(translator) => translator,
            Loaded::FromFile(cached) => &cached.translator,
        }
    }
}

/// Translates files one by one into `output_dir` as PNGs; a bad file fails alone.
fn translate_files(
    translator: &Translator,
    request: &TranslateRequest,
    paths: &[std::path::PathBuf],
    output_dir: &std::path::Path,
    sink: &EventSink,
) -> Vec<(std::path::PathBuf, Result<std::path::PathBuf, String>)> {
    if let Err(err) = std::fs::create_dir_all(output_dir) {
        let message = format!("{}: {err}", output_dir.display());
        return paths
            .iter()
            .map(|path| (path.clone(), Err(message.clone())))
            .collect();
    }
    let total = paths.len();
    paths
        .iter()
        .enumerate()
        .map(|(index, path)| {
            let outcome = crate::data::decode::read_image(path)
                .and_then(|image| translator.translate(&image, &request.options))
                .and_then(|output| {
                    let name = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().to_string())
                        .unwrap_or_default();
                    let target = output_dir.join(format!("{name}.png"));
                    let mut bytes = Vec::new();
                    output
                        .write_to(
                            &mut std::io::Cursor::new(&mut bytes),
                            image::ImageFormat::Png,
                        )
                        .map_err(|err| crate::Error::Image {
                            path: target.clone(),
                            reason: format!("could not encode: {err}"),
                        })?;
                    crate::fs::write_atomic(&target, &bytes)?;
                    Ok(target)
                })
                .map_err(|err| err.to_string());
            sink.send(Event::TranslateProgress {
                id: request.id,
                done: index + 1,
                total,
            });
            (path.clone(), outcome)
        })
        .collect()
}

/// The text of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// What to try after a device failure: the CPU, when the choice runs on a GPU (the probe is
/// cached, so asking again costs nothing).
fn device_hint(choice: DeviceChoice) -> &'static str {
    if device::select(choice).is_ok_and(|selected| !selected.is_cpu()) {
        "; try the CPU (device: cpu)"
    } else {
        ""
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::StartTraining(_) => "StartTraining",
        Command::Pause => "Pause",
        Command::Resume => "Resume",
        Command::Stop => "Stop",
        Command::SaveCheckpoint => "SaveCheckpoint",
        Command::Translate(_) => "Translate",
        Command::SelectDevice(_) => "SelectDevice",
        Command::Shutdown => "Shutdown",
    }
}

/// The pool training runs on when the app asks for background priority: the threads of a
/// dedicated rayon pool get the lowest priority (nice 19 on Linux), so on a busy CPU the window
/// keeps its frame rate and a translation (on the global pool, at the UI's priority) runs ahead
/// of training work; training loses nothing when nothing else wants the CPU. Without the pool
/// (the CLI) training runs at the caller's priority. Failure to build the pool or to lower a
/// thread only costs responsiveness, so it is logged, not reported.
fn low_priority_pool() -> Option<rayon::ThreadPool> {
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|index| format!("train-{index}"))
        .start_handler(|_| {
            if let Err(err) =
                thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
            {
                log::debug!("could not lower the priority of a training thread: {err:?}");
            }
        })
        .build();
    match pool {
        Ok(pool) => Some(pool),
        Err(err) => {
            log::warn!("no low-priority training pool, training at normal priority: {err}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::TranslateOptions;

    fn worker() -> (Worker, crossbeam_channel::Receiver<Event>) {
        let (sender, events) = crossbeam_channel::bounded(16);
        let sink = EventSink::new(sender, Arc::new(|_| {}));
        let worker = Worker::new(sink, Arc::default(), WorkerOptions::default());
        (worker, events)
    }

    fn panics(_: &mut Worker, _: Command) -> Flow {
        panic!("boom")
    }

    #[test]
    fn a_panic_in_a_command_becomes_its_failure_and_the_worker_goes_on() {
        let (mut worker, events) = worker();
        let request = TranslateRequest {
            id: 7,
            model: None,
            inputs: TranslateInputs::Images(Vec::new()),
            options: TranslateOptions::default(),
            device: DeviceChoice::Cpu,
        };
        let flow = worker.handle_guarded(Command::Translate(Box::new(request)), panics);
        assert!(matches!(flow, Flow::Continue));
        match events.try_recv() {
            Ok(Event::TranslateFailed { id: 7, message }) => {
                assert!(message.contains("boom"), "{message}");
            }
            other => panic!("expected TranslateFailed, got {other:?}"),
        }
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
}
