//! `connector-host airbyte ...`: reads the protocol's files and hands the
//! command to `connector-airbyte`, writing to standard output.

use std::path::Path;

use connector_airbyte::{Command, Ended, Output, Plugin};
use connector_runtime::ConnectorError;
use connector_sync::SyncOptions;

use crate::cli::{AirbyteArgs, AirbyteCommand, Finished};
use crate::connection_file::Plugin as PluginFile;
use crate::context::Host;

/// A file of the protocol, the flag that named it saying which.
fn read_file(flag: &str, path: &Path) -> Result<String, ConnectorError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConnectorError::config(flag, format!("cannot read {}: {e}", path.display())))
}

/// A JSON file of the protocol, read and parsed.
fn json_file<T: serde::de::DeserializeOwned>(flag: &str, path: &Path) -> Result<T, ConnectorError> {
    serde_json::from_str(&read_file(flag, path)?)
        .map_err(|e| ConnectorError::config(flag, format!("{} is not valid: {e}", path.display())))
}

/// The protocol command of `args`, its files read.
fn command(
    args: AirbyteArgs,
    stop: &connector_sync::StopSignal,
) -> Result<Command, ConnectorError> {
    Ok(match args.command {
        AirbyteCommand::Spec => Command::Spec,
        AirbyteCommand::Check(a) => Command::Check {
            config: json_file("--config", &a.config)?,
        },
        AirbyteCommand::Discover(a) => Command::Discover {
            config: json_file("--config", &a.config)?,
        },
        AirbyteCommand::Read(a) => Command::Read {
            config: json_file("--config", &a.config.config)?,
            catalog: json_file("--catalog", &a.catalog)?,
            states: match &a.state {
                Some(path) => connector_airbyte::state::parse_states(&read_file("--state", path)?)?,
                None => Vec::new(),
            },
            options: SyncOptions {
                stop: stop.clone(),
                ..SyncOptions::default()
            },
        },
    })
}

/// Run an Airbyte command; every failure is also a TRACE message.
pub async fn run(host: &Host, args: AirbyteArgs) -> Result<Finished, ConnectorError> {
    let output = Output::new(Box::new(std::io::stdout()));
    let stop = connector_sync::StopSignal::default();
    let prepared = (|| {
        let plugin = Plugin {
            runtime: host.runtime.clone(),
            loaded: host.load(&PluginFile::named(&args.plugin))?,
            client: host.client(false)?,
        };
        Ok::<_, ConnectorError>((plugin, command(args, &stop)?))
    })();
    let (plugin, command) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            output.emit_or_log(&connector_airbyte::protocol::Message::error(
                connector_airbyte::failure_type(&error),
                error.to_string(),
                None,
            ));
            return Err(error);
        }
    };
    crate::cli::stop_on_signals(stop);
    match connector_airbyte::run(&plugin, command, &output).await {
        Ended::Completed => Ok(Finished::Completed),
        Ended::Stopped => Ok(Finished::Stopped),
        Ended::Failed(error) => Err(error),
    }
}
