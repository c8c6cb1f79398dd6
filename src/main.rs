//! Entry point: parse the command line; no subcommand opens the app.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,wgpu=warn,naga=warn,cubecl=warn"),
    )
    .init();
    // clap prints usage errors itself and exits with 2.
    let cli = cli::Cli::parse();
    cli::report(cli::run(cli))
}
