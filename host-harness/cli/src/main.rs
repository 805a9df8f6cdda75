//! `connector-host`: run connector components and sync their data.

use clap::Parser;
use connector_host::cli::{run, Cli, Command, Finished};
use connector_host::context::LogFormat;
use connector_runtime::ConnectorError;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // `serve` runs unattended: what it starts and ends is worth a line.
    let level = match (&cli.command, cli.global.verbose) {
        (_, true) => "debug",
        (Command::Serve(_), false) => "warn,connector_fleet=info,connector_host=info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONNECTOR_HOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.global.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Finished::Completed) => std::process::ExitCode::SUCCESS,
        // The shell's code for "ended by SIGINT"; what was fetched is committed.
        Ok(Finished::Stopped) => std::process::ExitCode::from(130),
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::from(exit_code(&err))
        }
    }
}

/// Exit codes by error class, so scripts can react.
fn exit_code(err: &ConnectorError) -> u8 {
    use ConnectorError as E;
    match err {
        E::Config(_) => 2,
        E::Auth(_) => 3,
        E::Permission(_) => 4,
        E::RateLimited { .. } | E::Transient(_) | E::TimedOut(_) => 5,
        E::LimitExceeded { .. } | E::Crashed(_) | E::Refused(_) => 6,
        E::Protocol(_)
        | E::Internal(_)
        | E::Store(_)
        | E::Io { .. }
        | E::Engine { .. }
        | E::Tls { .. } => 1,
    }
}
