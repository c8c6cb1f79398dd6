//! One file per tab, plus the status bar and the model chooser they share.

pub mod data;
pub mod model_pick;
pub mod sketch;
pub mod status;
pub mod train;
pub mod translate;
