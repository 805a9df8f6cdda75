//! The platform commands (`customers`, `report`, `export --documents`):
//! files named on the command line read, results printed, on top of the
//! `connector-platform` crate.

use std::path::Path;

use connector_platform::match_report::{report_text, MatchReport};
use connector_platform::model::Status;
use connector_platform::window::Range;
use connector_platform::{customers, documents, html, matching, overrides, signals, PlatformStore};
use connector_runtime::ConnectorError;

use crate::connection_file::connection_name;

/// Read a text file named on the command line (`flag` names it in errors).
pub fn read_text(path: &Path, flag: &str) -> Result<String, ConnectorError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConnectorError::config(flag, format!("cannot read {}: {e}", path.display())))
}

/// `customers import FILE [--config FILE]`: replace the customer list, then
/// re-match every connection matched before (and the given one). Returns
/// what to print.
pub fn import_customers(
    db: &dyn PlatformStore,
    file: &Path,
    config: Option<&Path>,
) -> Result<String, ConnectorError> {
    let named = config.map(connection_name).transpose()?;
    let text = read_text(file, "FILE")?;
    let (list, warnings) = customers::parse_customers(&text, &file.display().to_string())?;
    let summary = customers::import(db, &list)?;
    let mut out: String = warnings.iter().map(|w| format!("warning: {w}\n")).collect();
    out.push_str(&format!(
        "customers: {} added, {} updated, {} unchanged, {} removed ({} in the list)\n",
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.removed,
        list.len()
    ));
    let mut connections = db.matched_connections()?;
    connections.extend(named);
    connections.sort();
    connections.dedup();
    if connections.is_empty() {
        out.push_str("match a connection with `customers match --config FILE`\n");
    }
    for connection in connections {
        let report = matching::run(db, &connection)?;
        out.push_str(&format!("{connection}: {}\n", summary_line(&report)));
    }
    Ok(out)
}

/// `customers match --config FILE [--overrides FILE]`: the full matching
/// report.
pub fn match_customers(
    db: &dyn PlatformStore,
    config: &Path,
    overrides: Option<&Path>,
) -> Result<String, ConnectorError> {
    let connection = connection_name(config)?;
    let mut out = String::new();
    if let Some(path) = overrides {
        let rules = overrides::parse_overrides(
            &read_text(path, "--overrides")?,
            &path.display().to_string(),
        )?;
        for warning in overrides::replace_overrides(db, &connection, &rules, "--overrides")? {
            out.push_str(&format!("warning: {warning}\n"));
        }
        out.push_str(&format!("overrides: {} rules\n", rules.len()));
    }
    if db.customers()?.is_empty() {
        return Err(no_customers());
    }
    out.push_str(&report_text(&matching::run(db, &connection)?));
    Ok(out)
}

/// `report --config FILE [--html FILE] [--since DAY] [--until DAY] [--all]`:
/// re-match, then the signals over the window (and the page).
pub fn report(
    db: &dyn PlatformStore,
    config: &Path,
    html: Option<&Path>,
    range: Range,
) -> Result<String, ConnectorError> {
    let connection = connection_name(config)?;
    if db.customers()?.is_empty() {
        return Err(no_customers());
    }
    let matched = matching::run(db, &connection)?;
    eprintln!("matching: {}", summary_line(&matched));
    let signals = signals::load(db, &connection, range)?;
    let mut out = signals::table(&signals, &ADVICE);
    if let Some(path) = html {
        std::fs::write(path, html::page(&signals)).map_err(|e| {
            ConnectorError::config("--html", format!("cannot write {}: {e}", path.display()))
        })?;
        out.push_str(&format!("wrote {}\n", path.display()));
    }
    Ok(out)
}

/// `export --documents`: re-match when there is a customer list, then
/// write the documents. Returns how many.
pub fn export_documents(
    db: &dyn PlatformStore,
    config: &Path,
    options: &documents::DocumentOptions,
    out: &mut dyn std::io::Write,
) -> Result<u64, ConnectorError> {
    let connection = connection_name(config)?;
    if !db.customers()?.is_empty() {
        let matched = matching::run(db, &connection)?;
        eprintln!("matching: {}", summary_line(&matched));
    }
    documents::export(db, &connection, options, out)
}

/// What the signals table advises, in this program's commands.
const ADVICE: signals::Advice<'static> = signals::Advice {
    no_customers: "import the customer list (`customers import FILE`) \
                   and check `customers match --config FILE`",
    unattributed: "`customers match --config FILE` shows why",
    whole_history:
        "`report --all` covers the whole history, `--since DAY` and `--until DAY` another window",
};

fn no_customers() -> ConnectorError {
    ConnectorError::config(
        "customers",
        "the customer list is empty; import it with `connector-host customers import FILE`",
    )
}

/// One line on a matching run.
fn summary_line(report: &MatchReport) -> String {
    format!(
        "{} of {} organizations matched ({} ambiguous), {} of {} tickets attributed",
        report.count(Status::Matched),
        report.organizations.len(),
        report.count(Status::Ambiguous),
        report.tickets_attributed,
        report.tickets
    )
}
