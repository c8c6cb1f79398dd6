//! Work the UI thread must not wait for, each on a named thread: native file dialogs, dataset
//! discovery, thumbnails, loading and saving images. Results come back over a bounded channel
//! and wake the UI.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use egui::ColorImage;
use image::DynamicImage;

use super::textures::color_image;
use crate::data::augment::{AugmentConfig, Jitter, Preprocess};
use crate::data::decode::{image_files, read_image};
use crate::data::loader::{SampleConfig, augmented_pair, load_pair_images};
use crate::data::{Dataset, Direction, SynthTask};
use crate::data::{DiscoverOptions, PairEntry, discover};
use crate::inference::ModelSource;
use crate::insight::compare::RunRecord;
use crate::onnx::{DEFAULT_OPSET, OnnxOptions, export_model_onnx};
use crate::platform::fs::{write_atomic, write_atomic_new};
use crate::util::seed::{derived_rng, stream};

/// Results waiting for the UI.
const OUTCOME_CAPACITY: usize = 64;
/// Thumbnails waiting to be decoded; requests beyond this wait for the next frame.
const THUMBNAIL_QUEUE: usize = 12;
/// Threads decoding thumbnails.
const THUMBNAIL_THREADS: usize = 2;
/// Images loaded into the window at once (a larger folder is translated to disk instead).
const MAX_LOADED_IMAGES: usize = 64;
/// Longest side of a thumbnail, px.
const THUMBNAIL_PX: u32 = 96;

/// What a dialog was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The dataset folder.
    DatasetFolder,
    /// A run folder to resume.
    ResumeFolder,
    /// A run or checkpoint folder for the Translate or Sketch tab.
    CheckpointFolder(ModelTarget),
    /// Reference weights for the Translate or Sketch tab.
    WeightsFile(ModelTarget),
    /// Images to translate.
    TranslateFiles,
    /// A folder of images to translate.
    TranslateFolder,
    /// Where translations go.
    OutputFolder,
    /// A picture to start a sketch from.
    SketchImage,
    /// The run folder of the Checkpoints tab.
    GalleryRun,
    /// A run folder to add to the Compare tab.
    CompareRun,
}

/// Which tab a model choice belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelTarget {
    /// The Translate tab.
    Translate,
    /// The Sketch tab.
    Sketch,
}

/// Input and target thumbnails of one pair.
pub type PairThumbnail = (ColorImage, ColorImage);

/// A finished background job.
pub enum Outcome {
    /// A dialog closed: the chosen paths, empty when cancelled or no dialog could open.
    Picked {
        /// Why it was opened.
        purpose: Purpose,
        /// The choice.
        paths: Vec<PathBuf>,
    },
    /// A dataset folder was read.
    Discovered {
        /// The request it answers (older answers are ignored).
        generation: u64,
        /// The pairs and report, or why the folder cannot be read.
        result: Result<Box<Dataset>, String>,
    },
    /// A pair's thumbnails.
    Thumbnail {
        /// The dataset request it belongs to.
        generation: u64,
        /// The pair's index in the dataset.
        index: usize,
        /// Input and target, or why the pair could not be shown.
        result: Result<PairThumbnail, String>,
    },
    /// Images were loaded for a purpose (translation inputs, a sketch to start from).
    ImagesLoaded {
        /// Why.
        purpose: Purpose,
        /// Each file with its picture or the reason it could not be read.
        images: Vec<(PathBuf, Result<DynamicImage, String>)>,
    },
    /// A pair drawn as the model sees it in training.
    Augmented {
        /// The dataset request it belongs to.
        generation: u64,
        /// The pictures and what was done to them, or why the pair could not be shown.
        result: Result<AugmentedPair, String>,
    },
    /// Images were saved: a message for the status bar, or the error.
    Saved(Result<String, String>),
    /// Run folders were read for the Compare tab.
    RunsRead {
        /// The request it answers (older answers are ignored).
        generation: u64,
        /// Each folder's record, or why it could not be read.
        runs: Vec<(PathBuf, Result<RunRecord, String>)>,
    },
}

/// A pair after the training's preprocessing, for the Data tab's augmentation preview.
pub struct AugmentedPair {
    /// The pair's file name.
    pub name: String,
    /// The input as the generator gets it.
    pub input: ColorImage,
    /// The target as the loss sees it.
    pub target: ColorImage,
    /// What the preprocessing did, in words.
    pub description: String,
}

/// A thumbnail to decode.
struct ThumbnailJob {
    generation: u64,
    index: usize,
    entry: PairEntry,
    direction: Direction,
    synth: Option<SynthTask>,
}

/// The background jobs and their results.
pub struct Background {
    outcomes: Sender<Outcome>,
    received: Receiver<Outcome>,
    thumbnails: Sender<ThumbnailJob>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Background {
    /// Starts the thumbnail threads; `wake` is called after each result.
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (outcomes, received) = crossbeam_channel::bounded(OUTCOME_CAPACITY);
        let (thumbnails, jobs) = crossbeam_channel::bounded::<ThumbnailJob>(THUMBNAIL_QUEUE);
        for _ in 0..THUMBNAIL_THREADS {
            let jobs = jobs.clone();
            let outcomes = outcomes.clone();
            let wake = wake.clone();
            spawn_named("thumbnails", move || {
                for job in jobs {
                    let result = thumbnail(&job);
                    let outcome = Outcome::Thumbnail {
                        generation: job.generation,
                        index: job.index,
                        result,
                    };
                    if outcomes.send(outcome).is_err() {
                        break;
                    }
                    wake();
                }
            });
        }
        Self {
            outcomes,
            received,
            thumbnails,
            wake,
        }
    }

    /// The next finished job, if any.
    pub fn try_recv(&self) -> Option<Outcome> {
        self.received.try_recv().ok()
    }

    /// Runs `job` on a named thread and delivers its outcome.
    fn run(&self, name: &str, job: impl FnOnce() -> Outcome + Send + 'static) {
        let outcomes = self.outcomes.clone();
        let wake = self.wake.clone();
        spawn_named(name, move || {
            let _ = outcomes.send(job());
            wake();
        });
    }

    /// Opens the native folder dialog.
    pub fn pick_folder(&self, purpose: Purpose) {
        self.run("file-dialog", move || Outcome::Picked {
            purpose,
            paths: rfd::FileDialog::new().pick_folder().into_iter().collect(),
        });
    }

    /// Opens the native file dialog for one or more files with these extensions.
    pub fn pick_files(
        &self,
        purpose: Purpose,
        kind: &'static str,
        extensions: &'static [&'static str],
    ) {
        let multiple = purpose == Purpose::TranslateFiles;
        self.run("file-dialog", move || {
            let dialog = rfd::FileDialog::new().add_filter(kind, extensions);
            let paths = if multiple {
                dialog.pick_files().unwrap_or_default()
            } else {
                dialog.pick_file().into_iter().collect()
            };
            Outcome::Picked { purpose, paths }
        });
    }

    /// Reads a dataset folder.
    pub fn discover(&self, generation: u64, root: PathBuf, options: DiscoverOptions) {
        self.run("discover", move || Outcome::Discovered {
            generation,
            result: discover(&root, &options)
                .map(Box::new)
                .map_err(|err| err.to_string()),
        });
    }

    /// Queues a pair's thumbnails; false when the queue is full (ask again next frame).
    pub fn request_thumbnail(
        &self,
        generation: u64,
        index: usize,
        entry: PairEntry,
        direction: Direction,
        synth: Option<SynthTask>,
    ) -> bool {
        let job = ThumbnailJob {
            generation,
            index,
            entry,
            direction,
            synth,
        };
        self.thumbnails.try_send(job).is_ok()
    }

    /// Loads images (folders expand to the images in them, not recursively).
    pub fn load_images(&self, purpose: Purpose, paths: Vec<PathBuf>) {
        self.run("load-images", move || {
            let files = match image_files(&paths) {
                Ok(files) => files,
                Err(err) => {
                    return Outcome::ImagesLoaded {
                        purpose,
                        images: vec![(PathBuf::new(), Err(err.to_string()))],
                    };
                }
            };
            let mut images: Vec<(PathBuf, Result<DynamicImage, String>)> = files
                .iter()
                .take(MAX_LOADED_IMAGES)
                .map(|path| (path.clone(), read_image(path).map_err(|err| err.to_string())))
                .collect();
            if files.len() > MAX_LOADED_IMAGES {
                let more = files.len() - MAX_LOADED_IMAGES;
                let message = format!(
                    "{more} more image(s) not loaded: use 'Translate folder to disk' for a large folder"
                );
                images.push((PathBuf::new(), Err(message)));
            }
            Outcome::ImagesLoaded { purpose, images }
        });
    }

    /// Draws `entry` as training would with `config`: the random crop and flip come from
    /// `draw`, so each draw shows another.
    pub fn augment_preview(
        &self,
        generation: u64,
        entry: PairEntry,
        config: SampleConfig,
        draw: u64,
    ) {
        self.run("augment-preview", move || {
            let mut rng = derived_rng(draw, stream::AUGMENT, 0);
            let jitter = Jitter::draw(&config.augment, &mut rng);
            let result = augmented_pair(&entry, &config, jitter)
                .map(|(input, target)| AugmentedPair {
                    name: entry
                        .files
                        .path()
                        .file_name()
                        .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
                    input: color_image(&input.to_rgb8()),
                    target: color_image(&target.to_rgb8()),
                    description: describe(&config.augment, jitter),
                })
                .map_err(|err| err.to_string());
            Outcome::Augmented { generation, result }
        });
    }

    /// Reads run folders (config and latest history) for the Compare tab.
    pub fn read_runs(&self, generation: u64, dirs: Vec<PathBuf>) {
        self.run("read-runs", move || Outcome::RunsRead {
            generation,
            runs: dirs
                .into_iter()
                .map(|dir| {
                    let record = RunRecord::read(&dir).map_err(|err| err.to_string());
                    (dir, record)
                })
                .collect(),
        });
    }

    /// Asks where to write the generator of checkpoint `dir` as an ONNX model, then writes it
    /// with `export`'s defaults (opset 17, each image's own statistics, the trained size).
    pub fn export_onnx(&self, dir: PathBuf) {
        self.run("export-onnx", move || {
            let name = dir.file_name().map_or_else(
                || "model".into(),
                |name| name.to_string_lossy().into_owned(),
            );
            let Some(path) = rfd::FileDialog::new()
                .add_filter("ONNX model", &["onnx"])
                .set_file_name(format!("{name}.onnx"))
                .save_file()
            else {
                return Outcome::Saved(Ok("ONNX export cancelled".into()));
            };
            let source = ModelSource::Checkpoint(dir);
            Outcome::Saved(
                export_model_onnx(&source, &OnnxOptions::default(), &path)
                    .map(|()| format!("wrote {} (ONNX, opset {DEFAULT_OPSET})", path.display()))
                    .map_err(|err| err.to_string()),
            )
        });
    }

    /// Writes images as PNGs into `dir` (created if needed) under the given file names.
    pub fn save_images(&self, dir: PathBuf, images: Vec<(String, DynamicImage)>) {
        self.run("save-images", move || {
            Outcome::Saved(save_pngs(&dir, &images))
        })
    }

    /// Writes images as new PNGs into `dir`, named `<base><suffix>.png`, never replacing a file:
    /// where one of the names is taken, `<base>-2<suffix>.png`, `-3`, ... (two saves in one
    /// second, or from two windows).
    pub fn save_new_images(&self, dir: PathBuf, base: String, images: Vec<(String, DynamicImage)>) {
        self.run("save-images", move || {
            Outcome::Saved(save_new_pngs(&dir, &base, &images))
        })
    }
}

/// Starts a named thread; a failure to start is logged (the job's result never comes, and
/// the UI keeps working).
fn spawn_named(name: &str, job: impl FnOnce() + Send + 'static) {
    if let Err(err) = std::thread::Builder::new().name(name.into()).spawn(job) {
        log::error!("could not start the {name} thread: {err}");
    }
}

fn thumbnail(job: &ThumbnailJob) -> Result<PairThumbnail, String> {
    let (input, target) =
        load_pair_images(&job.entry, job.direction, job.synth).map_err(|err| err.to_string())?;
    let small =
        |image: &DynamicImage| color_image(&image.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX).to_rgb8());
    Ok((small(&input), small(&target)))
}

/// What the preprocessing does to a pair with `jitter`, in words.
fn describe(config: &AugmentConfig, jitter: Jitter) -> String {
    let (size, load) = (
        config.image_size_px,
        config.load_size_px.max(config.image_size_px),
    );
    let resize = match config.preprocess {
        Preprocess::ResizeAndCrop => format!("resized to {load}×{load}, "),
        Preprocess::ScaleWidth | Preprocess::ScaleWidthAndCrop => {
            format!("resized to {load} px wide, ")
        }
        Preprocess::Crop | Preprocess::None => String::new(),
    };
    let crop = if config.preprocess.fixed_size() {
        format!(
            "a {size}×{size} crop at {:.0}% across and {:.0}% down the room left",
            100.0 * jitter.crop_x,
            100.0 * jitter.crop_y
        )
    } else {
        "not cropped".to_string()
    };
    let flip = if jitter.flip {
        "mirrored left to right"
    } else if config.flip {
        "not mirrored this time (half the draws are)"
    } else {
        "never mirrored (flips are off)"
    };
    format!("{resize}{crop}, {flip}")
}

/// See [`Background::save_new_images`].
fn save_new_pngs(
    dir: &Path,
    base: &str,
    images: &[(String, DynamicImage)],
) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let encoded = images
        .iter()
        .map(|(suffix, image)| {
            let mut bytes = std::io::Cursor::new(Vec::new());
            image
                .write_to(&mut bytes, image::ImageFormat::Png)
                .map(|()| (suffix, bytes.into_inner()))
                .map_err(|err| format!("{}{suffix}.png: {err}", dir.join(base).display()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    for attempt in 1..=1000 {
        let stem = if attempt == 1 {
            base.to_string()
        } else {
            format!("{base}-{attempt}")
        };
        let paths: Vec<PathBuf> = encoded
            .iter()
            .map(|(suffix, _)| dir.join(format!("{stem}{suffix}.png")))
            .collect();
        if paths.iter().any(|path| path.exists()) {
            continue;
        }
        let mut written = Vec::new();
        for (path, (_, bytes)) in paths.iter().zip(&encoded) {
            if write_atomic_new(path, bytes).map_err(|err| err.to_string())? {
                written.push(path);
            } else {
                break; // another save took this name meanwhile: the next one
            }
        }
        if written.len() == paths.len() {
            return Ok(format!("saved {}", paths[0].display()));
        }
        for path in written {
            let _ = std::fs::remove_file(path);
        }
    }
    Err(format!("{}: no free name for {base}", dir.display()))
}

fn save_pngs(dir: &Path, images: &[(String, DynamicImage)]) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    for (name, image) in images {
        let path = dir.join(name);
        let mut bytes = std::io::Cursor::new(Vec::new());
        image
            .write_to(&mut bytes, image::ImageFormat::Png)
            .map_err(|err| format!("{}: {err}", path.display()))?;
        write_atomic(&path, bytes.get_ref()).map_err(|err| err.to_string())?;
    }
    Ok(format!(
        "saved {} image(s) to {}",
        images.len(),
        dir.display()
    ))
}
