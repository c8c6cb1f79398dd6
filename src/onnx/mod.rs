//! ONNX export of the generator: the U-Net as a standard ONNX graph (opset 13–17, weights
//! embedded under the reference's state-dict keys), for onnxruntime (native, web, mobile),
//! TensorRT, OpenVINO, Unity Sentis, Core ML converters and tract.
//!
//! Normalisation is chosen at export, as `translate` chooses it at run time:
//! - batch statistics (the default, the reference's test behaviour): each image normalised by
//!   its own statistics, which at batch 1 is exactly `InstanceNormalization` with BatchNorm's
//!   γ and β; the batch axis is then fixed at 1, since a larger batch would pool statistics;
//! - running statistics (`translate --eval`): `BatchNormalization` with the stored mean and
//!   variance.
//!
//! Dropout is left out (it is off by default in `translate`). The graph takes and returns NCHW
//! f32 images in `[-1, 1]` (`pixel / 127.5 - 1`); the file's metadata says so.

mod graph;
mod proto;
mod unet;

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::Path;

use prost::Message;

use crate::error::{Error, Result};
use crate::inference::{ModelSource, Translator};
use crate::model::blocks::NormKind;
use crate::model::pytorch::{HostTensor, generator_state_dict};
use crate::model::{NormMode, UnetGenerator};
use crate::platform::device::DeviceChoice;
use graph::{Axis, GraphBuilder};
use proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto};
use unet::UnetGraph;

/// The opsets the graph can be written for: every operator it uses has its current meaning
/// from 13 on (and `BatchNormalization` its inference-only form from 15, which 13 and 14 read
/// the same way).
pub const OPSETS: RangeInclusive<i64> = 13..=17;
/// The opset written unless another is asked for (the newest here; every current runtime
/// reads it).
pub const DEFAULT_OPSET: i64 = 17;
/// The largest file protobuf can hold in one message; weights beyond it would need ONNX's
/// external-data files, which this exporter does not write.
const PROTOBUF_LIMIT_BYTES: usize = (1 << 31) - 1;

/// The size an exported graph accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnnxSize {
    /// Fixed at the size the model was trained at (the default).
    Trained,
    /// One height and width, fixed in the file (what some runtimes and compilers need).
    Fixed {
        /// Height in pixels.
        height: usize,
        /// Width in pixels.
        width: usize,
    },
    /// Any height and width (multiples of 2^num_downs), named `height` and `width`.
    Dynamic,
}

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnnxOptions {
    /// The ONNX opset, within [`OPSETS`].
    pub opset: i64,
    /// [`NormMode::BatchStats`] or [`NormMode::RunningStats`] (a training pass is no model).
    pub norm: NormMode,
    /// Fixed or dynamic height and width.
    pub size: OnnxSize,
}

impl Default for OnnxOptions {
    /// What `export -o model.onnx` writes: the newest opset, each image's own statistics (as
    /// `translate`), the trained size.
    fn default() -> Self {
        Self {
            opset: DEFAULT_OPSET,
            norm: NormMode::BatchStats,
            size: OnnxSize::Trained,
        }
    }
}

/// Writes the translator's generator to `path` as an ONNX model (where its weights came from
/// goes into the metadata). The file is written whole or not at all.
pub fn export_onnx(translator: &Translator, options: &OnnxOptions, path: &Path) -> Result<()> {
    let mut options = *options;
    if options.size == OnnxSize::Trained {
        let side = translator.trained_size_px() as usize;
        options.size = OnnxSize::Fixed {
            height: side,
            width: side,
        };
    }
    let bytes = onnx_model(translator.generator(), &options, translator.description()).map_err(
        |reason| Error::Export {
            path: path.to_path_buf(),
            reason,
        },
    )?;
    crate::platform::fs::write_atomic(path, &bytes)
}

/// Loads `source` on the CPU (exporting needs no GPU) and writes it to `path` as an ONNX model.
pub fn export_model_onnx(source: &ModelSource, options: &OnnxOptions, path: &Path) -> Result<()> {
    let device = crate::platform::device::select(DeviceChoice::Cpu)?.device;
    export_onnx(&Translator::load(source, &device)?, options, path)
}

/// The ONNX file's bytes for `generator`, or why it cannot be exported.
fn onnx_model(
    generator: &UnetGenerator,
    options: &OnnxOptions,
    source: &str,
) -> std::result::Result<Vec<u8>, String> {
    refuse_unexportable(generator, options)?;
    let config = generator.config();
    let mut unet = UnetGraph {
        graph: GraphBuilder::default(),
        weights: finite_weights(generator)?,
        norm_kind: config.norm,
        norm_mode: options.norm,
    };
    unet.build(generator)?;
    if unet.graph.weight_bytes() >= PROTOBUF_LIMIT_BYTES {
        return Err(format!(
            "the weights take {:.1} GB and one ONNX file holds at most 2 GB (external weight \
             files are not written): export a model with a smaller ngf",
            unet.graph.weight_bytes() as f64 / 1e9
        ));
    }
    let (input_axes, output_axes) = image_axes(generator, options)?;
    let image_doc = "NCHW float32 image in [-1, 1]: pixel / 127.5 - 1, RGB or grey";
    let graph = unet.graph.finish(
        "pix2pix_unet_generator",
        ("input", &input_axes, image_doc),
        ("output", &output_axes, image_doc),
    );
    let model = ModelProto {
        // IR 8 arrived with opset 15; 13 and 14 are IR 7.
        ir_version: if options.opset >= 15 { 8 } else { 7 },
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: options.opset,
        }],
        producer_name: "pix2pix-studio".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!(
            "pix2pix U-Net generator (num_downs {}, ngf {}, {}→{} channels)",
            config.num_downs, config.ngf, config.input_channels, config.output_channels
        ),
        graph: Some(graph),
        metadata_props: metadata(generator, options, source),
    };
    Ok(model.encode_to_vec())
}

/// Refuses what no file can hold: an opset outside [`OPSETS`], a training pass, a fixed size
/// the U-Net does not fit.
fn refuse_unexportable(
    generator: &UnetGenerator,
    options: &OnnxOptions,
) -> std::result::Result<(), String> {
    if !OPSETS.contains(&options.opset) {
        return Err(format!(
            "ONNX opset {} is not supported: choose {} to {} ({DEFAULT_OPSET} unless a runtime \
             needs an older one)",
            options.opset,
            OPSETS.start(),
            OPSETS.end()
        ));
    }
    if options.norm == NormMode::Train {
        return Err(
            "a training pass is not a model: export with batch or running statistics".into(),
        );
    }
    let multiple = generator.config().size_multiple();
    if let OnnxSize::Fixed { height, width } = options.size
        && (height == 0
            || width == 0
            || !height.is_multiple_of(multiple)
            || !width.is_multiple_of(multiple))
    {
        return Err(format!(
            "a {width}×{height} graph does not fit this U-Net: height and width must be \
             positive multiples of {multiple}"
        ));
    }
    Ok(())
}

/// The generator's weights by state-dict key; a diverged model (NaN or infinity) is refused.
fn finite_weights(
    generator: &UnetGenerator,
) -> std::result::Result<HashMap<String, HostTensor>, String> {
    let weights: HashMap<String, HostTensor> = generator_state_dict(generator)
        .map_err(|err| err.to_string())?
        .into_iter()
        .collect();
    if let Some((key, _)) = weights
        .iter()
        .find(|(_, tensor)| tensor.values.iter().any(|v| !v.is_finite()))
    {
        return Err(format!(
            "`{key}` holds NaN or infinity (the run diverged there): export an earlier checkpoint"
        ));
    }
    Ok(weights)
}

/// The input's and the output's NCHW axes: fixed, or named where the size is dynamic (the
/// batch fixed at 1 when each image is normalised by its own statistics).
fn image_axes(
    generator: &UnetGenerator,
    options: &OnnxOptions,
) -> std::result::Result<([Axis; 4], [Axis; 4]), String> {
    let config = generator.config();
    let per_image_statistics =
        options.norm == NormMode::BatchStats && config.norm == NormKind::Batch;
    let (batch, height, width) = match options.size {
        OnnxSize::Trained => return Err("no size given for the graph".into()),
        OnnxSize::Fixed { height, width } => {
            (Axis::Fixed(1), Axis::Fixed(height), Axis::Fixed(width))
        }
        OnnxSize::Dynamic if per_image_statistics => (
            Axis::Fixed(1),
            Axis::Symbol("height"),
            Axis::Symbol("width"),
        ),
        OnnxSize::Dynamic => (
            Axis::Symbol("batch"),
            Axis::Symbol("height"),
            Axis::Symbol("width"),
        ),
    };
    let input_axes = [
        batch.clone(),
        Axis::Fixed(config.input_channels),
        height.clone(),
        width.clone(),
    ];
    let output_axes = [batch, Axis::Fixed(config.output_channels), height, width];
    Ok((input_axes, output_axes))
}

/// The file's metadata: how to feed the graph and read its output, the normalisation, where
/// the model came from.
fn metadata(
    generator: &UnetGenerator,
    options: &OnnxOptions,
    source: &str,
) -> Vec<StringStringEntryProto> {
    let config = generator.config();
    let normalisation = match (config.norm, options.norm) {
        (NormKind::Batch, NormMode::RunningStats) => {
            "running statistics (BatchNormalization), like translate --eval"
        }
        (NormKind::Batch, _) => {
            "each image's own statistics (InstanceNormalization with BatchNorm's scale and shift, \
             batch 1), like translate and the reference's test.py"
        }
        (NormKind::Instance, _) => "instance normalisation",
        (NormKind::None, _) => "none",
    };
    let multiple = config.size_multiple().to_string();
    let entries = [
        (
            "pix2pix.input",
            "NCHW float32 in [-1, 1]: pixel / 127.5 - 1 (RGB, or grey for 1 channel)",
        ),
        (
            "pix2pix.output",
            "NCHW float32 in [-1, 1]: (value + 1) * 127.5 is the pixel",
        ),
        ("pix2pix.normalisation", normalisation),
        ("pix2pix.dropout", "left out (translate's default)"),
        ("pix2pix.size_multiple", &multiple),
        ("pix2pix.source", source),
    ];
    entries
        .iter()
        .map(|(key, value)| StringStringEntryProto {
            key: key.to_string(),
            value: value.to_string(),
        })
        .collect()
}
