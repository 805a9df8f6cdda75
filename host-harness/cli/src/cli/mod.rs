//! The `connector-host` command line: flags, loading a connection from its
//! file, and one function per command.

mod args;

pub use args::*;

use std::path::Path;
use std::sync::Arc;

use connector_runtime::ConnectorError;
use connector_sync::{StopSignal, SyncOptions};

use crate::connection_file::{connection_name, ConnectionFile, Plugin, Secrets};
use crate::context::{sync_once, unix_now, Context, Host};

/// A failure to write an export to its file or standard output.
fn export_unwritable(error: std::io::Error) -> ConnectorError {
    ConnectorError::Io {
        what: "cannot write the export".into(),
        source: error.into(),
    }
}

/// Where `--out` sends an export: the file, or standard output.
fn output(out: Option<&Path>) -> Result<Box<dyn std::io::Write>, ConnectorError> {
    Ok(match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| {
                ConnectorError::config("--out", format!("cannot create {}: {e}", path.display()))
            })?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// How a command ended, when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// It did all it was asked.
    Completed,
    /// A sync was stopped on request (Ctrl-C or SIGTERM); what it fetched
    /// is committed and the next sync resumes from there.
    Stopped,
}

/// Asks `stop` on the first Ctrl-C or SIGTERM, and quits at once on the
/// second (the database stays consistent either way).
pub(crate) fn stop_on_signals(stop: StopSignal) {
    tokio::spawn(async move {
        interrupted().await;
        eprintln!("stopping: committing the pages already fetched (Ctrl-C again to quit at once)");
        stop.stop();
        interrupted().await;
        eprintln!("quitting at once; the next sync resumes from the last committed page");
        std::process::exit(130);
    });
}

/// Completes on Ctrl-C or SIGTERM; never when the signals cannot be watched.
pub(crate) async fn interrupted() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Run a command, printing its result to standard output.
pub async fn run(cli: Cli) -> Result<Finished, ConnectorError> {
    // Commands that keep nothing locally open no database.
    match cli.command {
        Command::Spec(args) => {
            let host = Host::new(cli.global)?;
            let loaded = host.load(&Plugin::named(&args.plugin))?;
            let spec = connector_runtime::connection::read_spec(&host.runtime, &loaded).await?;
            println!("{}", crate::report::spec_json(&spec));
            Ok(Finished::Completed)
        }
        Command::Airbyte(args) => crate::airbyte::run(&Host::new(cli.global)?, args).await,
        command => run_with_database(Context::new(cli.global)?, command).await,
    }
}

/// Run a command that reads or writes the database.
async fn run_with_database(context: Context, command: Command) -> Result<Finished, ConnectorError> {
    match command {
        Command::Spec(_) | Command::Airbyte(_) => unreachable!("run without a database"),
        Command::Check(args) => {
            let mut connection = context.open(&args.config, Secrets::Required).await?;
            let warnings = connection.check().await?;
            println!("ok: {} can reach its data", connection.name());
            for warning in warnings {
                println!("warning: {warning}");
            }
        }
        Command::Discover(args) => {
            let mut connection = context.open(&args.config, Secrets::Required).await?;
            print!(
                "{}",
                crate::report::streams_table(&connection.discover().await?)
            );
        }
        Command::Map(args) => {
            let mut connection = context
                .open(&args.connection.config, Secrets::IfAvailable)
                .await?;
            let text = match &args.file {
                Some(path) => std::fs::read_to_string(path).map_err(|e| {
                    ConnectorError::config("FILE", format!("cannot read {}: {e}", path.display()))
                })?,
                None => std::io::read_to_string(std::io::stdin())
                    .map_err(|e| ConnectorError::config("stdin", e.to_string()))?,
            };
            for raw in connector_platform::input::json_items(&text)? {
                for record in connection.map_record(&args.stream, &raw).await? {
                    println!("{}", crate::report::record_json(&record));
                }
            }
        }
        Command::Sync(args) => {
            let recipe = Arc::new(context.recipe(&args.connection.config, Secrets::Required)?);
            let (file, _) = ConnectionFile::load(&args.connection.config)?;
            let refresh = file.refresh_overrides()?;
            let options = SyncOptions {
                streams: args.streams.clone(),
                keep_raw: !args.no_raw,
                page_size: args.page_size,
                budget_reserve: args.reserve,
                concurrency: args.concurrency,
                ..SyncOptions::default()
            };
            stop_on_signals(options.stop.clone());
            loop {
                let report = sync_once(&context.db, &recipe, &options, &refresh).await?;
                print!("{}", crate::progress::summary(&report));
                match report.worst_failure() {
                    // A retry cannot mend it: its own class and advice.
                    Some(error) if !error.is_retryable() && args.every.is_none() => {
                        return Err(error.clone())
                    }
                    Some(_) if args.every.is_none() => {
                        return Err(ConnectorError::Transient(
                            "some streams failed (see above); run `sync` again to resume from the last committed page".into(),
                        ))
                    }
                    _ => {}
                }
                if report.interrupted() {
                    return Ok(Finished::Stopped);
                }
                let Some(every) = args.every else {
                    break;
                };
                eprintln!("next sync in {}s (Ctrl-C to stop)", every.as_secs());
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = options.stop.stopped() => return Ok(Finished::Stopped),
                }
            }
        }
        Command::Status(args) => match &args.config {
            Some(config) => {
                let store = context.db.records(&connection_name(config)?);
                print!("{}", crate::report::status(store.as_ref())?);
            }
            None => print!("{}", crate::serve::status_all(&context).await?),
        },
        Command::Serve(args) => return crate::serve::run(context, &args).await,
        Command::Export(args) if args.documents => {
            let options = connector_platform::documents::DocumentOptions {
                internal_notes: args.internal_notes,
                only_customer_feedback: args.only_customer_feedback,
                limit: args.limit,
            };
            let mut out = output(args.out.as_deref())?;
            let count = crate::platform_commands::export_documents(
                context.db.platform(),
                &args.connection.config,
                &options,
                &mut out,
            )?;
            out.flush().map_err(export_unwritable)?;
            eprintln!("exported {count} ticket documents");
        }
        Command::Export(args) => {
            let name = connection_name(&args.connection.config)?;
            let store = context.db.records(&name);
            let stream = args.stream.unwrap_or_default();
            let mut out = output(args.out.as_deref())?;
            let count = store.for_each_record(&stream, &mut |kind, key, version, deleted, data| {
                writeln!(
                    out,
                    "{{\"kind\":{},\"key\":{},\"version\":{},\"deleted\":{deleted},\"data\":{data}}}",
                    serde_json::Value::from(kind),
                    serde_json::Value::from(key),
                    serde_json::to_string(&version).expect("strings serialize"),
                )
            })?;
            out.flush().map_err(export_unwritable)?;
            eprintln!("exported {count} records of stream {stream}");
        }
        Command::Remap(args) => {
            let recipe = context.recipe(&args.config, Secrets::IfAvailable)?;
            let mut connection = recipe.open().await?;
            let store = context.db.records(&recipe.settings.name);
            for stream in connection.discover().await? {
                let mut mapped = Vec::new();
                for raw in store.raw_records(&stream.name)? {
                    let records = connection.map_record(&stream.name, &raw).await?;
                    mapped.push((raw, records));
                }
                let written = store.upsert_records(&stream.name, &mapped)?;
                println!(
                    "{}: {} raw records remapped into {written} records",
                    stream.name,
                    mapped.len()
                );
            }
        }
        Command::RotateKey(args) => {
            let (key, source) = context.key()?;
            print!(
                "{}",
                crate::store_key::rotate(
                    context.db.credentials(),
                    &key,
                    &source,
                    args.new_key_file.as_deref()
                )?
            );
        }
        Command::Authorize(args) => print!("{}", crate::authorize::run(&context, &args).await?),
        Command::Disconnect(args) => {
            let (parsed, path) = ConnectionFile::load(&args.config)?;
            let store = context.db.records(&parsed.name_for(&path));
            let platform = context
                .db
                .platform()
                .forget_connection(&parsed.name_for(&path))?;
            for (table, rows) in store.delete_connection()?.into_iter().chain(platform) {
                println!("deleted {rows} rows from {table}");
            }
            // The connector says what to revoke; a component that cannot be
            // loaded any more gets the general advice.
            let advice = match context.host.load(&parsed.plugin(&path)) {
                Ok(loaded) => {
                    connector_runtime::connection::read_spec(&context.host.runtime, &loaded)
                        .await
                        .map(|spec| spec.disconnect_advice)
                        .unwrap_or_default()
                }
                Err(_) => String::new(),
            };
            println!(
                "The host no longer holds anything of this connection. At the provider, revoke \
                 what it was given{}.",
                if advice.is_empty() {
                    " (API token or OAuth grant)".to_string()
                } else {
                    format!(": {advice}")
                }
            );
        }
        #[cfg(feature = "demo")]
        Command::Demo(args) => crate::demo::run(&context, args.tickets).await?,
        Command::Customers(CustomersCommand::Import(args)) => print!(
            "{}",
            crate::platform_commands::import_customers(
                context.db.platform(),
                &args.file,
                args.config.as_deref()
            )?
        ),
        Command::Customers(CustomersCommand::Match(args)) => print!(
            "{}",
            crate::platform_commands::match_customers(
                context.db.platform(),
                &args.connection.config,
                args.overrides.as_deref()
            )?
        ),
        Command::Report(args) => print!(
            "{}",
            crate::platform_commands::report(
                context.db.platform(),
                &args.connection.config,
                args.html.as_deref(),
                args.range(unix_now()),
            )?
        ),
    }
    Ok(Finished::Completed)
}
