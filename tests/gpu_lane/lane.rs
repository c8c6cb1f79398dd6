//! The lane's device: the GPU (a software adapter accepted), started once per process, one test
//! at a time (the adapter's memory use is measured, and a software adapter has the CPU's cores
//! only).

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use burn::tensor::Device;
use pix2pix_studio::platform::device::{
    self, AdapterKind, DeviceChoice, GpuSettings, SelectedDevice,
};

/// The GPU for one test; other lane tests wait until it is dropped.
pub struct Lane {
    /// The GPU device (no autodiff).
    pub device: Device,
    /// The device as the engine selected it (with its description).
    pub selected: SelectedDevice,
    _turn: MutexGuard<'static, ()>,
}

/// The autotune cache of this process: a fresh folder, so the lane measures a first run.
pub fn cache_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("p2p-gpu-lane-cache-{}", std::process::id()))
}

/// Waits for the GPU and returns it; fails with what to install when there is none.
pub fn gpu() -> Lane {
    static TURN: Mutex<()> = Mutex::new(());
    static SELECTED: OnceLock<Result<SelectedDevice, String>> = OnceLock::new();
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let selected = SELECTED.get_or_init(|| {
        let _ = std::fs::remove_dir_all(cache_dir());
        assert!(
            device::configure_gpu(GpuSettings {
                accept_software: true,
                cache_dir: Some(cache_dir()),
                api: GpuSettings::from_env().api,
                // The lane checks results, not speed: the likeliest kernels only, so a software
                // adapter compiles a few per shape rather than every candidate.
                quick_tuning: true,
            }),
            "the GPU settings were fixed before the lane started"
        );
        let selected = device::select(DeviceChoice::Gpu).map_err(|err| err.to_string());
        if let Ok(selected) = &selected {
            eprintln!("GPU lane on {}", selected.info);
        }
        selected
    });
    match selected {
        Ok(selected) => {
            assert_ne!(selected.info.kind, AdapterKind::Cpu);
            Lane {
                device: selected.device.clone(),
                selected: selected.clone(),
                _turn: turn,
            }
        }
        Err(reason) => panic!(
            "the GPU lane needs a GPU adapter: {reason}. Without a hardware GPU, install Debian's \
             software Vulkan driver: apt-get install mesa-vulkan-drivers"
        ),
    }
}
