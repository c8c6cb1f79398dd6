//! Translating images with a trained or imported generator: the model sources and the
//! translator, images of any size in blended tiles with one set of statistics, drawings framed as a
//! model's training drawings were, and the files a translation job writes (one per input, each
//! recording its input, a machine's shard).

pub mod drawing_frame;
pub mod output_names;
pub mod png_file;
pub mod shard;
pub mod shared_norm;
pub mod tiling;
pub mod translator;

pub use translator::{
    ModelSource, SizeMode, TranslateOptions, Translator, WeightsStamp, infer_architecture,
    inference_modes,
};
