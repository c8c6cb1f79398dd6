//! Choosing the compute device: a GPU through wgpu where a real one exists, with its kernels
//! compiled for the platform (SPIR-V on Vulkan, MSL on Metal, WGSL elsewhere), else the CPU
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

/// The language a GPU's kernels are compiled to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KernelCompiler {
    /// SPIR-V, Vulkan's own: the fastest path there (cooperative matrices, f16).
    SpirV,
    /// Metal Shading Language, on macOS.
    Msl,
    /// WGSL, translated by wgpu for the API (DX12, OpenGL, or Vulkan/Metal as a fallback).
    Wgsl,
}

impl KernelCompiler {
    /// The compiler a wgpu runtime names itself after (`wgpu<spirv>`, `wgpu<msl>`, ...).
    pub fn from_runtime_name(name: &str) -> Option<Self> {
        match name {
            "wgpu<spirv>" => Some(Self::SpirV),
            "wgpu<msl>" => Some(Self::Msl),
            "wgpu<wgsl>" => Some(Self::Wgsl),
            _ => None,
        }
    }

    /// Why a device on `api` ("Vulkan", "Metal", ...) runs this compiler and not the API's own
    /// that this build carries; `None` when it runs the API's own, or the build has no other.
    pub fn fallback_note(self, api: &str) -> Option<String> {
        match (api, self) {
            ("Vulkan", Self::Wgsl) if cfg!(feature = "spirv") => Some(
                "WGSL kernels: the Vulkan driver lacks a feature the SPIR-V kernels need \
                 (Vulkan 1.1 with its extended feature queries), so they run slower"
                    .into(),
            ),
            ("Metal", Self::Wgsl) if cfg!(target_os = "macos") => Some(
                "WGSL kernels: this Metal device does not take native MSL kernels, so they run \
                 slower"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl fmt::Display for KernelCompiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SpirV => "SPIR-V",
            Self::Msl => "MSL",
            Self::Wgsl => "WGSL",
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
    /// The language of a GPU's kernels (none on the CPU).
    #[serde(default)]
    pub kernels: Option<KernelCompiler>,
    /// Why a GPU's kernels are not in its API's own language, when they are not.
    #[serde(default)]
    pub kernels_note: Option<String>,
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {}", self.name, self.kind, self.backend)?;
        if let Some(kernels) = self.kernels {
            write!(f, ", {kernels} kernels")?;
        }
        f.write_str(")")?;
        if let Some(note) = &self.kernels_note {
            write!(f, "; {note}")?;
        }
        Ok(())
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
            kernels: None,
            kernels_note: None,
        },
        fallback_reason: None,
    }
}

/// Set to `1` to let a software adapter (lavapipe, llvmpipe) count as a GPU: for running the
/// GPU code path on a machine without one (the test lane, `--device gpu` by hand). Users keep
/// the refusal: burn's kernels are slow there and the CPU backend is the better choice.
pub const ACCEPT_SOFTWARE_GPU_ENV: &str = "PIX2PIX_ACCEPT_SOFTWARE_GPU";

/// Set to `vulkan`, `metal`, `dx12` or `gl` to pin the GPU's graphics API, and with it the
/// kernels' language (SPIR-V on Vulkan, MSL on Metal, WGSL on the others): for a driver that
/// misbehaves with one of them. Unset or `auto`, the runtime takes the best the machine has.
pub const GPU_API_ENV: &str = "PIX2PIX_GPU_API";

/// The graphics API the GPU runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GpuApi {
    /// The best the machine has: Vulkan, then DX12, then OpenGL (Metal on macOS).
    #[default]
    Auto,
    /// Vulkan (SPIR-V kernels).
    Vulkan,
    /// Metal (MSL kernels).
    Metal,
    /// DirectX 12 (WGSL kernels).
    Dx12,
    /// OpenGL (WGSL kernels).
    Gl,
}

impl FromStr for GpuApi {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "vulkan" => Ok(Self::Vulkan),
            "metal" => Ok(Self::Metal),
            "dx12" => Ok(Self::Dx12),
            "gl" | "opengl" => Ok(Self::Gl),
            other => Err(Error::InvalidConfig(format!(
                "{GPU_API_ENV} must be auto, vulkan, metal, dx12 or gl, got `{other}`"
            ))),
        }
    }
}

/// Process-wide settings of the GPU runtime, fixed before the first GPU device starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuSettings {
    /// Whether a software adapter counts as a GPU (see [`ACCEPT_SOFTWARE_GPU_ENV`]).
    pub accept_software: bool,
    /// Where the GPU runtime keeps what it learns between runs (autotune results, and compiled
    /// kernels where the backend caches them); `None` keeps nothing.
    pub cache_dir: Option<PathBuf>,
    /// The graphics API to run on (see [`GPU_API_ENV`]).
    pub api: GpuApi,
    /// Try only the likeliest kernels for each new shape instead of the runtime's usual set
    /// (`CUBECL_AUTOTUNE_LEVEL` otherwise decides): a first step in seconds, where the full
    /// tuning of a shape can take most of a minute.
    pub quick_tuning: bool,
}

impl GpuSettings {
    /// What users get: the per-user cache folder, software adapters refused unless
    /// [`ACCEPT_SOFTWARE_GPU_ENV`] is `1`, and the API [`GPU_API_ENV`] names (the runtime's
    /// choice when it names none, or nothing this knows: that is logged).
    pub fn from_env() -> Self {
        let api = std::env::var(GPU_API_ENV).map_or(Ok(GpuApi::Auto), |value| value.parse());
        Self {
            accept_software: std::env::var(ACCEPT_SOFTWARE_GPU_ENV).is_ok_and(|value| value == "1"),
            cache_dir: default_gpu_cache_dir(),
            api: api.unwrap_or_else(|err| {
                log::warn!("{err}; letting the GPU runtime choose");
                GpuApi::Auto
            }),
            quick_tuning: false,
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
    let api = gpu_settings().api;
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => gpu::hardware_gpu(api).map_err(Error::Device),
        DeviceChoice::Auto => Ok(gpu::hardware_gpu(api).unwrap_or_else(|reason| {
            log::info!("using the CPU: {reason}");
            SelectedDevice {
                fallback_reason: Some(reason),
                ..cpu()
            }
        })),
    }
}

/// The GPU on a given graphics API, whatever [`GPU_API_ENV`] says: for running the same work on
/// each kernel path a machine offers (the GPU test lane runs SPIR-V and WGSL side by side).
pub fn select_gpu_on(api: GpuApi) -> Result<SelectedDevice> {
    gpu::hardware_gpu(api).map_err(Error::Device)
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
    use std::sync::{Mutex, Once, PoisonError};
    use std::time::Duration;

    use burn::tensor::Device;
    use burn::tensor::wgpu::WgpuBackend;
    use burn::tensor::wgpu::wgpu::{Backend, DeviceType};
    use burn_dispatch::DispatchDevice;
    use cubecl_runtime::config::autotune::AutotuneLevel;
    use cubecl_runtime::config::cache::CacheConfig;
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};

    use super::{AdapterKind, DeviceInfo, GpuApi, GpuSettings, KernelCompiler, SelectedDevice};

    /// How long adapter discovery may take before the GPU is given up on (a broken driver can
    /// hang inside the Vulkan loader).
    const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

    type Probe = Result<(Device, DeviceInfo), String>;

    /// The best hardware GPU on `api`, found once per process and API (wgpu registers a runtime
    /// per adapter and API).
    pub fn hardware_gpu(api: GpuApi) -> Result<SelectedDevice, String> {
        static PROBES: Mutex<Vec<(GpuApi, Probe)>> = Mutex::new(Vec::new());
        let (device, info) = {
            let mut probes = PROBES.lock().unwrap_or_else(PoisonError::into_inner);
            match probes.iter().find(|(probed, _)| *probed == api) {
                Some((_, probe)) => probe.clone(),
                None => {
                    let probe = probe_with_timeout(api);
                    probes.push((api, probe.clone()));
                    probe
                }
            }
        }?;
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

    fn probe_with_timeout(api: GpuApi) -> Probe {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        let spawned = std::thread::Builder::new()
            .name("gpu-probe".into())
            .spawn(move || {
                // A panic inside the driver or the runtime becomes an error, not a crash.
                let outcome = std::panic::catch_unwind(|| probe(api))
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
    /// of the Cargo project in the working directory, or the working directory itself), once.
    fn configure_runtime(settings: &GpuSettings) {
        static CONFIGURED: Once = Once::new();
        CONFIGURED.call_once(|| set_runtime_config(settings));
    }

    fn set_runtime_config(settings: &GpuSettings) {
        let mut config = CubeClRuntimeConfig::default().override_from_env();
        if settings.quick_tuning {
            config.autotune.level = AutotuneLevel::Minimal;
        }
        let cache_dir = settings.cache_dir.as_deref();
        match cache_dir {
            Some(dir) => config.environment.path = CacheConfig::Directory(dir.to_path_buf()),
            None => config.autotune.disable_cache = true,
        }
        if !CubeClRuntimeConfig::try_set(config) {
            log::warn!("the GPU runtime was configured before the device was chosen");
        }
    }

    fn probe(api: GpuApi) -> Probe {
        let settings = super::gpu_settings();
        configure_runtime(settings);
        let (device, info) = start(api)?;
        // Debian 12's lavapipe (Mesa 22.3.6 and 25.0.7, on LLVM 15) dies with SIGSEGV creating
        // the pipeline of burn's SPIR-V matmul: a software Vulkan adapter, used only where one
        // is accepted (the test lane), runs the WGSL kernels through OpenGL (llvmpipe) instead.
        if api == GpuApi::Auto
            && settings.accept_software
            && info.kind == AdapterKind::SoftwareGpu
            && info.kernels == Some(KernelCompiler::SpirV)
        {
            let (device, mut info) = start(GpuApi::Gl)?;
            info.kernels_note = Some(
                "WGSL kernels through OpenGL: software Vulkan drivers (lavapipe) crash on the \
                 SPIR-V kernels"
                    .into(),
            );
            log::info!("GPU adapter: {info}");
            return Ok((device, info));
        }
        log::info!("GPU adapter: {info}");
        Ok((device, info))
    }

    /// Starts the GPU runtime on `api` and describes its device.
    #[allow(
        clippy::disallowed_methods,
        reason = "device.rs is where devices are made"
    )]
    fn start(api: GpuApi) -> Probe {
        let options = match api {
            GpuApi::Auto => Device::wgpu_options(),
            api => Device::wgpu_options().graphics_api(match api {
                GpuApi::Vulkan => WgpuBackend::Vulkan,
                GpuApi::Metal => WgpuBackend::Metal,
                GpuApi::Dx12 => WgpuBackend::Dx12,
                GpuApi::Gl | GpuApi::Auto => WgpuBackend::Gl,
            }),
        };
        let (device, setup) = options
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
        let api = match adapter.backend {
            Backend::Vulkan => "Vulkan",
            Backend::Metal => "Metal",
            Backend::Dx12 => "DX12",
            Backend::Gl => "OpenGL",
            Backend::BrowserWebGpu => "WebGPU",
            Backend::Noop => "no API",
        };
        let kernels = kernel_compiler(&device);
        let info = DeviceInfo {
            name: adapter.name,
            kind,
            backend: api.into(),
            kernels,
            kernels_note: kernels.and_then(|kernels| kernels.fallback_note(api)),
        };
        Ok((device, info))
    }

    /// The language the runtime compiles `device`'s kernels to, as the runtime names itself.
    fn kernel_compiler(device: &Device) -> Option<KernelCompiler> {
        match device.as_dispatch() {
            DispatchDevice::Cube(cube) => KernelCompiler::from_runtime_name(cube.client().name()),
            _ => None,
        }
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::{GpuApi, SelectedDevice};

    pub fn hardware_gpu(_api: GpuApi) -> Result<SelectedDevice, String> {
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
    fn the_device_line_names_the_kernels_and_why_they_are_not_the_apis_own() {
        let gpu = |kernels: KernelCompiler, api: &str| DeviceInfo {
            name: "NVIDIA H200".into(),
            kind: AdapterKind::DiscreteGpu,
            backend: api.into(),
            kernels: Some(kernels),
            kernels_note: kernels.fallback_note(api),
        };
        assert_eq!(
            gpu(KernelCompiler::SpirV, "Vulkan").to_string(),
            "NVIDIA H200 (discrete GPU, Vulkan, SPIR-V kernels)"
        );
        assert_eq!(
            gpu(KernelCompiler::Wgsl, "DX12").to_string(),
            "NVIDIA H200 (discrete GPU, DX12, WGSL kernels)"
        );
        let fallback = gpu(KernelCompiler::Wgsl, "Vulkan").to_string();
        if cfg!(feature = "spirv") {
            assert!(
                fallback.starts_with(
                    "NVIDIA H200 (discrete GPU, Vulkan, WGSL kernels); WGSL kernels: the Vulkan \
                     driver lacks"
                ),
                "{fallback}"
            );
        } else {
            // A build without SPIR-V has nothing else to run on Vulkan.
            assert_eq!(fallback, "NVIDIA H200 (discrete GPU, Vulkan, WGSL kernels)");
        }
        assert!(KernelCompiler::Msl.fallback_note("Metal").is_none());
        assert_eq!(
            KernelCompiler::Wgsl.fallback_note("Metal").is_some(),
            cfg!(target_os = "macos")
        );
        assert_eq!(cpu().info.kernels, None);
    }

    #[test]
    fn runtime_names_give_the_compiler() {
        assert_eq!(
            KernelCompiler::from_runtime_name("wgpu<spirv>"),
            Some(KernelCompiler::SpirV)
        );
        assert_eq!(
            KernelCompiler::from_runtime_name("wgpu<msl>"),
            Some(KernelCompiler::Msl)
        );
        assert_eq!(
            KernelCompiler::from_runtime_name("wgpu<wgsl>"),
            Some(KernelCompiler::Wgsl)
        );
        assert_eq!(KernelCompiler::from_runtime_name("cuda"), None);
    }

    #[test]
    fn gpu_apis_parse_and_a_wrong_one_names_the_variable() {
        assert_eq!("Vulkan".parse::<GpuApi>().unwrap(), GpuApi::Vulkan);
        assert_eq!("opengl".parse::<GpuApi>().unwrap(), GpuApi::Gl);
        assert_eq!("".parse::<GpuApi>().unwrap(), GpuApi::Auto);
        let err = "cuda".parse::<GpuApi>().unwrap_err().to_string();
        assert!(err.contains(GPU_API_ENV) && err.contains("cuda"), "{err}");
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
