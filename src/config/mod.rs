//! A run's configuration, below training and inference: what a run is set up with
//! (`TrainingConfig`, `RunConfig`), the options a person sets (`RunOptions`), the learning-rate
//! schedule, and the run folder's files as every reader of a run reads them.

pub mod options;
pub mod run;
pub mod run_folder;
pub mod schedule;

pub use options::RunOptions;
pub use run::{
    DataConfig, DiscriminatorNet, GanMode, GeneratorNet, Intervals, RunConfig, TrainingConfig,
    fitting_num_downs,
};
