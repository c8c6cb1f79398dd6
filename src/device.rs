//! Choosing the compute device: a GPU through wgpu where a real one exists, else the CPU
//! (burn's `flex` backend). The only file that knows which backends are compiled in.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::OnceLock;

use burn::tensor::Device;

use crate::error::{Error, Result};

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A hardware GPU if one works, else the CPU.
    #[default]
    Auto,
    /// A hardware GPU, or an error saying why not.
    Gpu,
    /// The CPU.
    Cpu,
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "gpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(Error::InvalidConfig(format!(
                "device must be auto, gpu or cpu, got `{other}`"
            ))),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        })
    }
}

/// What kind of processor runs the tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AdapterKind {
    /// The CPU, through burn's `flex` backend.
    Cpu,
    /// A discrete GPU.
    DiscreteGpu,
    /// A GPU sharing memory with the CPU.
    IntegratedGpu,
    /// A virtual or hosted GPU.
    VirtualGpu,
    /// A software rasteriser posing as a GPU (llvmpipe, lavapipe, SwiftShader).
    SoftwareGpu,
    /// A GPU of unknown type.
    OtherGpu,
}

impl fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "CPU",
            Self::DiscreteGpu => "discrete GPU",
            Self::IntegratedGpu => "integrated GPU",
            Self::VirtualGpu => "virtual GPU",
            Self::SoftwareGpu => "software GPU (runs on the CPU)",
            Self::OtherGpu => "GPU",
        })
    }
}

/// The device chosen, described for people.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceInfo {
    /// Adapter name, e.g. "NVIDIA GeForce RTX 4070" or "CPU (flex, 8 threads)".
    pub name: String,
    /// What kind of processor it is.
    pub kind: AdapterKind,
    /// The graphics API or backend ("Vulkan", "Metal", "flex").
    pub backend: String,
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.kind, self.backend)
    }
}

/// A device ready for tensors, with its description and, when `Auto` fell back to the CPU,
/// the reason.
#[derive(Clone, Debug)]
pub struct SelectedDevice {
    /// The device (without autodiff; training turns it on).
    pub device: Device,
    /// What it is.
    pub info: DeviceInfo,
    /// Why a GPU was not used, when one was looked for.
    pub fallback_reason: Option<String>,
}

impl SelectedDevice {
    /// Whether this is the CPU.
    pub fn is_cpu(&self) -> bool {
        self.info.kind == AdapterKind::Cpu
    }
}

/// The CPU device.
#[allow(
    clippy::disallowed_methods,
    reason = "device.rs is where devices are made"
)]
pub fn cpu() -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        info: DeviceInfo {
            name: format!("CPU ({} threads)", rayon::current_num_threads()),
            kind: AdapterKind::Cpu,
            backend: "flex".into(),
        },
        fallback_reason: None,
    }
}

/// Set to `1` to let a software adapter (lavapipe, llvmpipe) count as a GPU: for running the
/// GPU code path on a machine without one (the test lane, `--device gpu` by hand). Users keep
/// the refusal: burn's kernels are slow there and the CPU backend is the better choice.
pub const ACCEPT_SOFTWARE_GPU_ENV: &str = "PIX2PIX_ACCEPT_SOFTWARE_GPU";

/// Process-wide settings of the GPU runtime, fixed before the first GPU device starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuSettings {
    /// Whether a software adapter counts as a GPU (see [`ACCEPT_SOFTWARE_GPU_ENV`]).
    pub accept_software: bool,
    /// Where the GPU runtime keeps what it learns between runs (autotune results, and compiled
    /// kernels where the backend caches them); `None` keeps nothing.
    pub cache_dir: Option<PathBuf>,
}

impl GpuSettings {
    /// What users get: the per-user cache folder, and software adapters refused unless
    /// [`ACCEPT_SOFTWARE_GPU_ENV`] is `1`.
    pub fn from_env() -> Self {
        Self {
            accept_software: std::env::var(ACCEPT_SOFTWARE_GPU_ENV).is_ok_and(|value| value == "1"),
            cache_dir: default_gpu_cache_dir(),
        }
    }
}

/// The per-user cache folder of the GPU runtime (`~/.cache/pix2pix-studio/gpu` on Linux), not
/// the folder of whatever Cargo project the app was started from.
pub fn default_gpu_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("pix2pix-studio").join("gpu"))
}

static GPU_SETTINGS: OnceLock<GpuSettings> = OnceLock::new();

/// Fixes the GPU settings of this process. Returns `false` (and changes nothing) when they are
/// already fixed, by an earlier call or by the first device selection.
pub fn configure_gpu(settings: GpuSettings) -> bool {
    GPU_SETTINGS.set(settings).is_ok()
}

/// The GPU settings in force.
pub fn gpu_settings() -> &'static GpuSettings {
    GPU_SETTINGS.get_or_init(GpuSettings::from_env)
}

/// Resolves the user's choice to a device. `Auto` never fails: without a usable GPU it
/// returns the CPU and says why in `fallback_reason` (also logged).
pub fn select(choice: DeviceChoice) -> Result<SelectedDevice> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => gpu::hardware_gpu().map_err(Error::Device),
        DeviceChoice::Auto => Ok(gpu::hardware_gpu().unwrap_or_else(|reason| {
            log::info!("using the CPU: {reason}");
            SelectedDevice {
                fallback_reason: Some(reason),
                ..cpu()
            }
        })),
    }
}

/// Whether tensors on `device` live in host memory (the CPU backend), where the optimiser can
/// update them in place.
#[allow(
    clippy::disallowed_methods,
    reason = "device.rs is where devices are made"
)]
pub fn is_host_memory(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

#[cfg(feature = "gpu")]
mod gpu {
    use std::path::Path;
    use std::sync::OnceLock;
    use std::time::Duration;

    use burn::tensor::Device;
    use burn::tensor::wgpu::wgpu::DeviceType;
    use cubecl_runtime::config::cache::CacheConfig;
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};

    use super::{AdapterKind, DeviceInfo, SelectedDevice};

    /// How long adapter discovery may take before the GPU is given up on (a broken driver can
    /// hang inside the Vulkan loader).
    const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

    type Probe = Result<(Device, DeviceInfo), String>;

    /// The best hardware GPU, found once per process (wgpu registers a runtime per adapter).
    pub fn hardware_gpu() -> Result<SelectedDevice, String> {
        static PROBE: OnceLock<Probe> = OnceLock::new();
        let (device, info) = PROBE.get_or_init(probe_with_timeout).clone()?;
        if info.kind == AdapterKind::SoftwareGpu && !super::gpu_settings().accept_software {
            return Err(format!(
                "the only GPU adapter is `{}`, a software renderer: burn's GPU kernels are slow and \
                 unreliable there, so the CPU backend is faster and safe",
                info.name
            ));
        }
        Ok(SelectedDevice {
            device,
            info,
            fallback_reason: None,
        })
    }

    fn probe_with_timeout() -> Probe {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        let spawned = std::thread::Builder::new()
            .name("gpu-probe".into())
            .spawn(move || {
                // A panic inside the driver or the runtime becomes an error, not a crash.
                let outcome = std::panic::catch_unwind(probe)
                    .unwrap_or_else(|_| Err("the GPU runtime panicked while starting".into()));
                let _ = sender.send(outcome);
            });
        if let Err(err) = spawned {
            return Err(format!("could not start the GPU probe: {err}"));
        }
        match receiver.recv_timeout(PROBE_TIMEOUT) {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "no answer from the GPU driver within {} s",
                PROBE_TIMEOUT.as_secs()
            )),
        }
    }

    /// Points cubecl's persistent caches at the settings' folder (its default is the `target/`
    /// of the Cargo project in the working directory, or the working directory itself).
    fn configure_runtime(cache_dir: Option<&Path>) {
        let mut config = CubeClRuntimeConfig::default().override_from_env();
        match cache_dir {
            Some(dir) => config.environment.path = CacheConfig::Directory(dir.to_path_buf()),
            None => config.autotune.disable_cache = true,
        }
        if !CubeClRuntimeConfig::try_set(config) {
            log::warn!("the GPU runtime was configured before the device was chosen");
        }
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "device.rs is where devices are made"
    )]
    fn probe() -> Probe {
        configure_runtime(super::gpu_settings().cache_dir.as_deref());
        let (device, setup) = Device::wgpu_options()
            .init_with_setup()
            .map_err(|err| format!("no usable GPU adapter: {err}"))?;
        let adapter = setup.adapter.get_info();
        let kind = match adapter.device_type {
            DeviceType::DiscreteGpu => AdapterKind::DiscreteGpu,
            DeviceType::IntegratedGpu => AdapterKind::IntegratedGpu,
            DeviceType::VirtualGpu => AdapterKind::VirtualGpu,
            DeviceType::Cpu => AdapterKind::SoftwareGpu,
            DeviceType::Other => AdapterKind::OtherGpu,
        };
        let info = DeviceInfo {
            name: adapter.name,
            kind,
            backend: format!("{:?}", adapter.backend),
        };
        log::info!("GPU adapter: {info}");
        Ok((device, info))
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::SelectedDevice;

    pub fn hardware_gpu() -> Result<SelectedDevice, String> {
        Err("this build has no GPU support (built without the `gpu` feature)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices() {
        assert_eq!("GPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Gpu);
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert!(
            "tpu"
                .parse::<DeviceChoice>()
                .unwrap_err()
                .to_string()
                .contains("tpu")
        );
    }

    #[test]
    fn cpu_is_host_memory_even_with_autodiff() {
        let cpu = cpu();
        assert!(cpu.is_cpu());
        assert!(is_host_memory(&cpu.device));
        assert!(is_host_memory(&cpu.device.clone().autodiff()));
    }

    #[test]
    fn the_gpu_cache_is_per_user_not_in_the_working_directory() {
        let dir = default_gpu_cache_dir().unwrap();
        assert!(dir.is_absolute(), "{}", dir.display());
        assert!(dir.ends_with("pix2pix-studio/gpu"), "{}", dir.display());
        let cwd = std::env::current_dir().unwrap();
        assert!(
            !dir.starts_with(&cwd),
            "{} is inside {}",
            dir.display(),
            cwd.display()
        );
    }

    #[test]
    fn auto_always_gives_a_device() {
        // On a machine without a hardware GPU this is the CPU with a reason; with one, the GPU.
        let selected = select(DeviceChoice::Auto).unwrap();
        assert_eq!(selected.is_cpu(), selected.fallback_reason.is_some());
    }
}
