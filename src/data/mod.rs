//! Paired data: finding and checking pairs in the layouts people have, pairs made from plain
//! photos, the reference's preprocessing, conversion to tensors and the prefetching loader.

pub mod augment;
pub mod convert;
pub mod decode;
pub mod discovery;
pub mod halves;
mod layouts;
pub mod loader;
pub mod names;
pub mod pairs;
pub mod report;
mod scan;
pub mod synth;

pub use augment::{AugmentConfig, Preprocess};
pub use discovery::{Dataset, discover};
pub use pairs::{Direction, DiscoverOptions, LayoutHint, PairEntry, PairFiles, Split};
pub use report::Report;
pub use synth::SynthTask;
