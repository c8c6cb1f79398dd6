//! The files state dicts live in: `.safetensors` (read and written, f32 or f16) and PyTorch's
//! `.pth` / `.pt` pickles of any layout `torch.save` writes (read). A file is read once: its
//! keys and shapes first, checked against [`MAX_FILE_VALUES`], and an entry's values only when a
//! network takes it with the shape it expects, so a file that declares more than any model
//! holds (a stride-0 view of one number as 50000 × 50000, say) is refused before it allocates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::Dtype;

use crate::error::{Error, Result};

/// The most values a weights file may declare, all entries together: 2^28 (1 GiB as f32). The
/// largest file this app writes is the optimiser state of a 256 px U-Net with ngf 64 and its
/// 70 × 70 PatchGAN (2 × 57.2 M values), so this is over twice that, and over four times the
/// largest model's weights.
pub const MAX_FILE_VALUES: usize = 1 << 28;

/// The largest `.safetensors` file read: its values at 8 bytes each (f64) and a header.
const MAX_SAFETENSORS_BYTES: u64 = (MAX_FILE_VALUES as u64) * 8 + (64 << 20);

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
    crate::platform::fs::write_atomic(path, &serialized)
}

/// A state-dict entry as its file declares it; its values are read when it is taken.
pub(super) struct Entry {
    /// Extents, outermost first.
    pub(super) shape: Vec<usize>,
    values: Values,
}

/// Reads a `.pth` entry's bytes from its file (pytorch-reader's handle).
type ReadBytes = Box<dyn Fn() -> std::io::Result<Vec<u8>> + Send + Sync>;

enum Values {
    /// Decoded with the file (a `.safetensors` file is read whole; its size is bounded first).
    Decoded(Vec<f32>),
    /// Read from the file when taken (`.pth`).
    Lazy { element: Element, read: ReadBytes },
}

impl Entry {
    /// The entry's values as `f32`; `path` and `key` name it in errors.
    pub(super) fn into_values(self, path: &Path, key: &str) -> Result<Vec<f32>> {
        match self.values {
            Values::Decoded(values) => Ok(values),
            Values::Lazy { .. } => self.read_values(path, key),
        }
    }

    /// The entry's values, read (again) from the file where they are not decoded yet.
    fn read_values(&self, path: &Path, key: &str) -> Result<Vec<f32>> {
        let expected: usize = self.shape.iter().product();
        let values = match &self.values {
            Values::Decoded(values) => values.clone(),
            Values::Lazy { element, read } => element.decode(
                &read().map_err(|err| weight_file(path, format!("reading `{key}`: {err}")))?,
            ),
        };
        if values.len() != expected {
            return Err(weight_file(
                path,
                format!(
                    "`{key}` holds {} values, its shape {:?} says {expected}",
                    values.len(),
                    self.shape
                ),
            ));
        }
        Ok(values)
    }
}

/// A state dict read from a file, consumed key by key while a network is built from it.
pub struct StateDict {
    /// The file, for messages.
    pub(super) path: PathBuf,
    /// The entries not consumed yet.
    pub(super) tensors: BTreeMap<String, Entry>,
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

    /// The shape an entry declares (nothing is read).
    pub fn shape(&self, key: &str) -> Option<&[usize]> {
        self.tensors.get(key).map(|entry| entry.shape.as_slice())
    }

    /// An entry's values, left in the dict (a `.pth` entry is read from the file again at each
    /// call); `None` when there is no such key.
    pub fn values(&self, key: &str) -> Result<Option<Vec<f32>>> {
        self.tensors
            .get(key)
            .map(|entry| entry.read_values(&self.path, key))
            .transpose()
    }

    /// How many values an entry declares (nothing is read).
    pub fn declared_len(&self, key: &str) -> Option<usize> {
        self.shape(key).map(|shape| shape.iter().product())
    }

    /// Where the dict sits inside a wrapper (`module.` from DataParallel, or a checkpoint
    /// dictionary such as `{"state_dict": ..., "optimizer": ...}`), strips that prefix so
    /// `anchor` is top level, and leaves out what the wrapper holds beside it (an optimiser's
    /// state, say: never read).
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
            .filter_map(|(key, entry)| {
                key.strip_prefix(&prefix)
                    .map(|stripped| (stripped.to_string(), entry))
            })
            .collect();
    }

    /// Takes an entry's values without a shape check (optimiser moments are stored flat);
    /// check [`Self::declared_len`] first, as reading is what allocates.
    pub fn take_values(&mut self, key: &str) -> Result<Option<Vec<f32>>> {
        match self.tensors.remove(key) {
            Some(entry) => entry.into_values(&self.path, key).map(Some),
            None => Ok(None),
        }
    }

    /// Takes an entry, to be read once its shape is checked (nothing is read here).
    pub(super) fn take_entry(&mut self, key: &str) -> Option<Entry> {
        self.tensors.remove(key)
    }

    /// Drops an entry unread.
    pub(super) fn discard(&mut self, key: &str) {
        self.tensors.remove(key);
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

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, Entry>> {
    let size = std::fs::metadata(path)
        .map_err(|err| Error::io(path, err))?
        .len();
    if size > MAX_SAFETENSORS_BYTES {
        return Err(weight_file(
            path,
            format!(
                "it is {size} bytes, more than a file of at most {MAX_FILE_VALUES} values can be \
                 (no model of this app is that large)"
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|err| Error::io(path, err))?;
    parse_safetensors(&bytes, path)
}

fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, Entry>> {
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|err| weight_file(path, format!("safetensors: {err}")))?;
    let mut declared = Declared::new(path);
    let mut elements = Vec::new();
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
        declared.add(name, view.shape())?;
        elements.push((name, element, view));
    }
    Ok(elements
        .into_iter()
        .map(|(name, element, view)| {
            let entry = Entry {
                shape: view.shape().to_vec(),
                values: Values::Decoded(element.decode(view.data())),
            };
            (name.to_string(), entry)
        })
        .collect())
}

fn read_pth(path: &Path) -> Result<BTreeMap<String, Entry>> {
    use pytorch_reader::DType;
    if !path.exists() {
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
        return Err(Error::io(path, not_found));
    }
    let reader = pytorch_reader::PytorchReader::new(path)
        .map_err(|err| weight_file(path, err.to_string()))?;
    let mut declared = Declared::new(path);
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
        declared.add(&name, tensor.shape())?;
        let (_, _, shape, read) = tensor.into_parts();
        let values = Values::Lazy {
            element,
            read: Box::new(read),
        };
        tensors.insert(name, Entry { shape, values });
    }
    Ok(tensors)
}

/// The values a file's entries declare, added up as they are listed: more than
/// [`MAX_FILE_VALUES`] (or an overflowing shape) refuses the file before anything is read.
struct Declared<'a> {
    path: &'a Path,
    total: usize,
}

impl<'a> Declared<'a> {
    fn new(path: &'a Path) -> Self {
        Self { path, total: 0 }
    }

    fn add(&mut self, name: &str, shape: &[usize]) -> Result<()> {
        let values = shape
            .iter()
            .try_fold(1usize, |product, &extent| product.checked_mul(extent));
        let total = values.and_then(|values| self.total.checked_add(values));
        match total {
            Some(total) if total <= MAX_FILE_VALUES => {
                self.total = total;
                Ok(())
            }
            _ => Err(weight_file(
                self.path,
                format!(
                    "it declares more than {MAX_FILE_VALUES} values (`{name}` has shape \
                     {shape:?}): no model of this app holds that many, so nothing was read"
                ),
            )),
        }
    }
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
