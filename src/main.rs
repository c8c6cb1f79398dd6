//! Entry point: parse the command line; no subcommand opens the app.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc keeps freed memory mapped for reuse. Training allocates and frees the same large
/// activation buffers every step; with the system allocator each of them comes back from the
/// kernel as fresh zeroed pages, and page faults took a fifth of the CPU time on two cores.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,wgpu=warn,naga=warn,cubecl=warn"),
    )
    .init();
    // clap prints usage errors itself and exits with 2.
    let cli = cli::Cli::parse();
    cli::report(cli::run(cli))
}
