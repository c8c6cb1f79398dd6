//! Training: the losses, PyTorch-exact Adam, schedules, metrics, the state of a run and one
//! training step.

pub mod adam;
pub mod checkpoint;
pub mod health;
pub mod history;
pub mod loss;
pub mod metrics;
pub mod state;
pub mod step;

pub use state::TrainingState;
pub use step::{QueuedLosses, StepLosses, queue_train_step, read_losses, train_step};
