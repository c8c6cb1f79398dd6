//! The worker: a named thread that owns every tensor, driven by [`Command`]s and reporting
//! [`Event`]s. The GUI and the CLI are two faces of it.

pub mod handle;
pub mod protocol;
pub mod sink;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use crossbeam_channel::Receiver;

use crate::device::{self, DeviceChoice};
use crate::inference::{ModelSource, Translator};
use crate::training::checkpoint::CheckpointKind;
use crate::training::run::{StepOutcome, Trainer};
pub use handle::WorkerHandle;
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
    /// The last translator loaded from a file, reused while requests name the same source and
    /// device.
    translator: Option<(ModelSource, DeviceChoice, Translator)>,
}

/// The worker thread's loop: commands first, then one training step when a run is going.
pub(crate) fn run(commands: &Receiver<Command>, sink: EventSink) {
    lower_compute_priority();
    let mut worker = Worker {
        sink,
        trainer: None,
        paused: false,
        translator: None,
    };
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
            if let Flow::Exit = worker.handle(command) {
                return;
            }
            continue;
        }
        worker.train_one_step();
    }
}

impl Worker {
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
                if self.trainer.is_some() {
                    self.end_run(true);
                } else {
                    reject(&self.sink, "no run to stop");
                }
            }
            Command::SaveCheckpoint => match self.trainer.as_mut() {
                Some(trainer) => {
                    if let Err(err) = trainer.save(CheckpointKind::Latest, &self.sink) {
                        self.sink.send(Event::Failed {
                            message: format!("saving the checkpoint: {err}"),
                        });
                    }
                }
                None => reject(&self.sink, "no run to save"),
            },
            Command::Translate(request) => {
                let outcome = catch_unwind(AssertUnwindSafe(|| self.translate(&request)));
                if let Err(panic) = outcome {
                    // The cached model may be what failed: load it again next time.
                    self.translator = None;
                    self.sink.send(Event::TranslateFailed {
                        id: request.id,
                        message: format!(
                            "translation failed: the compute device failed ({}){}",
                            panic_message(panic.as_ref()),
                            device_hint(request.device)
                        ),
                    });
                }
            }
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
        let started = catch_unwind(AssertUnwindSafe(|| {
            device::select(request.device)
                .and_then(|selected| Trainer::start(request, &selected, sink))
        }));
        match started {
            Ok(Ok(trainer)) => {
                self.trainer = Some(trainer);
                self.paused = false;
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
        let outcome = catch_unwind(AssertUnwindSafe(|| trainer.step(&self.sink)));
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
                self.trainer = None;
                self.sink.send(Event::Failed {
                    message: format!("training stopped: {err}"),
                });
            }
        }
    }

    /// Saves and ends the run, if any.
    fn end_run(&mut self, stopped: bool) {
        if let Some(mut trainer) = self.trainer.take() {
            if let Err(err) = trainer.save(CheckpointKind::Latest, &self.sink) {
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
        let translator = match &request.model {
            None => match &self.trainer {
                Some(trainer) => trainer.translator(),
                None => {
                    self.sink.send(Event::TranslateFailed {
                        id: request.id,
                        message: "no run is training; choose a model".into(),
                    });
                    return;
                }
            },
            Some(source) => {
                let cached = matches!(&self.translator,
                    Some((cached, choice, _)) if cached == source && *choice == request.device);
                if !cached {
                    let loaded = device::select(request.device)
                        .and_then(|selected| Translator::load(source, &selected.device));
                    match loaded {
                        Ok(translator) => {
                            self.translator = Some((source.clone(), request.device, translator));
                        }
                        Err(err) => {
                            self.sink.send(Event::TranslateFailed {
                                id: request.id,
                                message: format!("could not load the model: {err}"),
                            });
                            return;
                        }
                    }
                }
                match self.translator.take() {
                    Some((_, _, translator)) => translator,
                    None => return,
                }
            }
        };
        let (images, files) = match &request.inputs {
            TranslateInputs::Images(images) => {
                let mut outputs = Vec::with_capacity(images.len());
                for image in images {
                    match translator.translate(image, &request.options) {
                        Ok(output) => outputs.push(output),
                        Err(err) => {
                            self.sink.send(Event::TranslateFailed {
                                id: request.id,
                                message: format!("translation failed: {err}"),
                            });
                            self.keep_translator(request, translator);
                            return;
                        }
                    }
                }
                (outputs, Vec::new())
            }
            TranslateInputs::Files { paths, output_dir } => {
                let inputs = match crate::data::decode::image_files(paths) {
                    Ok(inputs) => inputs,
                    Err(err) => {
                        self.sink.send(Event::TranslateFailed {
                            id: request.id,
                            message: format!("translation failed: {err}"),
                        });
                        self.keep_translator(request, translator);
                        return;
                    }
                };
                let files = translate_files(&translator, request, &inputs, output_dir, &self.sink);
                (Vec::new(), files)
            }
        };
        self.keep_translator(request, translator);
        self.sink.send(Event::Translated {
            id: request.id,
            images,
            files,
            millis: started.elapsed().as_millis() as u64,
        });
    }

    fn keep_translator(&mut self, request: &TranslateRequest, translator: Translator) {
        if let Some(source) = &request.model {
            self.translator = Some((source.clone(), request.device, translator));
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

/// Training and translation run below the UI: this thread and the threads of the compute pool
/// (rayon's, which burn's CPU backend and our kernels use) get the lowest priority (nice 19 on
/// Linux). On a busy CPU the window then keeps its frame rate, and training loses nothing when
/// nothing else wants the CPU. Failure (a platform without the call) only costs
/// responsiveness, so it is logged, not reported.
fn lower_compute_priority() {
    let lower = || {
        if let Err(err) =
            thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
        {
            log::debug!("could not lower the priority of a compute thread: {err:?}");
        }
    };
    lower();
    rayon::broadcast(|_| lower());
}
