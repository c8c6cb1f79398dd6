//! The reference's state dicts key for key: which key holds which layer, from its module
//! tree (the U-Net's recursive `UnetSkipConnectionBlock`s, `model.model.1.model.3.model...`,
//! and the discriminator's flat `nn.Sequential`, `model.<i>`, or `net.<i>` for the PixelGAN),
//! networks built from a [`StateDict`] and written as one, BatchNorm statistics included. The
//! files themselves (`.pth`, `.safetensors`) are read and written in [`super::weight_files`].

use std::path::Path;

use burn::module::{Param, ParamId};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::Dtype;

use super::blocks::{BatchNorm2d, Conv, ConvTranspose, Norm2d, NormKind};
use super::discriminator::{DiscLayer, PatchDiscriminator, PatchDiscriminatorConfig, padding};
use super::generator::{LevelSpec, UnetGenerator, UnetGeneratorConfig, UnetLevel};
use super::weight_files::write_safetensors;
pub use super::weight_files::{HostTensor, StateDict};
use crate::error::{Error, Result};
use crate::platform::readback::host_data;

/// Where the reference keeps each layer of one U-Net level: the key prefix of each layer
/// (`<prefix>.weight`, `.bias`, `.running_mean`, ...); empty where the level has no such norm.
pub struct LevelKeys {
    /// The down convolution.
    pub down_conv: String,
    /// The norm after it.
    pub down_norm: String,
    /// The up (transposed) convolution.
    pub up_conv: String,
    /// The norm after it.
    pub up_norm: String,
}

/// The key prefixes of the U-Net level at `depth` (0 = outermost) of a `num_downs`-level net.
pub fn level_keys(depth: usize, num_downs: usize) -> LevelKeys {
    let prefix = if depth == 0 {
        "model.model.".to_string()
    } else {
        format!("model.model.1.model.{}", "3.model.".repeat(depth - 1))
    };
    let at = |index: usize| format!("{prefix}{index}");
    if depth == 0 {
        // [Conv, sub-block, ReLU, ConvTranspose, Tanh]
        LevelKeys {
            down_conv: at(0),
            down_norm: String::new(),
            up_conv: at(3),
            up_norm: String::new(),
        }
    } else if depth + 1 == num_downs {
        // innermost: [LeakyReLU, Conv, ReLU, ConvTranspose, Norm]
        LevelKeys {
            down_conv: at(1),
            down_norm: String::new(),
            up_conv: at(3),
            up_norm: at(4),
        }
    } else {
        // [LeakyReLU, Conv, Norm, sub-block, ReLU, ConvTranspose, Norm, (Dropout)]
        LevelKeys {
            down_conv: at(1),
            down_norm: at(2),
            up_conv: at(5),
            up_norm: at(6),
        }
    }
}

fn disc_keys(config: &PatchDiscriminatorConfig, sequential_index: usize) -> (String, String) {
    let root = if config.n_layers == 0 { "net" } else { "model" };
    (
        format!("{root}.{sequential_index}"),
        format!("{root}.{}", sequential_index + 1),
    )
}

/// The first key of a generator state dict, used to find the dict inside a wrapper.
const GENERATOR_ANCHOR: &str = "model.model.0.weight";

/// Loads a reference generator state dict into a generator of architecture `config`.
pub fn load_generator(
    path: &Path,
    config: &UnetGeneratorConfig,
    device: &Device,
) -> Result<UnetGenerator> {
    config.validate()?;
    generator_from_dict(StateDict::read(path)?, config, device)
}

/// A generator of architecture `config` from a reference state dict already read.
pub fn generator_from_dict(
    mut dict: StateDict,
    config: &UnetGeneratorConfig,
    device: &Device,
) -> Result<UnetGenerator> {
    config.validate()?;
    dict.strip_wrapper(GENERATOR_ANCHOR);
    let mut levels = Vec::new();
    for spec in config.level_specs() {
        let keys = level_keys(spec.depth, config.num_downs);
        levels.push(read_level(&mut dict, &spec, &keys, config.norm, device)?);
    }
    dict.finish()?;
    Ok(UnetGenerator::from_levels(config.clone(), levels))
}

fn read_level(
    dict: &mut StateDict,
    spec: &LevelSpec,
    keys: &LevelKeys,
    norm: NormKind,
    device: &Device,
) -> Result<UnetLevel> {
    // Conv2d weights are [out, in, k, k], ConvTranspose2d ones [in, out, k, k].
    let down_bias = spec.down_bias.then_some(spec.down_shape[0]);
    let (weight, bias) = dict.take_conv(&keys.down_conv, spec.down_shape, down_bias, device)?;
    let down = Conv::new(weight, bias, 2, 1);
    let down_norm = dict.take_norm(&keys.down_norm, spec.down_norm, norm, device)?;
    let up_bias = spec.up_bias.then_some(spec.up_shape[1]);
    let (weight, bias) = dict.take_conv(&keys.up_conv, spec.up_shape, up_bias, device)?;
    let up = ConvTranspose::new(weight, bias);
    let up_norm = dict.take_norm(&keys.up_norm, spec.up_norm, norm, device)?;
    Ok(UnetLevel::new(down, down_norm, up, up_norm, spec.dropout))
}

/// Loads a reference discriminator state dict into a discriminator of architecture `config`.
pub fn load_discriminator(
    path: &Path,
    config: &PatchDiscriminatorConfig,
    device: &Device,
) -> Result<PatchDiscriminator> {
    config.validate()?;
    let mut dict = StateDict::read(path)?;
    let (anchor, _) = disc_keys(config, 0);
    dict.strip_wrapper(&format!("{anchor}.weight"));
    let mut layers = Vec::new();
    for spec in config.layer_specs() {
        let (conv_key, norm_key) = disc_keys(config, spec.sequential_index);
        let bias = spec.bias.then_some(spec.shape[0]);
        let (weight, bias) = dict.take_conv(&conv_key, spec.shape, bias, device)?;
        let conv = Conv::new(weight, bias, spec.stride, padding(spec.shape[2]));
        let norm = dict.take_norm(&norm_key, spec.norm, config.norm, device)?;
        layers.push(DiscLayer::new(conv, norm, spec.activation));
    }
    dict.finish()?;
    Ok(PatchDiscriminator::from_layers(config.clone(), layers))
}

/// One layer of a network as its state dict sees it.
enum Layer<'a> {
    /// A convolution (plain or transposed): `.weight` and maybe `.bias`.
    Conv {
        weight: &'a Param<Tensor<4>>,
        bias: &'a Option<Param<Tensor<1>>>,
    },
    /// A norm: BatchNorm's parameters and statistics, or nothing.
    Norm(&'a Norm2d),
}

/// The generator's layers with their key prefixes, in the reference's state-dict order: each
/// block's down path, then its sub-block, then its up path (all down layers outermost first,
/// then all up layers innermost first).
fn generator_layers(generator: &UnetGenerator) -> Vec<(String, Layer<'_>)> {
    let num_downs = generator.config().num_downs;
    let mut layers = Vec::new();
    for (depth, level) in generator.levels.iter().enumerate() {
        let keys = level_keys(depth, num_downs);
        let conv = Layer::Conv {
            weight: &level.down.weight,
            bias: &level.down.bias,
        };
        layers.push((keys.down_conv, conv));
        layers.push((keys.down_norm, Layer::Norm(&level.down_norm)));
    }
    for (depth, level) in generator.levels.iter().enumerate().rev() {
        let keys = level_keys(depth, num_downs);
        let conv = Layer::Conv {
            weight: &level.up.weight,
            bias: &level.up.bias,
        };
        layers.push((keys.up_conv, conv));
        layers.push((keys.up_norm, Layer::Norm(&level.up_norm)));
    }
    layers
}

/// The discriminator's layers with their key prefixes, in state-dict order.
fn discriminator_layers(discriminator: &PatchDiscriminator) -> Vec<(String, Layer<'_>)> {
    let config = discriminator.config();
    let mut layers = Vec::new();
    for (spec, layer) in config.layer_specs().iter().zip(&discriminator.layers) {
        let (conv_key, norm_key) = disc_keys(config, spec.sequential_index);
        let conv = Layer::Conv {
            weight: &layer.conv.weight,
            bias: &layer.conv.bias,
        };
        layers.push((conv_key, conv));
        layers.push((norm_key, Layer::Norm(&layer.norm)));
    }
    layers
}

fn state_dict(layers: Vec<(String, Layer<'_>)>) -> Result<Entries> {
    let mut entries = Vec::new();
    for (key, layer) in layers {
        match layer {
            Layer::Conv { weight, bias } => push_conv(&mut entries, &key, weight, bias)?,
            Layer::Norm(norm) => push_norm(&mut entries, &key, norm)?,
        }
    }
    Ok(entries)
}

/// The learned parameters (what an optimiser updates) under their state-dict keys.
fn parameters(layers: Vec<(String, Layer<'_>)>) -> Vec<LearnedParam> {
    let mut learned = Vec::new();
    let mut push =
        |key: String, id: ParamId, len: usize| learned.push(LearnedParam { key, id, len });
    for (key, layer) in layers {
        match layer {
            Layer::Conv { weight, bias } => {
                push(
                    format!("{key}.weight"),
                    weight.id,
                    weight.shape().num_elements(),
                );
                if let Some(bias) = bias {
                    push(format!("{key}.bias"), bias.id, bias.shape().num_elements());
                }
            }
            Layer::Norm(norm) => {
                if let Some(batch) = &norm.batch {
                    push(
                        format!("{key}.weight"),
                        batch.gamma.id,
                        batch.gamma.shape().num_elements(),
                    );
                    push(
                        format!("{key}.bias"),
                        batch.beta.id,
                        batch.beta.shape().num_elements(),
                    );
                }
            }
        }
    }
    learned
}

/// A learned parameter: its key in the reference's state dict, burn's id, and its element count.
#[derive(Clone, Debug)]
pub struct LearnedParam {
    /// The reference's key, e.g. `model.model.0.weight`.
    pub key: String,
    /// The parameter's id in burn's module.
    pub id: ParamId,
    /// Number of elements (what each Adam moment must hold).
    pub len: usize,
}

/// The generator's weights under the reference's key names, in its state-dict order.
pub fn generator_state_dict(generator: &UnetGenerator) -> Result<Vec<(String, HostTensor)>> {
    state_dict(generator_layers(generator))
}

/// The discriminator's weights under the reference's key names, in its state-dict order.
pub fn discriminator_state_dict(
    discriminator: &PatchDiscriminator,
) -> Result<Vec<(String, HostTensor)>> {
    state_dict(discriminator_layers(discriminator))
}

/// The generator's learned parameters by key (for saving optimiser state by name).
pub fn generator_parameters(generator: &UnetGenerator) -> Vec<LearnedParam> {
    parameters(generator_layers(generator))
}

/// The discriminator's learned parameters by key.
pub fn discriminator_parameters(discriminator: &PatchDiscriminator) -> Vec<LearnedParam> {
    parameters(discriminator_layers(discriminator))
}

/// Writes the generator as `.safetensors` with the reference's key names.
pub fn save_generator(generator: &UnetGenerator, path: &Path) -> Result<()> {
    write_safetensors(&generator_state_dict(generator)?, path, Dtype::F32)
}

/// Writes the generator as `.safetensors` in half precision (f16): half the size, for shipping
/// a model; it loads like any other (values are widened back to f32).
pub fn save_generator_half(generator: &UnetGenerator, path: &Path) -> Result<()> {
    write_safetensors(&generator_state_dict(generator)?, path, Dtype::F16)
}

/// Writes the discriminator as `.safetensors` with the reference's key names.
pub fn save_discriminator(discriminator: &PatchDiscriminator, path: &Path) -> Result<()> {
    write_safetensors(&discriminator_state_dict(discriminator)?, path, Dtype::F32)
}

type Entries = Vec<(String, HostTensor)>;

fn push_conv(
    entries: &mut Entries,
    key: &str,
    weight: &Param<Tensor<4>>,
    bias: &Option<Param<Tensor<1>>>,
) -> Result<()> {
    entries.push((format!("{key}.weight"), to_host(weight.val())?));
    if let Some(bias) = bias {
        entries.push((format!("{key}.bias"), to_host(bias.val())?));
    }
    Ok(())
}

fn push_norm(entries: &mut Entries, key: &str, norm: &Norm2d) -> Result<()> {
    if let Some(batch) = &norm.batch {
        let (mean, var, count) = batch.statistics();
        entries.push((format!("{key}.weight"), to_host(batch.gamma.val())?));
        entries.push((format!("{key}.bias"), to_host(batch.beta.val())?));
        entries.push((format!("{key}.running_mean"), to_host(mean)?));
        entries.push((format!("{key}.running_var"), to_host(var)?));
        let mut count = to_host(count)?;
        count.shape.clear(); // a scalar in PyTorch
        entries.push((format!("{key}.num_batches_tracked"), count));
    }
    Ok(())
}

fn to_host<const D: usize>(tensor: Tensor<D>) -> Result<HostTensor> {
    let data = host_data(tensor, "weights")?;
    let shape = data.shape().to_vec();
    let values = data
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| Error::Backend(format!("weights are not f32: {err:?}")))?;
    Ok(HostTensor { shape, values })
}

/// Taking the entries of one layer out of a state dict, shape-checked, as tensors on `device`.
impl StateDict {
    fn take_shaped<const D: usize>(
        &mut self,
        key: &str,
        expected: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>> {
        let entry = self.take_entry(key).ok_or_else(|| Error::MissingKey {
            path: self.path.clone(),
            key: key.to_string(),
            expected: expected.to_vec(),
        })?;
        // The shape is checked before anything is read: what is read is what the network holds.
        if entry.shape != expected {
            return Err(Error::ShapeMismatch {
                path: self.path.clone(),
                key: key.to_string(),
                expected: expected.to_vec(),
                found: entry.shape,
            });
        }
        let values = entry.into_values(&self.path, key)?;
        Ok(Tensor::from_data(TensorData::new(values, expected), device))
    }

    /// Takes `{key}.weight` of `shape` and, where `bias_len` is given, `{key}.bias`.
    fn take_conv(
        &mut self,
        key: &str,
        shape: [usize; 4],
        bias_len: Option<usize>,
        device: &Device,
    ) -> Result<(Tensor<4>, Option<Tensor<1>>)> {
        let weight = self.take_shaped(&format!("{key}.weight"), shape, device)?;
        let bias = match bias_len {
            Some(len) => Some(self.take_shaped(&format!("{key}.bias"), [len], device)?),
            None => None,
        };
        Ok((weight, bias))
    }

    fn take_norm(
        &mut self,
        key: &str,
        channels: Option<usize>,
        kind: NormKind,
        device: &Device,
    ) -> Result<Norm2d> {
        let Some(c) = channels else {
            return Ok(Norm2d::identity());
        };
        if kind != NormKind::Batch {
            // InstanceNorm without affine parameters stores nothing (checkpoints from old
            // PyTorch versions may hold running statistics for it; they are ignored).
            for buffer in ["running_mean", "running_var", "num_batches_tracked"] {
                self.discard(&format!("{key}.{buffer}"));
            }
            return Ok(Norm2d::parameter_free(kind == NormKind::Instance));
        }
        let gamma = self.take_shaped(&format!("{key}.weight"), [c], device)?;
        let beta = self.take_shaped(&format!("{key}.bias"), [c], device)?;
        let mean = self.take_shaped(&format!("{key}.running_mean"), [c], device)?;
        let var = self.take_shaped(&format!("{key}.running_var"), [c], device)?;
        // Absent in checkpoints from PyTorch before 0.4.1, which PyTorch itself tolerates.
        let count_key = format!("{key}.num_batches_tracked");
        let count = match self.declared_len(&count_key) {
            None => 0.0,
            Some(1) => self
                .take_values(&count_key)?
                .and_then(|values| values.first().copied())
                .unwrap_or(0.0),
            Some(_) => {
                let found = self.shape(&count_key).map(<[usize]>::to_vec);
                return Err(Error::ShapeMismatch {
                    path: self.path.clone(),
                    key: count_key,
                    expected: Vec::new(),
                    found: found.unwrap_or_default(),
                });
            }
        };
        let count = Tensor::from_data(TensorData::new(vec![count], [1]), device);
        Ok(Norm2d::batch(BatchNorm2d::new(
            gamma, beta, mean, var, count,
        )))
    }
}
