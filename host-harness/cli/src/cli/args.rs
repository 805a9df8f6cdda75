//! The command line's flags and commands, as clap reads them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::context::GlobalOptions;

/// Runs connector components in a sandbox and syncs their data into SQLite
/// or PostgreSQL.
#[derive(Parser, Debug)]
#[command(name = "connector-host", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOptions,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the connector's spec: config schema, auth schemes, hosts.
    Spec(PluginArgs),
    /// Test the connection: credentials, permissions, reach.
    Check(ConnectionArgs),
    /// List the streams the connection can read.
    Discover(ConnectionArgs),
    /// Sync the connection's streams into the database (first import, then
    /// only changes).
    Sync(SyncArgs),
    /// Show each stream's cursor, last sync, record counts and last error;
    /// with `--all`, every connection of the fleet's schedule.
    Status(StatusArgs),
    /// Write a stream's normalized records, or one document per ticket
    /// (`--documents`), as JSON Lines.
    Export(ExportArgs),
    /// Run raw records (a JSON object, an array, or JSON Lines) through the
    /// connector's mapping and print the normalized records.
    Map(MapArgs),
    /// Rebuild normalized records from the stored raw records (after a
    /// connector upgrade), without calling the API.
    Remap(ConnectionArgs),
    /// Sign the connection in with OAuth in a browser (authorization code
    /// with PKCE): the tokens are stored sealed, and the connection file
    /// needs no refresh token.
    Authorize(AuthorizeArgs),
    /// Delete the connection's credentials, tokens, cursors, storage and records.
    Disconnect(ConnectionArgs),
    /// Seal every stored credential with a new key, written over the key
    /// file (or to `--new-key-file`); back the new key up.
    RotateKey(RotateKeyArgs),
    /// Start a local Zendesk simulator and sync it into the database; needs
    /// no Zendesk account.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// The platform's customer list, and the matching of the connection's
    /// organizations, people and tickets to it.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Support signals per matched customer over the last 26 weeks (or
    /// `--since`/`--until`, or `--all`): trends, volume, first reply and
    /// resolution times, customer sentiment, satisfaction rated and
    /// estimated, escalations.
    Report(ReportArgs),
    /// Speak the Airbyte protocol for any connector component (one JSON
    /// message per line on standard output); keeps nothing locally.
    Airbyte(AirbyteArgs),
    /// Run every connection of a folder on its schedule, as one process of
    /// a fleet sharing one PostgreSQL database (`--db postgres://...`):
    /// leased one process at a time, taken over when a process dies.
    Serve(crate::serve::ServeArgs),
}

/// Arguments of `status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The connection file (TOML).
    #[arg(long, short, required_unless_present = "all")]
    pub config: Option<PathBuf>,
    /// Every connection `serve` schedules (PostgreSQL): state, lease
    /// owner, last success, last error with its advice, next run.
    #[arg(long, conflicts_with = "config")]
    pub all: bool,
}

/// Arguments of `airbyte`.
#[derive(Args, Debug)]
pub struct AirbyteArgs {
    /// `zendesk` for the built-in connector, or a component file.
    #[arg(
        long,
        global = true,
        default_value = "zendesk",
        env = "CONNECTOR_HOST_PLUGIN"
    )]
    pub plugin: String,
    /// The protocol command.
    #[command(subcommand)]
    pub command: AirbyteCommand,
}

/// The Airbyte protocol's commands.
#[derive(Subcommand, Debug)]
pub enum AirbyteCommand {
    /// SPEC: the config schema, auth schemes as a `oneOf`, OAuth.
    Spec,
    /// CONNECTION_STATUS: whether the config reaches its data.
    Check(AirbyteConfigArgs),
    /// CATALOG: one stream per record kind.
    Discover(AirbyteConfigArgs),
    /// RECORD and STATE messages of the configured catalog's streams.
    Read(AirbyteReadArgs),
}

/// The config of an Airbyte command.
#[derive(Args, Debug)]
pub struct AirbyteConfigArgs {
    /// The config (JSON), as `spec` describes it.
    #[arg(long)]
    pub config: PathBuf,
}

/// Arguments of `airbyte read`.
#[derive(Args, Debug)]
pub struct AirbyteReadArgs {
    /// The config.
    #[command(flatten)]
    pub config: AirbyteConfigArgs,
    /// The configured catalog (JSON).
    #[arg(long)]
    pub catalog: PathBuf,
    /// The states the previous read emitted (a JSON list); absent on the first.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// The `customers` commands.
#[derive(Subcommand, Debug)]
pub enum CustomersCommand {
    /// Replace the customer list (one for the whole database) with a CSV or
    /// JSON file of `id`, `name`, `domains`, then re-match the connections
    /// matched before.
    Import(CustomersImportArgs),
    /// Match the connection's organizations to customers (by domain, then
    /// by name), propagate to people and tickets, and print each
    /// organization's outcome with its reason.
    Match(CustomersMatchArgs),
}

/// Arguments of `customers import`.
#[derive(Args, Debug)]
pub struct CustomersImportArgs {
    /// The customer list (CSV with a header row, or JSON).
    pub file: PathBuf,
    /// Also match this connection now (the list itself is shared).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

/// Arguments of `customers match`.
#[derive(Args, Debug)]
pub struct CustomersMatchArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Replace the connection's overrides with this file (CSV or JSON of
    /// `organization`, `action` (pin or forbid), `customer`); without it the
    /// stored overrides apply.
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
}

/// Arguments of `rotate-key`.
#[derive(Args, Debug)]
pub struct RotateKeyArgs {
    /// Write the new key here instead of over the current key file
    /// (required when the key comes from CONNECTOR_HOST_KEY).
    #[arg(long, value_name = "FILE")]
    pub new_key_file: Option<PathBuf>,
}

/// Arguments of `report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Also write the signals as a self-contained HTML page with charts.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Tickets created from this day on (YYYY-MM-DD, UTC); default: 26
    /// weeks before `--until`.
    #[arg(long, value_name = "DAY", value_parser = parse_day, conflicts_with = "all")]
    pub since: Option<i64>,
    /// Tickets created up to and including this day (YYYY-MM-DD, UTC);
    /// default: now.
    #[arg(long, value_name = "DAY", value_parser = parse_day, conflicts_with = "all")]
    pub until: Option<i64>,
    /// The whole history, from the first ticket to the last. Windows over
    /// 26 weeks are summarized by month.
    #[arg(long)]
    pub all: bool,
}

/// A `YYYY-MM-DD` day as Unix seconds at its start (UTC).
fn parse_day(text: &str) -> Result<i64, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, format)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| format!("`{text}` is not a day like 2026-01-31"))
}

impl ReportArgs {
    /// The window asked for, as of `now` (Unix seconds).
    pub fn range(&self, now: i64) -> connector_platform::window::Range {
        use connector_platform::window::Range;
        const DAY: i64 = 86_400;
        if self.all {
            return Range::default();
        }
        let until = self.until.map_or(now, |day| day + DAY);
        Range {
            since: Some(self.since.unwrap_or(until - 26 * 7 * DAY)),
            until: Some(until),
        }
    }
}

/// Arguments of `sync`.
#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Only these streams (comma-separated) and what they depend on.
    #[arg(long, value_delimiter = ',')]
    pub streams: Vec<String>,
    /// Keep syncing on this schedule (e.g. 15m, 1h, 1d) until interrupted.
    #[arg(long, value_parser = crate::connection_file::parse_duration)]
    pub every: Option<std::time::Duration>,
    /// Items per page to ask the API for (default: the connector's).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Share of each API budget left for the account's other integrations.
    #[arg(long, default_value_t = 0.1)]
    pub reserve: f64,
    /// Streams synced at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Do not keep raw records (then `remap` cannot rebuild the data).
    #[arg(long)]
    pub no_raw: bool,
}

/// Arguments of `export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The stream to export.
    #[arg(
        long,
        required_unless_present = "documents",
        conflicts_with = "documents"
    )]
    pub stream: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Export one document per ticket (the conversation, its properties,
    /// requester, organization and customer) instead of a stream.
    #[arg(long)]
    pub documents: bool,
    /// With --documents: put internal notes in the conversation.
    #[arg(long, requires = "documents")]
    pub internal_notes: bool,
    /// With --documents: only tickets on which a customer commented.
    #[arg(long, requires = "documents")]
    pub only_customer_feedback: bool,
    /// With --documents: only the N most recently updated tickets.
    #[arg(long, requires = "documents", value_name = "N")]
    pub limit: Option<usize>,
}

/// Arguments of `demo`.
#[cfg(feature = "demo")]
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Tickets in the simulated account.
    #[arg(long, default_value_t = 2000)]
    pub tickets: usize,
}

/// Selects a plugin without a connection.
#[derive(Args, Debug)]
pub struct PluginArgs {
    /// `zendesk` for the built-in connector, or a component file.
    #[arg(long, default_value = "zendesk")]
    pub plugin: String,
}

/// Selects a connection.
#[derive(Args, Debug)]
pub struct ConnectionArgs {
    /// The connection file (TOML).
    #[arg(long, short)]
    pub config: PathBuf,
}

/// Arguments of `authorize`.
#[derive(Args, Debug)]
pub struct AuthorizeArgs {
    /// The connection file (TOML): the OAuth client's id and secret, no token.
    #[arg(long, short)]
    pub config: PathBuf,
    /// The port on 127.0.0.1 the provider redirects to; the OAuth client
    /// must list `http://127.0.0.1:PORT/callback` as a redirect URL. 0 picks
    /// a free port.
    #[arg(long, default_value_t = 8749)]
    pub port: u16,
    /// Print the address to open instead of also opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// How long to wait for the redirect, e.g. `5m`.
    #[arg(long, default_value = "5m", value_parser = crate::connection_file::parse_duration)]
    pub timeout: std::time::Duration,
}

/// Arguments of `map`.
#[derive(Args, Debug)]
pub struct MapArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The stream the records come from.
    #[arg(long)]
    pub stream: String,
    /// The file of raw records (default: standard input).
    pub file: Option<PathBuf>,
}
