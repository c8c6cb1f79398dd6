//! `check-gpu`: a few training steps on the GPU and on the CPU from the same start, compared
//! loss by loss; exit code 1 when the GPU computes something else.

mod both_devices;

use anyhow::bail;

use both_devices::{LOSS_TOLERANCE, compare_with_cpu};
use pix2pix_studio::platform::device::{self, DeviceChoice};

/// Options of `check-gpu`.
#[derive(Debug, clap::Args)]
pub struct CheckGpuArgs {
    /// Training steps on each device.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub steps: u32,
}

pub fn check_gpu_command(args: &CheckGpuArgs) -> anyhow::Result<()> {
    let selected = device::select(DeviceChoice::Gpu)?;
    outln!("device: {}", selected.info);
    let report = compare_with_cpu(&selected.device, args.steps as usize)?;
    for (step, (gpu, cpu)) in report.steps.iter().enumerate() {
        outln!(
            "step {}: GPU G_GAN {:.6} G_L1 {:.6} D_real {:.6} D_fake {:.6} | CPU {:.6} {:.6} {:.6} {:.6}",
            step + 1,
            gpu.g_gan,
            gpu.g_l1,
            gpu.d_real,
            gpu.d_fake,
            cpu.g_gan,
            cpu.g_l1,
            cpu.d_real,
            cpu.d_fake
        );
    }
    if !report.passed() {
        bail!(
            "the GPU's losses differ from the CPU's by up to {:.2e} (allowed {LOSS_TOLERANCE:.0e}): \
             train on the CPU (--device cpu), or try another graphics API ({}=gl)",
            report.max_relative_difference,
            device::GPU_API_ENV
        );
    }
    outln!(
        "the GPU computes what the CPU computes: largest relative difference {:.2e} (allowed {LOSS_TOLERANCE:.0e})",
        report.max_relative_difference
    );
    Ok(())
}
