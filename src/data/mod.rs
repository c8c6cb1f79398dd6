//! Paired data: finding and checking pairs in the layouts people have, pairs made from plain
//! photos, the reference's preprocessing, conversion to tensors and the prefetching loader.

pub mod augment;
pub mod convert;
pub mod decode;
pub mod halves;
pub mod loader;
pub mod pairs;
pub mod report;
pub mod synth;

pub use augment::{AugmentConfig, Preprocess};
pub use pairs::{
    Dataset, Direction, DiscoverOptions, LayoutHint, PairEntry, PairFiles, Split, discover,
};
pub use report::Report;
pub use synth::SynthTask;
