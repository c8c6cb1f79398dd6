//! The reference's fixtures on the GPU: forward passes in every mode (against the fixtures and
//! against the CPU), one training step, and five steps with every weight and Adam moment.

use burn::tensor::Device;

use crate::lane::gpu;
use crate::parity_checks::{check_five_steps, check_forward_modes, check_one_step};
use crate::util::relative_error;

/// GPU against CPU, for outputs the reference has no fixture of as well.
const DEVICE_TOLERANCE: f32 = 1e-4;

#[test]
fn forward_passes_match_the_reference_and_the_cpu_in_every_mode() {
    let lane = gpu();
    let on_gpu = check_forward_modes(&lane.device);
    let on_cpu = check_forward_modes(&Device::flex());
    for ((name, gpu), (_, cpu)) in on_gpu.iter().zip(&on_cpu) {
        let error = relative_error(gpu, cpu);
        eprintln!("{name}: GPU vs CPU relative error {error:.3e}");
        assert!(
            gpu.iter().all(|v| v.is_finite()),
            "{name}: not finite on the GPU"
        );
        assert!(error <= DEVICE_TOLERANCE, "{name}: GPU vs CPU {error:.3e}");
    }
}

#[test]
fn one_training_step_matches_the_reference_on_the_gpu() {
    check_one_step(&gpu().device);
}

#[test]
fn five_training_steps_match_the_reference_on_the_gpu() {
    check_five_steps(&gpu().device);
}
