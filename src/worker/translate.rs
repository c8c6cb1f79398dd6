//! The translation thread: translations run beside training, not behind it. A sketch asks for
//! a result every stroke; waiting for the current training step (slow while training yields
//! the CPU to the window) made the round trip a second. Here a request is taken at once, at the
//! priority of whoever started the worker, while training goes on at its own.
//!
//! Models from files are loaded here and cached by their weights file. "The run being trained"
//! is a snapshot the worker publishes after its steps ([`LiveModel`]), only while someone asks
//! for it: a snapshot shares the generator's weights, so the next optimiser step copies them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::protocol::{
    Command, Event, GalleryRequest, JudgeRequest, TranslateInputs, TranslateRequest, WorkerOptions,
};
use super::sink::EventSink;
use super::threads::{Yielding, device_hint, low_priority_pool, panic_message};
use crate::config::run_folder;
use crate::inference::output_names::output_files;
use crate::inference::png_file::{self, SourceTag};
use crate::inference::shared_norm::{
    SharedStatistics, StatisticsPool, needs_pooling, statistics_sample,
};
use crate::inference::{ModelSource, TranslateOptions, Translator, WeightsStamp};
use crate::insight::gallery::{GalleryHeader, list_checkpoints, score_checkpoint};
use crate::insight::validation::ValidationPairs;
use crate::insight::verdict::{judge_images, load_discriminator_of};
use crate::platform::device::{self, DeviceChoice};

/// After a request for the run being trained, the worker publishes its weights after every
/// step for this long (the next stroke is likely to follow soon).
const LIVE_INTEREST: Duration = Duration::from_secs(10);
/// The longest a request waits for the first snapshot (one training step, or the end of the
/// run's start).
const SNAPSHOT_WAIT: Duration = Duration::from_secs(120);

/// The run being trained, as the translation thread sees it.
#[derive(Default)]
pub(crate) struct LiveModel {
    state: Mutex<LiveState>,
    published: Condvar,
}

#[derive(Default)]
struct LiveState {
    /// A run is going (between its start and its end).
    training: bool,
    /// The generator after the latest step it was published at.
    snapshot: Option<Translator>,
    /// Publish after each step until then.
    wanted_until: Option<Instant>,
}

impl LiveModel {
    fn lock(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A run is starting (or has started): snapshots may be asked for. Returns whether one was
    /// already going.
    pub(crate) fn run_started(&self) -> bool {
        std::mem::replace(&mut self.lock().training, true)
    }

    /// The run ended: no more snapshots; waiting requests are answered.
    pub(crate) fn run_ended(&self) {
        let mut state = self.lock();
        state.training = false;
        state.snapshot = None;
        self.published.notify_all();
    }

    /// Whether the worker should publish its generator now (someone asked recently), and forget
    /// the old snapshot otherwise (so the optimiser stops copying the weights it shares).
    pub(crate) fn wanted(&self) -> bool {
        let mut state = self.lock();
        let wanted = state
            .wanted_until
            .is_some_and(|until| Instant::now() < until);
        if !wanted {
            state.snapshot = None;
        }
        wanted
    }

    /// Whether a run is training now.
    pub(crate) fn is_training(&self) -> bool {
        self.lock().training
    }

    /// The worker's generator after a step.
    pub(crate) fn publish(&self, translator: Translator) {
        self.lock().snapshot = Some(translator);
        self.published.notify_all();
    }

    /// The latest snapshot, waiting for the first one if need be; `None` when no run trains.
    fn snapshot(&self) -> Option<Translator> {
        let mut state = self.lock();
        state.wanted_until = Some(Instant::now() + LIVE_INTEREST);
        let deadline = Instant::now() + SNAPSHOT_WAIT;
        while state.training && state.snapshot.is_none() && Instant::now() < deadline {
            state = self
                .published
                .wait_timeout(state, deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.snapshot.clone()
    }
}

/// A translator loaded from a file, with what it was loaded from.
struct CachedTranslator {
    source: ModelSource,
    device: DeviceChoice,
    stamp: WeightsStamp,
    translator: Translator,
}

/// The thread's state: the sink, the live model, the file-model cache.
struct Translations {
    sink: EventSink,
    live: Arc<LiveModel>,
    cached: Option<CachedTranslator>,
    /// Where checkpoints are scored when the app asked for background priority (a gallery is
    /// background work; a translation someone waits for is not); `None` for the CLI.
    scoring_pools: Option<ScoringPools>,
}

/// The two pools a gallery may be scored on, built when first needed.
#[derive(Default)]
struct ScoringPools {
    /// In the idle class: while nothing trains, frames never wait for the scoring.
    idle: Option<Option<rayon::ThreadPool>>,
    /// At nice 19, like training: while a run trains, the scoring shares the CPU with it
    /// (in the idle class it would get a sixth of it).
    lowest: Option<Option<rayon::ThreadPool>>,
    /// Their size (rayon's default without it).
    threads: Option<usize>,
}

impl ScoringPools {
    /// The pool for the next checkpoint, depending on whether a run trains now.
    fn for_now(&mut self, training: bool) -> Option<&rayon::ThreadPool> {
        let (slot, yielding) = if training {
            (&mut self.lowest, Yielding::LowestPriority)
        } else {
            (&mut self.idle, Yielding::IdleOnly)
        };
        let threads = self.threads;
        slot.get_or_insert_with(|| low_priority_pool("score", yielding, threads))
            .as_ref()
    }
}

/// What the thread does: the inference commands, which run beside training.
#[derive(Debug)]
pub(crate) enum Job {
    Translate(TranslateRequest),
    Gallery(GalleryRequest),
    Judge(JudgeRequest),
}

impl Job {
    /// The job of an inference command; any other command is given back.
    pub(crate) fn of(command: Command) -> Result<Self, Command> {
        match command {
            Command::Translate(request) => Ok(Job::Translate(*request)),
            Command::ScoreCheckpoints(request) => Ok(Job::Gallery(request)),
            Command::Judge(request) => Ok(Job::Judge(*request)),
            command => Err(command),
        }
    }

    /// The request id its events carry.
    pub(crate) fn id(&self) -> u64 {
        match self {
            Job::Translate(request) => request.id,
            Job::Gallery(request) => request.id,
            Job::Judge(request) => request.id,
        }
    }

    fn device(&self) -> DeviceChoice {
        match self {
            Job::Translate(request) => request.device,
            Job::Gallery(request) => request.device,
            Job::Judge(request) => request.device,
        }
    }
}

/// The thread's loop: one job at a time until the channel closes.
pub(crate) fn run(
    jobs: &Receiver<Job>,
    sink: EventSink,
    live: Arc<LiveModel>,
    options: WorkerOptions,
) {
    let mut translations = Translations {
        sink,
        live,
        cached: None,
        scoring_pools: options.background_priority.then(|| ScoringPools {
            threads: options.background_threads,
            ..ScoringPools::default()
        }),
    };
    while let Ok(job) = jobs.recv() {
        translations.handle_guarded(&job, |translations, job| match job {
            Job::Translate(request) => translations.translate(request),
            Job::Gallery(request) => translations.score_gallery(request),
            Job::Judge(request) => translations.judge(request),
        });
    }
}

impl Translations {
    /// Runs `handle`; a panic (a bug, a failing device) fails this job only.
    fn handle_guarded(&mut self, job: &Job, handle: impl FnOnce(&mut Self, &Job)) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| handle(self, job))) {
            // The cached model may be what failed: load it again next time.
            self.cached = None;
            let what = match job {
                Job::Translate(_) => "translation",
                Job::Gallery(_) => "scoring the checkpoints",
                Job::Judge(_) => "judging",
            };
            self.sink.send(Event::TranslateFailed {
                id: job.id(),
                message: format!(
                    "{what} failed: internal error ({}){}",
                    panic_message(panic.as_ref()),
                    device_hint(job.device())
                ),
            });
        }
    }

    /// Lists a run's checkpoints, then scores them one by one, each reported as it is done.
    fn score_gallery(&mut self, request: &GalleryRequest) {
        let started = Instant::now();
        let id = request.id;
        let prepared = run_folder::read_config(&request.run_dir)
            .and_then(|config| {
                let checkpoints = list_checkpoints(&request.run_dir)?;
                let selected = device::select(request.device)?;
                Ok((config, checkpoints, selected))
            })
            .map_err(|err| err.to_string())
            .and_then(|(config, checkpoints, selected)| {
                let pairs = ValidationPairs::of_run(&config).map_err(|err| {
                    format!("the run's dataset holds the pairs it is scored on: {err}")
                })?;
                Ok((checkpoints, pairs, selected))
            });
        let (checkpoints, pairs, selected) = match prepared {
            Ok(prepared) => prepared,
            Err(err) => {
                self.sink.send(Event::TranslateFailed {
                    id,
                    message: format!("could not open the gallery: {err}"),
                });
                return;
            }
        };
        for problem in &pairs.problems {
            self.sink.send(Event::DataProblem(problem.clone()));
        }
        self.sink.send(Event::GalleryListed {
            id,
            checkpoints: checkpoints.clone(),
            header: Box::new(GalleryHeader::of(&pairs)),
        });
        for (index, checkpoint) in checkpoints.iter().enumerate() {
            let score = || score_checkpoint(&checkpoint.dir, &pairs, &selected.device);
            let training = self.live.is_training();
            let pool = self
                .scoring_pools
                .as_mut()
                .and_then(|pools| pools.for_now(training));
            let score = match pool {
                Some(pool) => pool.install(score),
                None => score(),
            };
            let score = score.map(Box::new).map_err(|err| err.to_string());
            self.sink.send(Event::CheckpointScored { id, index, score });
        }
        self.sink.send(Event::GalleryScored {
            id,
            millis: started.elapsed().as_millis() as u64,
        });
    }

    /// Judges each pair with the discriminator of a run or a checkpoint.
    fn judge(&mut self, request: &JudgeRequest) {
        let judged = device::select(request.device).and_then(|selected| {
            let (discriminator, config) = load_discriminator_of(&request.model, &selected.device)?;
            let device = selected.device.clone().inner();
            request
                .pairs
                .iter()
                .map(|(input, output)| {
                    judge_images(&discriminator, &config, input, output, &device)
                })
                .collect::<crate::Result<Vec<_>>>()
        });
        let _ = self.sink.send(match judged {
            Ok(maps) => Event::Judged {
                id: request.id,
                maps,
            },
            Err(err) => Event::TranslateFailed {
                id: request.id,
                message: format!("could not judge: {err}"),
            },
        });
    }

    fn translate(&mut self, request: &TranslateRequest) {
        let started = Instant::now();
        let failed = |sink: &EventSink, message: String| {
            sink.send(Event::TranslateFailed {
                id: request.id,
                message,
            });
        };
        let loaded = match &request.model {
            None => match self.live.snapshot() {
                Some(translator) => Loaded::Live(translator),
                None => return failed(&self.sink, "no run is training; choose a model".into()),
            },
            Some(source) => match self.cached_translator(source, request.device) {
                Ok(cached) => Loaded::FromFile(cached),
                Err(err) => return failed(&self.sink, format!("could not load the model: {err}")),
            },
        };
        let translator = loaded.translator();
        let outcome = match &request.inputs {
            TranslateInputs::Images(images) => images
                .iter()
                .map(|image| {
                    translator.translate_with(
                        image,
                        &request.options,
                        None,
                        &mut tile_progress(&self.sink, request.id),
                    )
                })
                .collect::<crate::Result<Vec<_>>>()
                .map(|images| (images, Vec::new())),
            TranslateInputs::Files {
                paths,
                output_dir,
                names_from,
                shared_statistics_from,
            } => output_pairs(paths, output_dir, names_from.as_deref()).and_then(|jobs| {
                let shared = match shared_statistics_from {
                    Some(sequence) => pool_sequence(translator, sequence, &request.options)?,
                    None => None,
                };
                let files = translate_files(
                    translator,
                    request,
                    &jobs,
                    output_dir,
                    shared.as_ref(),
                    &self.sink,
                );
                Ok((Vec::new(), files))
            }),
        };
        if let Loaded::FromFile(cached) = loaded {
            self.cached = Some(cached);
        }
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
    /// unchanged, else loaded again (the cache is taken; the caller puts it back).
    fn cached_translator(
        &mut self,
        source: &ModelSource,
        device: DeviceChoice,
    ) -> crate::Result<CachedTranslator> {
        let stamp = source.weights_stamp()?;
        if let Some(cached) = self.cached.take()
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
}

/// The translator a request runs with: a snapshot of the run in training, or one loaded from
/// a file (kept for the next request).
enum Loaded {
    Live(Translator),
    FromFile(CachedTranslator),
}

impl Loaded {
    fn translator(&self) -> &Translator {
        match self {
            Loaded::Live(translator) => translator,
            Loaded::FromFile(cached) => &cached.translator,
        }
    }
}

/// Statistics pooled over a sample of `sequence` (see [`statistics_sample`]), where the
/// normalisation needs them. A frame that cannot be read is left out of the pool (its own
/// translation reports it).
fn pool_sequence(
    translator: &Translator,
    sequence: &[PathBuf],
    options: &TranslateOptions,
) -> crate::Result<Option<SharedStatistics>> {
    if !needs_pooling(translator.config().norm, options.norm) {
        return Ok(None);
    }
    let frames = crate::data::decode::image_files(sequence)?;
    let mut pool = StatisticsPool::default();
    for frame in statistics_sample(&frames) {
        if let Ok(image) = crate::data::decode::read_image(frame) {
            translator.pool_statistics(&mut pool, &image, options)?;
        }
    }
    if pool.inputs() == 0 {
        return Err(crate::Error::InvalidConfig(format!(
            "none of the {} frame(s) could be read to pool normalisation statistics",
            frames.len()
        )));
    }
    pool.finish().map(Some)
}

/// Reports the tiles of a large image as they are done.
fn tile_progress(sink: &EventSink, id: u64) -> impl FnMut(usize, usize) + '_ {
    move |done, total| {
        sink.send(Event::TileProgress { id, done, total });
    }
}

/// Each input file of `paths` (folders expanded) with its output file in `output_dir`, the
/// names chosen over `names_from` when given (the whole job of which `paths` is a shard).
fn output_pairs(
    paths: &[PathBuf],
    output_dir: &Path,
    names_from: Option<&[PathBuf]>,
) -> crate::Result<Vec<(PathBuf, PathBuf)>> {
    let inputs = crate::data::decode::image_files(paths)?;
    let scope = match names_from {
        Some(job) => crate::data::decode::image_files(job)?,
        None => inputs.clone(),
    };
    let names: std::collections::HashMap<&PathBuf, PathBuf> = scope
        .iter()
        .zip(output_files(output_dir, &scope)?)
        .collect();
    inputs
        .iter()
        .map(|input| match names.get(input) {
            Some(output) => Ok((input.clone(), output.clone())),
            None => Err(crate::Error::InvalidConfig(format!(
                "{} is not among the files the output names were chosen over",
                input.display()
            ))),
        })
        .collect()
}

/// Translates files one by one into their output files (PNGs that record their input); a bad
/// file fails alone.
fn translate_files(
    translator: &Translator,
    request: &TranslateRequest,
    jobs: &[(PathBuf, PathBuf)],
    output_dir: &Path,
    shared: Option<&SharedStatistics>,
    sink: &EventSink,
) -> Vec<(PathBuf, Result<PathBuf, String>)> {
    if let Err(err) = std::fs::create_dir_all(output_dir) {
        let message = format!("{}: {err}", output_dir.display());
        return jobs
            .iter()
            .map(|(path, _)| (path.clone(), Err(message.clone())))
            .collect();
    }
    let total = jobs.len();
    jobs.iter()
        .enumerate()
        .map(|(index, (path, target))| {
            let outcome = crate::data::decode::read_image(path)
                .and_then(|image| {
                    translator.translate_with(
                        &image,
                        &request.options,
                        shared,
                        &mut tile_progress(sink, request.id),
                    )
                })
                .and_then(|output| {
                    let source = SourceTag::of_file(path)?;
                    let bytes = png_file::encode(&output, Some(&source), target)?;
                    crate::platform::fs::write_atomic(target, &bytes)?;
                    Ok(target.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: u64) -> TranslateRequest {
        TranslateRequest {
            id,
            model: None,
            inputs: TranslateInputs::Images(Vec::new()),
            options: TranslateOptions::default(),
            device: DeviceChoice::Cpu,
        }
    }

    #[test]
    fn a_panic_fails_its_request_and_the_next_one_is_answered() {
        let (sender, events) = crossbeam_channel::bounded(8);
        let mut translations = Translations {
            sink: EventSink::new(sender, Arc::new(|_| {})),
            live: Arc::default(),
            cached: None,
            scoring_pools: None,
        };
        translations.handle_guarded(&Job::Translate(request(7)), |_, _| panic!("boom"));
        match events.try_recv() {
            Ok(Event::TranslateFailed { id: 7, message }) => {
                assert!(message.contains("boom"), "{message}");
            }
            other => panic!("expected TranslateFailed, got {other:?}"),
        }
        // No run is training: the next request is answered at once, not left waiting.
        translations.handle_guarded(&Job::Translate(request(8)), |translations, job| {
            if let Job::Translate(request) = job {
                translations.translate(request);
            }
        });
        match events.try_recv() {
            Ok(Event::TranslateFailed { id: 8, message }) => {
                assert!(message.contains("no run is training"), "{message}");
            }
            other => panic!("expected TranslateFailed, got {other:?}"),
        }
    }
}
