//! Translation: a generator from a run folder, a checkpoint, or imported reference weights
//! (`.pth` / `.safetensors`, architecture given or read from the key shapes), applied to images
//! of any size with an explicit choice of normalisation and dropout.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use image::DynamicImage;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::config::run_folder;
use crate::data::augment::{FILTER, FitMode, Undo, fit_to_multiple};
use crate::data::convert::{image_to_planar, planar_to_tensor, tensor_to_images};
use crate::error::{Error, Result};
use crate::inference::shared_norm::{SharedStatistics, StatisticsPool, needs_pooling};
use crate::inference::tiling::{AUTO_TILE_ABOVE_PX, Tiles, Tiling, pool_tiles, translate_tiled};
use crate::model::blocks::NormKind;
use crate::model::pytorch::{StateDict, generator_from_dict, load_generator};
use crate::model::{Dropout, NormMode, UnetGenerator, UnetGeneratorConfig};
use crate::platform::bundled::DemoModel;
use crate::util::seed::{derived_rng, stream};

/// Where the generator comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelSource {
    /// A run folder: its latest checkpoint.
    RunDir(PathBuf),
    /// One checkpoint folder.
    Checkpoint(PathBuf),
    /// A demo model shipped inside the binary.
    Demo(DemoModel),
    /// A reference state dict; the architecture is read from the key shapes when not given.
    Weights {
        /// The `.pth` or `.safetensors` file.
        path: PathBuf,
        /// The architecture, if known.
        architecture: Option<UnetGeneratorConfig>,
    },
}

impl ModelSource {
    /// What a path holds: a run folder (`latest.json`), a checkpoint or model folder
    /// (`generator.safetensors`), or a weights file (architecture read from its keys).
    pub fn from_path(path: &Path) -> Result<Self> {
        if path.join("latest.json").is_file() {
            Ok(ModelSource::RunDir(path.to_path_buf()))
        } else if path.join("generator.safetensors").is_file() {
            Ok(ModelSource::Checkpoint(path.to_path_buf()))
        } else if path.is_file() {
            Ok(ModelSource::Weights {
                path: path.to_path_buf(),
                architecture: None,
            })
        } else {
            let reason = if path.is_dir() {
                "neither a run folder (latest.json) nor a checkpoint (generator.safetensors)"
            } else {
                "no such model file or folder"
            };
            Err(Error::Checkpoint {
                path: path.to_path_buf(),
                reason: reason.into(),
            })
        }
    }

    /// What identifies the weights this source names right now: the file they are read from
    /// (a run's latest checkpoint moves as it trains) with its size and modification time. A
    /// cached model is current while this stays equal; a resumed run, a re-exported folder or a
    /// replaced file change it.
    pub fn weights_stamp(&self) -> Result<WeightsStamp> {
        let file = match self {
            ModelSource::RunDir(dir) => run_folder::latest(dir)?
                .ok_or_else(|| Error::Checkpoint {
                    path: dir.clone(),
                    reason: "the run has no checkpoint yet (latest.json is missing)".into(),
                })?
                .join("generator.safetensors"),
            ModelSource::Checkpoint(dir) => dir.join("generator.safetensors"),
            ModelSource::Weights { path, .. } => path.clone(),
            // Inside the binary: it never changes while the program runs.
            ModelSource::Demo(model) => {
                return Ok(WeightsStamp {
                    file: demo_path(*model),
                    modified: None,
                    len: model.generator_safetensors().len() as u64,
                });
            }
        };
        let metadata = std::fs::metadata(&file).map_err(|err| Error::io(&file, err))?;
        Ok(WeightsStamp {
            modified: metadata.modified().ok(),
            len: metadata.len(),
            file,
        })
    }
}

/// How an embedded demo model is named in messages (it has no file).
fn demo_path(model: DemoModel) -> PathBuf {
    PathBuf::from(format!("<built-in demo model {}>", model.name()))
}

/// The identity of a weights file at one moment: see [`ModelSource::weights_stamp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsStamp {
    /// The file the generator is read from.
    pub file: PathBuf,
    /// Its modification time, where the platform has one.
    pub modified: Option<std::time::SystemTime>,
    /// Its size in bytes.
    pub len: u64,
}

/// How an image of any size meets the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SizeMode {
    /// Resize to the trained size (the reference's way), then the result back to the input's.
    #[default]
    #[value(name = "trained")]
    TrainedSize,
    /// Keep the input's size: pad it to a multiple of 2^num_downs and crop the result back.
    Pad,
    /// Keep roughly the input's size: resize to the nearest multiples and back.
    Resize,
}

/// The inference choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranslateOptions {
    /// Batch statistics (the reference's default test behaviour) or running statistics (its
    /// `--eval`).
    pub norm: NormMode,
    /// Dropout with masks from this seed (the reference keeps dropout on at test time), or off.
    pub dropout_seed: Option<u64>,
    /// Size handling.
    pub size: SizeMode,
    /// Whether an image translated at its own size is cut into tiles.
    #[serde(default)]
    pub tiling: Tiling,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            norm: NormMode::BatchStats,
            dropout_seed: None,
            size: SizeMode::TrainedSize,
            tiling: Tiling::Off,
        }
    }
}

/// The inference modes people argue over, side by side: each normalisation (batch statistics,
/// the reference's default at test time; running statistics, its `--eval`) with dropout off
/// and with dropout on under each of `seeds` (the reference keeps it on). Row by row: a
/// label for people, and the options.
pub fn inference_modes(size: SizeMode, seeds: &[u64]) -> Vec<(String, TranslateOptions)> {
    let norms = [
        (NormMode::BatchStats, "batch statistics"),
        (NormMode::RunningStats, "running statistics"),
    ];
    let dropouts = std::iter::once(None).chain(seeds.iter().copied().map(Some));
    norms
        .into_iter()
        .flat_map(|(norm, norm_name)| {
            dropouts.clone().map(move |dropout_seed| {
                let dropout = dropout_seed.map_or_else(
                    || "dropout off".to_string(),
                    |seed| format!("dropout seed {seed}"),
                );
                let options = TranslateOptions {
                    norm,
                    dropout_seed,
                    size,
                    tiling: Tiling::Off,
                };
                (format!("{norm_name}, {dropout}"), options)
            })
        })
        .collect()
}

/// A loaded generator ready to translate (a clone shares the weights).
#[derive(Clone, Debug)]
pub struct Translator {
    generator: UnetGenerator,
    trained_size_px: u32,
    device: Device,
    description: String,
}

impl Translator {
    /// Loads the generator of `source` on `device`.
    pub fn load(source: &ModelSource, device: &Device) -> Result<Self> {
        let device = device.clone().inner();
        match source {
            ModelSource::RunDir(dir) => {
                let checkpoint = run_folder::latest(dir)?.ok_or_else(|| Error::Checkpoint {
                    path: dir.clone(),
                    reason: "the run has no checkpoint yet (latest.json is missing)".into(),
                })?;
                Self::from_checkpoint(&checkpoint, &device)
            }
            ModelSource::Checkpoint(dir) => Self::from_checkpoint(dir, &device),
            ModelSource::Demo(model) => Self::from_demo(*model, &device),
            ModelSource::Weights { path, architecture } => {
                // Read once: the architecture comes from the keys and shapes, the weights after.
                let dict = StateDict::read(path)?;
                let config = match architecture {
                    Some(config) => config.clone(),
                    None => infer_architecture(&dict, path)?,
                };
                let generator = generator_from_dict(dict, &config, &device)?;
                Ok(Self {
                    trained_size_px: config.size_multiple() as u32,
                    description: format!(
                        "{} (U-Net num_downs {}, ngf {}, {:?} norm)",
                        path.display(),
                        config.num_downs,
                        config.ngf,
                        config.norm
                    ),
                    generator,
                    device,
                })
            }
        }
    }

    fn from_checkpoint(dir: &Path, device: &Device) -> Result<Self> {
        let config = run_folder::read_config(dir)?;
        let generator = load_generator(
            &dir.join("generator.safetensors"),
            &config.training.generator,
            device,
        )?;
        Ok(Self {
            generator,
            trained_size_px: config.data.image_size_px,
            device: device.clone(),
            description: format!("{}", dir.display()),
        })
    }

    fn from_demo(model: DemoModel, device: &Device) -> Result<Self> {
        let name = demo_path(model);
        let config: RunConfig =
            serde_json::from_slice(model.config_json()).map_err(|err| Error::Checkpoint {
                path: name.join("config.json"),
                reason: format!("unreadable JSON ({err})"),
            })?;
        let dict = StateDict::from_safetensors(
            model.generator_safetensors(),
            &name.join("generator.safetensors"),
        )?;
        Ok(Self {
            generator: generator_from_dict(dict, &config.training.generator, device)?,
            trained_size_px: config.data.image_size_px,
            device: device.clone(),
            description: format!("the demo model ({})", model.name()),
        })
    }

    /// A translator around a generator in memory (the run being trained).
    pub fn from_generator(generator: UnetGenerator, trained_size_px: u32, device: &Device) -> Self {
        let device = device.clone().inner();
        Self {
            // `valid` drops autodiff: the translator works on a plain copy of the weights.
            generator: burn::module::Module::valid(&generator),
            trained_size_px,
            description: "the current run".into(),
            device,
        }
    }

    /// Where the weights came from, for people.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The generator.
    pub fn generator(&self) -> &UnetGenerator {
        &self.generator
    }

    /// The side in pixels the model was trained at (the `trained` size mode's size).
    pub fn trained_size_px(&self) -> u32 {
        self.trained_size_px
    }

    /// The generator's architecture.
    pub fn config(&self) -> &UnetGeneratorConfig {
        self.generator.config()
    }

    /// The tiles `image` is translated in under `options`, if it is tiled: always with
    /// [`Tiling::Tiles`]; with [`Tiling::Auto`] when it is translated at its own size and larger
    /// than [`AUTO_TILE_ABOVE_PX`] on a side.
    pub fn tiles_for(
        &self,
        image: &DynamicImage,
        options: &TranslateOptions,
    ) -> Result<Option<Tiles>> {
        let multiple = self.generator.config().size_multiple() as u32;
        let resolve = |size| Tiles::resolve(size, self.trained_size_px, multiple).map(Some);
        match options.tiling {
            Tiling::Off => Ok(None),
            Tiling::Tiles(size) => resolve(size),
            Tiling::Auto => {
                let own_size = options.size != SizeMode::TrainedSize;
                let large = image.width().max(image.height()) > AUTO_TILE_ABOVE_PX;
                if own_size && large {
                    resolve(Default::default())
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// Translates one image; the result has the input's size.
    pub fn translate(
        &self,
        image: &DynamicImage,
        options: &TranslateOptions,
    ) -> Result<DynamicImage> {
        self.translate_with(image, options, None, &mut |_, _| {})
    }

    /// [`Self::translate`], normalising with `shared` statistics when given (the frames of a
    /// video, [`Self::pool_statistics`]) and reporting tiles done of tiles in all when the
    /// image is tiled.
    pub fn translate_with(
        &self,
        image: &DynamicImage,
        options: &TranslateOptions,
        shared: Option<&SharedStatistics>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<DynamicImage> {
        let shared = shared.filter(|_| needs_pooling(self.config().norm, options.norm));
        if let Some(tiles) = self.tiles_for(image, options)? {
            if options.dropout_seed.is_some() {
                return Err(Error::InvalidConfig(
                    "dropout noise would differ from tile to tile and show as seams: translate \
                     tiled images with dropout off"
                        .into(),
                ));
            }
            let (working, undo) = self.tiled_working_image(image, options.size);
            let output = translate_tiled(
                &self.generator,
                &self.device,
                &working,
                options.norm,
                tiles,
                shared,
                progress,
            )?;
            return Ok(match undo {
                Some(undo) => undo.apply(&output),
                None => output,
            });
        }
        if shared.is_some() && options.dropout_seed.is_some() {
            return Err(Error::InvalidConfig(
                "dropout noise would differ from frame to frame: translate with shared \
                 statistics with dropout off"
                    .into(),
            ));
        }
        let original = (image.width(), image.height());
        let (input, undo) = self.network_input(image, options.size);
        let output = match shared {
            Some(shared) => {
                let mut normaliser = shared.normaliser(&self.device);
                self.generator
                    .forward_normalised(input, &mut normaliser, Dropout::Off)?
            }
            None => {
                let masks = match options.dropout_seed {
                    Some(seed) => {
                        let mut rng = derived_rng(seed, stream::DROPOUT, 0);
                        self.generator
                            .sample_dropout_masks(input.dims(), &mut rng, &self.device)
                    }
                    None => Vec::new(),
                };
                let dropout = if options.dropout_seed.is_some() {
                    Dropout::Masks(&masks)
                } else {
                    Dropout::Off
                };
                self.generator.forward(input, options.norm, dropout)?
            }
        };
        let output = tensor_to_images(output)?
            .pop()
            .ok_or_else(|| Error::Backend("the generator returned no image".into()))?;
        Ok(match undo {
            Some(undo) => undo.apply(&output),
            None if (output.width(), output.height()) != original => {
                output.resize_exact(original.0, original.1, FILTER)
            }
            None => output,
        })
    }

    /// Adds what the network's norm layers see on `image`, as [`Self::translate`] would feed
    /// it under `options` (in tiles when it would be tiled), to `pool`: the frames of a video
    /// pooled for one normalisation.
    pub fn pool_statistics(
        &self,
        pool: &mut StatisticsPool,
        image: &DynamicImage,
        options: &TranslateOptions,
    ) -> Result<()> {
        match self.tiles_for(image, options)? {
            Some(tiles) => {
                let (working, _) = self.tiled_working_image(image, options.size);
                pool_tiles(pool, &self.generator, &self.device, &working, tiles)
            }
            None => pool.add(&self.generator, self.network_input(image, options.size).0),
        }
    }

    /// The `[1, C, H, W]` input `image` becomes under `size`, and how to bring an output of
    /// its size back (`None`: resize back to the image's size, if it differs).
    fn network_input(&self, image: &DynamicImage, size: SizeMode) -> (Tensor<4>, Option<Undo>) {
        let config = self.generator.config();
        let multiple = config.size_multiple() as u32;
        let (fitted, undo) = match size {
            SizeMode::TrainedSize => {
                let side = self.trained_size_px.max(multiple);
                (image.resize_exact(side, side, FILTER), None)
            }
            SizeMode::Pad => {
                let fitted = fit_to_multiple(image, multiple, FitMode::Pad);
                (fitted.image, Some(fitted.undo))
            }
            SizeMode::Resize => {
                let fitted = fit_to_multiple(image, multiple, FitMode::Resize);
                (fitted.image, Some(fitted.undo))
            }
        };
        let channels = config.input_channels;
        let (width, height) = (fitted.width() as usize, fitted.height() as usize);
        let input = planar_to_tensor(
            vec![image_to_planar(&fitted, channels)],
            [channels, height, width],
            &self.device,
        );
        (input, undo)
    }

    /// The image tiles are cut from: the image itself (tiles pad its edges, so the trained-size
    /// mode's resize does not apply), or resized to the nearest multiples in the resize mode.
    fn tiled_working_image<'a>(
        &self,
        image: &'a DynamicImage,
        size: SizeMode,
    ) -> (Cow<'a, DynamicImage>, Option<Undo>) {
        match size {
            SizeMode::Resize => {
                let multiple = self.generator.config().size_multiple() as u32;
                let fitted = fit_to_multiple(image, multiple, FitMode::Resize);
                (Cow::Owned(fitted.image), Some(fitted.undo))
            }
            SizeMode::Pad | SizeMode::TrainedSize => (Cow::Borrowed(image), None),
        }
    }
}

/// Reads a U-Net's architecture from a reference state dict's keys and shapes: depth from the
/// nesting, `ngf` and channels from the outermost convolutions, the norm from which keys exist,
/// skip connections from the up convolution's input width. Dropout has no weights; it is
/// assumed on, as in the reference's default.
pub fn infer_architecture(dict: &StateDict, path: &Path) -> Result<UnetGeneratorConfig> {
    let mut dict_keys: Vec<&str> = dict.keys().collect();
    // Checkpoints saved through a wrapper (`module.`, `state_dict.`) are read as the loader does.
    let prefix = dict_keys
        .iter()
        .find_map(|key| key.strip_suffix("model.model.0.weight"))
        .unwrap_or("")
        .to_string();
    dict_keys.retain(|key| key.starts_with(&prefix));
    let shape = |key: &str| dict.shape(&format!("{prefix}{key}")).map(<[usize]>::to_vec);
    let not_unet = |reason: &str| Error::WeightFile {
        path: path.to_path_buf(),
        reason: format!("not a reference U-Net generator: {reason}"),
    };
    // A convolution weight has four dimensions; a file may hold anything (a 0-d tensor).
    let conv_shape = |key: &str| match shape(key) {
        Some(dims) if dims.len() == 4 => Ok([dims[0], dims[1]]),
        Some(dims) => Err(not_unet(&format!(
            "`{key}` has shape {dims:?}, a convolution weight has 4 dimensions"
        ))),
        None => Err(not_unet(&format!("no `{key}`"))),
    };
    let [ngf, input_channels] = conv_shape("model.model.0.weight")?;
    let [last_in, output_channels] = conv_shape("model.model.3.weight")?;
    let mut depth = 1;
    while dict_keys.iter().any(|key| {
        key.starts_with(&format!(
            "{prefix}model.model.1.model.{}",
            "3.model.".repeat(depth)
        ))
    }) {
        depth += 1;
    }
    let num_downs = depth + 1;
    let norm = if dict_keys.iter().any(|key| key.ends_with("running_mean")) {
        NormKind::Batch
    } else if shape("model.model.0.bias").is_some() {
        NormKind::Instance
    } else {
        NormKind::None
    };
    let config = UnetGeneratorConfig::new()
        .with_input_channels(input_channels)
        .with_output_channels(output_channels)
        .with_num_downs(num_downs)
        .with_ngf(ngf)
        .with_norm(norm)
        .with_skip_connections(last_in == 2 * ngf);
    config
        .validate()
        .map_err(|err| not_unet(&err.to_string()))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modes_grid_has_both_normalisations_with_dropout_off_and_each_seed() {
        let modes = inference_modes(SizeMode::Pad, &[1, 2]);
        let labels: Vec<&str> = modes.iter().map(|(label, _)| label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "batch statistics, dropout off",
                "batch statistics, dropout seed 1",
                "batch statistics, dropout seed 2",
                "running statistics, dropout off",
                "running statistics, dropout seed 1",
                "running statistics, dropout seed 2",
            ]
        );
        let default_mode = TranslateOptions {
            size: SizeMode::Pad,
            ..TranslateOptions::default()
        };
        assert_eq!(modes[0].1, default_mode);
        assert_eq!(modes[5].1.norm, NormMode::RunningStats);
        assert_eq!(modes[5].1.dropout_seed, Some(2));
    }
}
