//! The `seatwarden` binary: logging setup, then the library's command line.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SEATWARDEN_LOG").unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = seatwarden_cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(seatwarden_cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // Errors quote vendor and connector text: escaped, like all output.
            eprintln!(
                "error: {}",
                seatwarden_app::output::escape(&format!("{err:#}"))
            );
            std::process::ExitCode::FAILURE
        }
    }
}
