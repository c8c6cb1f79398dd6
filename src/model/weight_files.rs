//! The files state dicts live in: `.safetensors` (read and written, f32 or f16) and PyTorch's
//! `.pth` / `.pt` pickles of any layout `torch.save` writes (read), each entry held on the host
//! as a [`HostTensor`] until a network takes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::Dtype;

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

/// Writes `entries` with floats as `float_dtype` (F32 or F16).
pub(super) fn write_safetensors(
    entries: &[(String, HostTensor)],
    path: &Path,
    float_dtype: Dtype,
) -> Result<()> {
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
    /// The file, for messages.
    pub(super) path: PathBuf,
    /// The entries not consumed yet.
    pub(super) tensors: BTreeMap<String, HostTensor>,
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
