//! What the machine and the binary provide, below every domain module: the compute device and
//! the CPU kernels (the only code that names a burn backend) and how many threads they use,
//! counted device reads, atomic file writes, opt-in timings, and the assets embedded in the
//! binary.

pub mod bundled;
pub mod device;
pub mod fs;
pub mod kernels;
pub mod profile;
pub mod readback;
pub mod threads;
