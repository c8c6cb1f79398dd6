//! Import and export of the reference's PyTorch state dicts (`.pth` from
//! `torch.save(state_dict)`, or `.safetensors`), key for key, BatchNorm statistics included.
//!
//! The key names come from the reference's module tree: the U-Net's recursive
//! `UnetSkipConnectionBlock`s (`model.model.1.model.3.model...`) and the discriminator's flat
//! `nn.Sequential` (`model.<i>`, or `net.<i>` for the PixelGAN).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::{Param, ParamId};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::Dtype;

use super::blocks::{BatchNorm2d, Conv, ConvTranspose, Norm2d, NormKind};
use super::discriminator::{DiscLayer, PatchDiscriminator, PatchDiscriminatorConfig, padding};
use super::generator::{LevelSpec, UnetGenerator, UnetGeneratorConfig, UnetLevel};
use crate::error::{Error, Result};

/// A state-dict entry on the host: its shape and values. `num_batches_tracked` is the only
/// integer entry the networks have; it is held as `f32` here and written back as int64.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    /// Extents, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub values: Vec<f32>,
}

/// Where the reference keeps each layer of one U-Net level: `(prefix, index in its Sequential)`.
struct LevelKeys {
    down_conv: String,
    down_norm: String,
    up_conv: String,
    up_norm: String,
}

fn level_keys(depth: usize, num_downs: usize) -> LevelKeys {
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
    let data = tensor
        .try_into_data()
        .map_err(|err| Error::Backend(format!("reading weights back: {err:?}")))?;
    let shape = data.shape().to_vec();
    let values = data
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| Error::Backend(format!("weights are not f32: {err:?}")))?;
    Ok(HostTensor { shape, values })
}

/// Writes `entries` with floats as `float_dtype` (F32 or F16).
fn write_safetensors(entries: &Entries, path: &Path, float_dtype: Dtype) -> Result<()> {
    let bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = entries
        .iter()
        .map(|(key, tensor)| {
            if key.ends_with("num_batches_tracked") {
                let count = tensor.values.first().copied().unwrap_or(0.0) as i64;
                (
                    key.clone(),
                    Dtype::I64,
                    vec![],
                    count.to_le_bytes().to_vec(),
                )
            } else if float_dtype == Dtype::F16 {
                let data = tensor
                    .values
                    .iter()
                    .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                    .collect();
                (key.clone(), Dtype::F16, tensor.shape.clone(), data)
            } else {
                let data = tensor.values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (key.clone(), Dtype::F32, tensor.shape.clone(), data)
            }
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(key, dtype, shape, data)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), data)
                .map(|view| (key.as_str(), view))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| Error::Backend(format!("building safetensors: {err}")))?;
    let serialized = safetensors::serialize(views, None)
        .map_err(|err| Error::Backend(format!("serialising safetensors: {err}")))?;
    crate::fs::write_atomic(path, &serialized)
}

/// A state dict read from a file, consumed key by key while a network is built from it.
pub struct StateDict {
    path: PathBuf,
    tensors: BTreeMap<String, HostTensor>,
}

impl StateDict {
    /// Reads a `.safetensors` file, or a PyTorch `.pth` / `.pt` checkpoint of any layout
    /// `torch.save` writes.
    pub fn read(path: &Path) -> Result<Self> {
        let is_safetensors = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("safetensors"));
        let tensors = if is_safetensors {
            read_safetensors(path)?
        } else {
            read_pth(path)?
        };
        if tensors.is_empty() {
            return Err(weight_file(path, "it holds no tensors"));
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }

    /// A `.safetensors` file's bytes; `name` stands for the file in messages.
    pub fn from_safetensors(bytes: &[u8], name: &Path) -> Result<Self> {
        let tensors = parse_safetensors(bytes, name)?;
        if tensors.is_empty() {
            return Err(weight_file(name, "it holds no tensors"));
        }
        Ok(Self {
            path: name.to_path_buf(),
            tensors,
        })
    }

    /// The keys still unread.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Looks up an entry without consuming it.
    pub fn get(&self, key: &str) -> Option<&HostTensor> {
        self.tensors.get(key)
    }

    /// Where the dict sits inside a wrapper (`module.` from DataParallel, or a checkpoint
    /// dictionary such as `{"state_dict": ...}`), strips that prefix so `anchor` is top level.
    pub fn strip_wrapper(&mut self, anchor: &str) {
        if self.tensors.contains_key(anchor) {
            return;
        }
        let suffix = format!(".{anchor}");
        let Some(prefix) = self
            .tensors
            .keys()
            .find_map(|key| key.strip_suffix(&suffix).map(|p| format!("{p}.")))
        else {
            return;
        };
        self.tensors = std::mem::take(&mut self.tensors)
            .into_iter()
            .map(|(key, tensor)| match key.strip_prefix(&prefix) {
                Some(stripped) => (stripped.to_string(), tensor),
                None => (key, tensor),
            })
            .collect();
    }

    /// Takes an entry's values without a shape check (optimiser moments are stored flat).
    pub fn take_values(&mut self, key: &str) -> Option<Vec<f32>> {
        self.tensors.remove(key).map(|tensor| tensor.values)
    }

    fn take_shaped<const D: usize>(
        &mut self,
        key: &str,
        expected: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>> {
        let tensor = self.tensors.remove(key).ok_or_else(|| Error::MissingKey {
            path: self.path.clone(),
            key: key.to_string(),
            expected: expected.to_vec(),
        })?;
        if tensor.shape != expected {
            return Err(Error::ShapeMismatch {
                path: self.path.clone(),
                key: key.to_string(),
                expected: expected.to_vec(),
                found: tensor.shape,
            });
        }
        Ok(Tensor::from_data(
            TensorData::new(tensor.values, expected),
            device,
        ))
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
                self.tensors.remove(&format!("{key}.{buffer}"));
            }
            return Ok(Norm2d::parameter_free(kind == NormKind::Instance));
        }
        let gamma = self.take_shaped(&format!("{key}.weight"), [c], device)?;
        let beta = self.take_shaped(&format!("{key}.bias"), [c], device)?;
        let mean = self.take_shaped(&format!("{key}.running_mean"), [c], device)?;
        let var = self.take_shaped(&format!("{key}.running_var"), [c], device)?;
        // Absent in checkpoints from PyTorch before 0.4.1, which PyTorch itself tolerates.
        let count = self
            .tensors
            .remove(&format!("{key}.num_batches_tracked"))
            .and_then(|t| t.values.first().copied())
            .unwrap_or(0.0);
        let count = Tensor::from_data(TensorData::new(vec![count], [1]), device);
        Ok(Norm2d::batch(BatchNorm2d::new(
            gamma, beta, mean, var, count,
        )))
    }

    /// Fails if keys are left that the architecture has no place for.
    pub fn finish(self) -> Result<()> {
        if self.tensors.is_empty() {
            Ok(())
        } else {
            Err(Error::UnexpectedKeys {
                path: self.path,
                keys: self.tensors.into_keys().collect(),
            })
        }
    }
}

fn weight_file(path: &Path, reason: impl Into<String>) -> Error {
    Error::WeightFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, HostTensor>> {
    let bytes = std::fs::read(path).map_err(|err| Error::io(path, err))?;
    parse_safetensors(&bytes, path)
}

fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, HostTensor>> {
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|err| weight_file(path, format!("safetensors: {err}")))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.iter() {
        let element = match view.dtype() {
            Dtype::F32 => Element::F32,
            Dtype::F64 => Element::F64,
            Dtype::F16 => Element::F16,
            Dtype::BF16 => Element::BF16,
            Dtype::I64 => Element::I64,
            Dtype::I32 => Element::I32,
            other => return Err(unsupported(path, name, other)),
        };
        let tensor = HostTensor {
            shape: view.shape().to_vec(),
            values: element.decode(view.data()),
        };
        tensors.insert(name.to_string(), tensor);
    }
    Ok(tensors)
}

fn read_pth(path: &Path) -> Result<BTreeMap<String, HostTensor>> {
    use pytorch_reader::DType;
    if !path.exists() {
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
        return Err(Error::io(path, not_found));
    }
    let reader = pytorch_reader::PytorchReader::new(path)
        .map_err(|err| weight_file(path, err.to_string()))?;
    let mut tensors = BTreeMap::new();
    for (name, tensor) in reader.into_tensors() {
        let element = match tensor.dtype() {
            DType::F32 => Element::F32,
            DType::F64 => Element::F64,
            DType::F16 => Element::F16,
            DType::BF16 => Element::BF16,
            DType::I64 => Element::I64,
            DType::I32 => Element::I32,
            other => return Err(unsupported(path, &name, other)),
        };
        let bytes = tensor
            .read()
            .map_err(|err| weight_file(path, err.to_string()))?;
        let shape = tensor.shape().to_vec();
        let values = element.decode(&bytes);
        tensors.insert(name, HostTensor { shape, values });
    }
    Ok(tensors)
}

fn unsupported(path: &Path, name: &str, dtype: impl std::fmt::Debug) -> Error {
    weight_file(
        path,
        format!("tensor `{name}` has unsupported dtype {dtype:?}"),
    )
}

/// The element types a state dict of these networks can hold (both file formats store them
/// little-endian), all read as `f32`.
#[derive(Clone, Copy)]
enum Element {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
}

impl Element {
    fn decode(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            Self::F32 => decode_le::<4>(bytes, f32::from_le_bytes),
            Self::F64 => decode_le::<8>(bytes, |b| f64::from_le_bytes(b) as f32),
            Self::F16 => decode_le::<2>(bytes, |b| half::f16::from_le_bytes(b).to_f32()),
            Self::BF16 => decode_le::<2>(bytes, |b| half::bf16::from_le_bytes(b).to_f32()),
            Self::I64 => decode_le::<8>(bytes, |b| i64::from_le_bytes(b) as f32),
            Self::I32 => decode_le::<4>(bytes, |b| i32::from_le_bytes(b) as f32),
        }
    }
}

/// Decodes little-endian elements of `N` bytes each.
fn decode_le<const N: usize>(bytes: &[u8], decode: impl Fn([u8; N]) -> f32) -> Vec<f32> {
    bytes
        .chunks_exact(N)
        .map(|chunk| {
            let mut element = [0u8; N];
            element.copy_from_slice(chunk);
            decode(element)
        })
        .collect()
}
