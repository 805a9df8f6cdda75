//! The connection file an operator writes (`--config FILE`, TOML): which
//! plugin, its config, and where each secret comes from. Secrets are read
//! from environment variables or files, never typed on a command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use connector_runtime::contract::StreamInfo;
use connector_runtime::ConnectorError;

/// Where a secret's value comes from.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SecretSource {
    /// An environment variable of the host process.
    Env(String),
    /// A file; surrounding whitespace is trimmed.
    File(PathBuf),
}

/// A parsed connection file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConnectionFile {
    /// Connection name; defaults to the file's stem.
    #[serde(default)]
    pub name: Option<String>,
    /// `zendesk` for the built-in connector, or a path to a `.wasm` component
    /// (relative paths are relative to the file).
    pub plugin: String,
    /// Auth scheme id, when the connector supports several.
    #[serde(default)]
    pub auth: Option<String>,
    /// The connector's config, without secrets.
    #[serde(default)]
    pub config: toml::Table,
    /// Secret config fields and where their values come from.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSource>,
    /// Allow connections to loopback and private addresses (tests, on-premise APIs).
    #[serde(default)]
    pub allow_private_network: bool,
    /// Streams refreshed less often than every sync, e.g. `users = "1d"`;
    /// `"every-sync"` refreshes a stream every time.
    #[serde(default)]
    pub refresh: BTreeMap<String, String>,
}

/// Per stream, the operator's refresh interval (`None`: every sync).
pub type RefreshOverrides = BTreeMap<String, Option<std::time::Duration>>;

/// Each stream's refresh interval: the connector's defaults (from
/// `discover`), then the operator's overrides.
pub fn refresh_intervals(
    streams: &[StreamInfo],
    overrides: &RefreshOverrides,
) -> BTreeMap<String, std::time::Duration> {
    let mut intervals: BTreeMap<String, std::time::Duration> = streams
        .iter()
        .filter_map(|s| {
            let every = s.refresh_every_seconds?;
            Some((s.name.clone(), std::time::Duration::from_secs(every)))
        })
        .collect();
    for (stream, every) in overrides {
        match every {
            Some(every) => intervals.insert(stream.clone(), *every),
            None => intervals.remove(stream),
        };
    }
    intervals
}

/// Whether a command needs the connection's secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// The command talks to the API: every secret must be readable.
    Required,
    /// The command never talks to the API (`map`, `remap`): a secret that
    /// cannot be read is replaced by a placeholder, never sent anywhere.
    IfAvailable,
}

/// The value of a secret that an offline command could not read.
pub const UNAVAILABLE_SECRET: &str = "<not available offline>";

/// Which connector a connection runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plugin {
    /// The Zendesk connector built into this binary.
    BuiltinZendesk,
    /// A component file.
    File(PathBuf),
}

impl Plugin {
    /// The plugin a `--plugin` value names: `zendesk`, or a component file
    /// (relative to the working directory).
    pub fn named(name: &str) -> Self {
        match name {
            "zendesk" => Plugin::BuiltinZendesk,
            path => Plugin::File(PathBuf::from(path)),
        }
    }
}

impl ConnectionFile {
    /// Read and parse a connection file.
    pub fn load(path: &Path) -> Result<(Self, PathBuf), ConnectorError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConnectorError::config(
                "--config",
                format!(
                    "cannot read {}: {e}; pass the path of a connection file",
                    path.display()
                ),
            )
        })?;
        let parsed = Self::parse(&text)
            .map_err(|e| ConnectorError::config(&path.display().to_string(), e))?;
        Ok((parsed, path.to_path_buf()))
    }

    /// Parse the TOML text of a connection file.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| format!("not a valid connection file: {}", e.message()))
    }

    /// The connection's name: explicit, else the file stem.
    pub fn name_for(&self, path: &Path) -> String {
        self.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "default".into())
        })
    }

    /// Which plugin to load; relative paths resolve against the file's folder.
    pub fn plugin(&self, file: &Path) -> Plugin {
        if self.plugin == "zendesk" {
            return Plugin::BuiltinZendesk;
        }
        let path = Path::new(&self.plugin);
        Plugin::File(if path.is_absolute() {
            path.to_path_buf()
        } else {
            file.parent().unwrap_or(Path::new(".")).join(path)
        })
    }

    /// The operator's refresh intervals (`[refresh]`), over the
    /// connector's defaults: a stream with `Some` is refreshed at that
    /// interval, one with `None` (`"every-sync"`) on every sync.
    pub fn refresh_overrides(&self) -> Result<RefreshOverrides, ConnectorError> {
        self.refresh
            .iter()
            .map(|(stream, every)| {
                if every == "every-sync" {
                    return Ok((stream.clone(), None));
                }
                let interval = parse_duration(every).map_err(|e| {
                    ConnectorError::config(
                        &format!("refresh.{stream}"),
                        format!("{e}, or \"every-sync\""),
                    )
                })?;
                Ok((stream.clone(), Some(interval)))
            })
            .collect()
    }

    /// The full config: the `[config]` table plus every secret, read from
    /// its source. Errors name the field and the source, never a value.
    pub fn resolved_config(
        &self,
        env: impl Fn(&str) -> Option<String>,
        secrets: Secrets,
    ) -> Result<serde_json::Value, ConnectorError> {
        let mut config = serde_json::to_value(&self.config)
            .map_err(|e| ConnectorError::config("config", e.to_string()))?;
        let map = config.as_object_mut().expect("a TOML table is an object");
        for (field, source) in &self.secrets {
            let value = match source {
                SecretSource::Env(var) => env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                    ConnectorError::config(
                        field,
                        format!(
                            "the environment variable {var} is not set; export it before running"
                        ),
                    )
                }),
                SecretSource::File(path) => read_secret(path)
                    .map(|v| v.trim().to_string())
                    .map_err(|e| {
                        ConnectorError::config(
                            field,
                            format!("cannot read the secret file {}: {e}", path.display()),
                        )
                    }),
            };
            let value = match (value, secrets) {
                (Ok(value), _) => value,
                (Err(_), Secrets::IfAvailable) => UNAVAILABLE_SECRET.to_string(),
                (Err(e), Secrets::Required) => return Err(e),
            };
            if map.contains_key(field) {
                return Err(ConnectorError::config(
                    field,
                    "is set both in [config] and in [secrets]; keep it only in [secrets]",
                ));
            }
            map.insert(field.clone(), serde_json::Value::String(value));
        }
        Ok(config)
    }
}

/// Largest secret file read: a secret is a token or a key, and a path to
/// something endless (`/dev/zero`) must not exhaust memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 1 << 20;

/// A secret file's text, at most [`MAX_SECRET_FILE_BYTES`].
fn read_secret(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it holds more than {MAX_SECRET_FILE_BYTES} bytes, too many for a secret"),
        ));
    }
    Ok(text)
}

/// The name of the connection a connection file describes, without
/// loading its connector or reading its secrets.
pub fn connection_name(file: &Path) -> Result<String, ConnectorError> {
    let (parsed, path) = ConnectionFile::load(file)?;
    Ok(parsed.name_for(&path))
}

/// Parse an interval: plain seconds (`90`) or a duration such as `30s`,
/// `15m`, `1h`, `1d`, `1w` or `1h 30m` (humantime's units).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let parsed = match text.parse::<u64>() {
        Ok(seconds) => std::time::Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(text)
            .map_err(|e| format!("`{text}` is not a duration like 30s, 15m, 1h or 1d ({e})"))?,
    };
    if parsed.is_zero() {
        return Err("the interval must be longer than zero".into());
    }
    Ok(parsed)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
plugin = "zendesk"
auth = "api_token"

[config]
subdomain = "acme"
email = "admin@acme.test"
import_comments = true

[secrets]
api_token = { env = "ZD_TOKEN" }
"#;

    #[test]
    fn secrets_come_from_their_sources() {
        let file = ConnectionFile::parse(FILE).unwrap();
        assert_eq!(
            file.plugin(Path::new("/x/acme.toml")),
            Plugin::BuiltinZendesk
        );
        assert_eq!(file.name_for(Path::new("/x/acme.toml")), "acme");
        let config = file
            .resolved_config(
                |var| (var == "ZD_TOKEN").then(|| "t0ken".to_string()),
                Secrets::Required,
            )
            .unwrap();
        assert_eq!(config["api_token"], "t0ken");
        assert_eq!(config["import_comments"], true);

        let err = file
            .resolved_config(|_| None, Secrets::Required)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("api_token") && err.contains("ZD_TOKEN"),
            "{err}"
        );
        // Commands that never talk to the API run without the secret.
        let offline = file
            .resolved_config(|_| None, Secrets::IfAvailable)
            .unwrap();
        assert_eq!(offline["api_token"], UNAVAILABLE_SECRET);
        assert_eq!(offline["import_comments"], true);

        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("token");
        std::fs::write(&secret, "from-file\n").unwrap();
        let with_file = FILE.replace(
            r#"{ env = "ZD_TOKEN" }"#,
            &format!("{{ file = {:?} }}", secret.display().to_string()),
        );
        let config = ConnectionFile::parse(&with_file)
            .unwrap()
            .resolved_config(|_| None, Secrets::Required)
            .unwrap();
        assert_eq!(config["api_token"], "from-file");
    }

    #[test]
    fn the_connectors_refresh_defaults_yield_to_the_file() {
        let stream = |name: &str, every: Option<u64>| StreamInfo {
            name: name.into(),
            refresh_every_seconds: every,
            ..StreamInfo::default()
        };
        let streams = [
            stream("users", Some(86_400)),
            stream("organizations", Some(86_400)),
            stream("tickets", None),
            stream("tags", None),
        ];
        let file = ConnectionFile::parse(FILE).unwrap();
        let intervals = refresh_intervals(&streams, &file.refresh_overrides().unwrap());
        assert_eq!(intervals["users"].as_secs(), 86_400);
        assert_eq!(intervals["organizations"].as_secs(), 86_400);
        assert!(!intervals.contains_key("tickets"));
        let custom = ConnectionFile::parse(&format!(
            "{FILE}\n[refresh]\nusers = \"every-sync\"\ntags = \"7d\"\n"
        ))
        .unwrap();
        let intervals = refresh_intervals(&streams, &custom.refresh_overrides().unwrap());
        assert!(!intervals.contains_key("users"));
        assert_eq!(intervals["organizations"].as_secs(), 86_400);
        assert_eq!(intervals["tags"].as_secs(), 7 * 86_400);
        let bad = ConnectionFile::parse(&format!("{FILE}\n[refresh]\nusers = \"soon\"\n")).unwrap();
        assert!(bad
            .refresh_overrides()
            .unwrap_err()
            .to_string()
            .contains("refresh.users"));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let err = ConnectionFile::parse("plugin = 3").unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
        let err = ConnectionFile::parse("plugin = \"x\"\nsecrt = 1").unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
        let file = ConnectionFile::parse("plugin = \"conn/x.wasm\"").unwrap();
        assert_eq!(
            file.plugin(Path::new("/etc/conns/a.toml")),
            Plugin::File(PathBuf::from("/etc/conns/conn/x.wasm"))
        );
        let dup = ConnectionFile::parse(
            "plugin = \"x\"\n[config]\nk = \"v\"\n[secrets]\nk = { env = \"K\" }",
        )
        .unwrap();
        assert!(dup
            .resolved_config(|_| Some("s".into()), Secrets::IfAvailable)
            .is_err());
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("15m").unwrap().as_secs(), 900);
        assert_eq!(parse_duration("1h").unwrap().as_secs(), 3600);
        assert_eq!(parse_duration("2d").unwrap().as_secs(), 172_800);
        assert_eq!(parse_duration("1w").unwrap().as_secs(), 604_800);
        assert_eq!(parse_duration("1h 30m").unwrap().as_secs(), 5_400);
        assert!(parse_duration("1x")
            .unwrap_err()
            .contains("not a duration like 30s"));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
