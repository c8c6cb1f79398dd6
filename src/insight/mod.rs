//! What the GAN sees and decides, beside training and inference: a run's validation pairs and
//! scores, its checkpoints side by side, the PatchGAN's per-patch verdicts, and several runs
//! compared.

pub mod compare;
pub mod gallery;
pub mod validation;
pub mod verdict;
