//! Entry point: parse the command line; no subcommand opens the app.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc keeps freed memory mapped for reuse. Training allocates and frees the same large
/// activation buffers every step; with the system allocator each of them comes back from the
/// kernel as fresh zeroed pages, and page faults took a fifth of the CPU time on two cores.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the enum's index in `mimalloc.h`, v2 and v3 alike).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// How long freed memory stays mapped before mimalloc returns it to the OS. Its default (1 s)
/// is shorter than the gaps between a training step's reuses of its largest buffers, so each
/// step faulted them in again as fresh zeroed pages: 61,000 page faults and ~15 % of the wall
/// time over a 256 px `bench` (`perf stat`), 2,100 with this. The app gives the memory back
/// this long after a run stops.
const PURGE_DELAY_MS: std::ffi::c_long = 30_000;

/// Sets [`PURGE_DELAY_MS`] unless the user chose one with `MIMALLOC_PURGE_DELAY`.
fn keep_freed_memory_for_reuse() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option before any other thread exists; mimalloc reads its
        // options on every purge, and any value is valid for this one.
        #[expect(
            unsafe_code,
            reason = "mimalloc's options are only reachable through its C API"
        )]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
        }
    }
}

fn main() -> ExitCode {
    keep_freed_memory_for_reuse();
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,wgpu=warn,naga=warn,cubecl=warn"),
    )
    .init();
    // clap prints usage errors itself and exits with 2.
    let cli = cli::Cli::parse();
    cli::report(cli::run(cli))
}
