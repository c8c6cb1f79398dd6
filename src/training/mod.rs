//! Training: the losses, PyTorch-exact Adam, the state of a run and one training step.

pub mod adam;
pub mod loss;
pub mod state;
pub mod step;

pub use state::TrainingState;
pub use step::{StepLosses, train_step};
