//! Fuzz target of connection files: arbitrary text and TOML spelled from
//! a connection file's own pieces. A file parses or is refused with a
//! reason; a parsed one gives refresh intervals (which the sync plan
//! honours) and a config, or config errors naming the field. `cargo test`
//! runs it for [`CI_TIME`]; `cargo +nightly bolero test -p connector-host
//! --lib connection_file::fuzz::connection_files_parse_or_say_why` under
//! libFuzzer.

use std::time::Duration;

use connector_runtime::contract::StreamInfo;
use connector_sync::SyncOptions;

use super::*;

/// How long the target runs under `cargo test`.
const CI_TIME: Duration = Duration::from_millis(1500);

/// The pieces connection files are made of.
const PIECES: &[&str] = &[
    "\n",
    "plugin = \"zendesk\"\n",
    "plugin = \"x.wasm\"\n",
    "name = \"n\"\n",
    "auth = \"a\"\n",
    "allow_private_network = true\n",
    "[config]\n",
    "[secrets]\n",
    "[refresh]\n",
    "users = \"18446744073709551615\"\n",
    "tickets = \"1d\"\n",
    "users = \"every-sync\"\n",
    "subdomain = \"acme\"\n",
    "api_token = ",
    "token = ",
    "users = ",
    "tickets = ",
    "{ env = \"TOKEN\" }",
    "{ file = \"secret\" }",
    "{ env = \"\" }",
    "{ file = \"\" }",
    "\"every-sync\"",
    "\"1d\"",
    "\"0\"",
    "\"90\"",
    "\"1h 30m\"",
    "\"18446744073709551615\"",
    "\"9223372036854775808s\"",
    "\"99999999999999999999w\"",
    "\"-1s\"",
    "1979-05-27T07:32:00Z",
    "nan",
    "inf",
    "1e400",
    "[[config.x]]\n",
    "\"\"\"",
    "'",
    "=",
    ".",
    "\"é\u{0}\"",
    "[",
    "]",
];

fn spelled(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| PIECES[usize::from(*b) % PIECES.len()])
        .collect()
}

/// A refusal is a config error naming its field, with a message.
fn assert_named(error: &ConnectorError, prefix: &str, text: &str) {
    let ConnectorError::Config(fields) = error else {
        panic!("{text:?}: not a config error: {error:?}");
    };
    for field in fields {
        assert!(field.field.starts_with(prefix), "{text:?}: {field:?}");
        assert!(!field.message.is_empty(), "{text:?}");
    }
}

/// The refresh intervals, as the sync plan honours them: a stream that
/// synced a second ago is not due when its interval is longer.
fn check_refresh(file: &ConnectionFile, text: &str) {
    let overrides = match file.refresh_overrides() {
        Ok(overrides) => overrides,
        Err(e) => return assert_named(&e, "refresh.", text),
    };
    let streams: Vec<StreamInfo> = overrides
        .keys()
        .map(|name| StreamInfo {
            name: name.clone(),
            refresh_every_seconds: Some(3600),
            ..StreamInfo::default()
        })
        .collect();
    let options = SyncOptions {
        refresh_every: refresh_intervals(&streams, &overrides),
        ..SyncOptions::default()
    };
    let now = 1_700_000_000;
    let not_due = connector_sync::not_due(&streams, &options, |_| Some(now - 1), now);
    for (stream, every) in &overrides {
        assert!(every.is_none_or(|e| !e.is_zero()), "{text:?}: {stream}");
        let waits = every.is_none_or(|e| e > Duration::from_secs(1));
        let waiting = not_due.iter().any(|(s, _)| s == stream);
        assert_eq!(
            waiting,
            every.is_some() && waits,
            "{text:?}: {stream} {every:?}"
        );
    }
}

/// The config with every secret: file secrets read from one temporary
/// file (never a path from the input), env secrets from `env`.
fn check_config(file: &ConnectionFile, text: &str, secret_file: &Path, env_value: &str) {
    let mut file = file.clone();
    for source in file.secrets.values_mut() {
        if let SecretSource::File(path) = source {
            *path = secret_file.to_path_buf();
        }
    }
    let env = |_: &str| Some(env_value.to_owned());
    for secrets in [Secrets::Required, Secrets::IfAvailable] {
        match file.resolved_config(env, secrets) {
            Ok(config) => {
                let config = config.as_object().expect("an object");
                for field in file.secrets.keys().chain(file.config.keys()) {
                    assert!(config.contains_key(field), "{text:?}: {field} lost");
                }
            }
            Err(e) => assert_named(&e, "", text),
        }
    }
}

/// Target `connection_files_parse_or_say_why`.
#[test]
fn connection_files_parse_or_say_why() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, " s3cret \n").expect("the secret file is written");
    bolero::check!()
        .with_type::<(String, Vec<u8>, String)>()
        .with_test_time(CI_TIME)
        .for_each(|(text, pieces, env_value)| {
            let spelled = format!("plugin = \"zendesk\"\n{}", spelled(pieces));
            for text in [text.as_str(), spelled.as_str()] {
                let file = match ConnectionFile::parse(text) {
                    Ok(file) => file,
                    Err(reason) => {
                        assert!(
                            reason.starts_with("not a valid connection file"),
                            "{reason}"
                        );
                        continue;
                    }
                };
                let _ = file.plugin(Path::new("/etc/connections/acme.toml"));
                assert!(!file.name_for(Path::new("acme.toml")).is_empty() || file.name.is_some());
                check_refresh(&file, text);
                check_config(&file, text, &secret_file, env_value);
            }
        });
}

#[test]
fn fuzz_regression_a_huge_interval_is_not_every_sync() {
    // Shrunk from the target: the interval was due on every sync (see
    // connector-sync's `fuzz_regression_an_interval_beyond_i64_seconds...`).
    let text = "plugin = \"zendesk\"\n[refresh]\nusers = \"18446744073709551615\"\n";
    let file = ConnectionFile::parse(text).unwrap();
    check_refresh(&file, text);
}

#[test]
fn a_secret_file_that_never_ends_is_refused() {
    // Found while writing the target (which never reads paths from its
    // input): `token = { file = "/dev/zero" }` read without end.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'x'; MAX_SECRET_FILE_BYTES as usize + 1]).unwrap();
    let exact = dir.path().join("exact");
    std::fs::write(&exact, vec![b'y'; MAX_SECRET_FILE_BYTES as usize]).unwrap();
    let mut paths = vec![big];
    if cfg!(unix) {
        paths.push(PathBuf::from("/dev/zero"));
    }
    for path in paths {
        let text = format!("plugin = \"zendesk\"\n[secrets]\ntoken = {{ file = {path:?} }}\n");
        let file = ConnectionFile::parse(&text).unwrap();
        let error = file
            .resolved_config(|_| None, Secrets::Required)
            .unwrap_err();
        assert_named(&error, "token", &text);
        assert!(
            error.to_string().contains("too many for a secret"),
            "{error}"
        );
    }
    let text = format!("plugin = \"zendesk\"\n[secrets]\ntoken = {{ file = {exact:?} }}\n");
    let config = ConnectionFile::parse(&text)
        .unwrap()
        .resolved_config(|_| None, Secrets::Required)
        .unwrap();
    assert_eq!(
        config["token"].as_str().map(str::len),
        Some(MAX_SECRET_FILE_BYTES as usize)
    );
}
