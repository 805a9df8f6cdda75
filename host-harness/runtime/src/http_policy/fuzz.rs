//! Fuzz targets of the outbound policy: origins, request URIs, host
//! templates and `--resolve` pins on arbitrary text, and the address
//! classes. Each is a `#[test]` that `cargo test` runs for [`CI_TIME`] of
//! random input and `cargo +nightly bolero test -p connector-runtime
//! http_policy::fuzz::<target>` runs under libFuzzer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::*;
use crate::template::{fill_template, template_fields};

/// How long each target runs under `cargo test`.
const CI_TIME: Duration = Duration::from_millis(1500);

/// Text from bytes over a small alphabet, so that the fuzzer meets the
/// characters that matter (braces, separators, brackets) often.
fn spelled(bytes: &[u8], alphabet: &[&str]) -> String {
    bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()])
        .collect()
}

/// What a URL's authority is made of, and what smuggles things into it.
const URL_PARTS: &[&str] = &[
    "a",
    "Z",
    "0",
    "9",
    "-",
    ".",
    ":",
    "[",
    "]",
    "/",
    "?",
    "#",
    "@",
    "%",
    "\\",
    " ",
    "\r\n",
    "\t",
    "443",
    "::1",
    "127.0.0.1",
    "zendesk.com",
    "xn--",
    "é",
    "\u{0}",
    "https://",
    "http://",
];

/// An accepted origin is plain, lower case, and reads back as itself.
fn assert_plain(origin: &Origin, from: &str) {
    assert!(!origin.host.is_empty(), "{from:?}");
    assert_ne!(origin.port, 0, "{from:?}");
    assert_eq!(origin.host, origin.host.to_ascii_lowercase(), "{from:?}");
    assert!(
        origin
            .host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:".contains(c)),
        "{from:?} gave the host {:?}",
        origin.host
    );
    assert_eq!(
        Origin::parse(&origin.to_string()).as_ref(),
        Ok(origin),
        "{from:?} does not read back"
    );
}

/// Target `origins_are_plain`: arbitrary text, and text made of URL parts
/// after `https://`.
#[test]
fn origins_are_plain() {
    bolero::check!()
        .with_type::<(String, Vec<u8>)>()
        .with_test_time(CI_TIME)
        .for_each(|(text, parts)| {
            let spelled = format!("https://{}", spelled(parts, URL_PARTS));
            for text in [text.as_str(), spelled.as_str()] {
                if let Ok(origin) = Origin::parse(text) {
                    assert_plain(&origin, text);
                }
            }
        });
}

/// Target `request_uris_keep_their_origin`: the origin the policy checks
/// for a request URI (from its authority, as `state.rs` does) is the host
/// and port `http` reads in the URI, and the URI the sender rebuilds from
/// the origin and the path (`outbound.rs`) has that origin again.
#[test]
fn request_uris_keep_their_origin() {
    bolero::check!()
        .with_type::<(Vec<u8>, String)>()
        .with_test_time(CI_TIME)
        .for_each(|(parts, path)| {
            let text = format!("https://{}{path}", spelled(parts, URL_PARTS));
            let Ok(uri) = text.parse::<http::Uri>() else {
                return;
            };
            let Some(authority) = uri.authority() else {
                return;
            };
            let Ok(origin) = Origin::parse(&format!("https://{authority}")) else {
                return;
            };
            assert_plain(&origin, &text);
            let host = uri.host().expect("an authority has a host");
            let host = host.trim_start_matches('[').trim_end_matches(']');
            assert_eq!(origin.host, host.to_ascii_lowercase(), "{text:?}");
            assert_eq!(origin.port, uri.port_u16().unwrap_or(443), "{text:?}");
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let rebuilt: http::Uri = format!("{origin}{path}")
                .parse()
                .unwrap_or_else(|e| panic!("{text:?} rebuilt from {origin}: {e}"));
            let again = rebuilt
                .authority()
                .and_then(|a| Origin::parse(&format!("https://{a}")).ok());
            assert_eq!(again.as_ref(), Some(&origin), "{text:?}");
        });
}

/// Characters no host value may bring into a host template.
const SMUGGLERS: &[char] = &['/', '@', '#', '?', '\\', '%', ' ', '\r', '\n', '\t', '\0'];

/// Target `host_templates_cannot_escape`: a value filled into a declared
/// host template gives exactly the host the template says, or an error;
/// `/`, `@`, `#`, `\r\n` and the like are always refused.
#[test]
fn host_templates_cannot_escape() {
    bolero::check!()
        .with_type::<(u8, Vec<u8>, u16, String)>()
        .with_test_time(CI_TIME)
        .for_each(|(which, parts, port, template)| {
            let value = spelled(parts, URL_PARTS);
            let config = json!({"subdomain": value, "host": value, "region": value, "port": port});
            let lower = value.to_ascii_lowercase();
            let bare = lower.trim_start_matches('[').trim_end_matches(']');
            let known =
                |template: &'static str, host: String, port: u16| (template, Some((host, port)));
            let (template, expected) = match which % 7 {
                0 => known(
                    "https://{subdomain}.zendesk.com",
                    format!("{lower}.zendesk.com"),
                    443,
                ),
                1 => known(
                    "https://{subdomain}.zendesk.com/",
                    format!("{lower}.zendesk.com"),
                    443,
                ),
                2 => known(
                    "https://api.{region}.example.com:8443",
                    format!("api.{lower}.example.com"),
                    8443,
                ),
                // A bare host field may carry the operator's port.
                3 => match Origin::parse(&format!("https://{value}")) {
                    Ok(o) => known("https://{host}", o.host, o.port),
                    Err(_) => known("https://{host}", String::new(), 0),
                },
                4 => known("https://{host}:8443", bare.to_owned(), 8443),
                5 => known("https://{host}:{port}", bare.to_owned(), *port),
                _ => (template.as_str(), None),
            };
            let Ok(origin) = Origin::from_template(template, &config) else {
                return;
            };
            assert_plain(&origin, template);
            if let Some((host, port)) = expected {
                assert!(!value.contains(SMUGGLERS), "{value:?} was accepted");
                assert_eq!((origin.host, origin.port), (host, port), "{value:?}");
            }
        });
}

/// Target `templates_read_only_their_fields`: filling a template reads
/// exactly the fields `template_fields` names (the host checks those
/// fields' values), and a value refused by `accept` never gets in.
#[test]
fn templates_read_only_their_fields() {
    const ALPHABET: &[&str] = &["{", "}", "a", "b", "x", ".", "/", "\r\n"];
    bolero::check!()
        .with_type::<(Vec<u8>, Vec<(Vec<u8>, String)>)>()
        .with_test_time(CI_TIME)
        .for_each(|(template, fields)| {
            let template = spelled(template, ALPHABET);
            let mut full = Map::new();
            for (name, value) in fields {
                full.insert(spelled(name, ALPHABET), Value::String(value.clone()));
            }
            // Every text between a `{` and a later `}` may be looked up.
            for (i, _) in template.match_indices('{') {
                for (j, _) in template[i..].match_indices('}') {
                    let name = &template[i + 1..i + j];
                    full.entry(name)
                        .or_insert_with(|| json!(format!("<{name}>")));
                }
            }
            let named: Map<String, Value> = template_fields(&template)
                .into_iter()
                .filter_map(|f| Some((f.to_owned(), full.get(f)?.clone())))
                .collect();
            let (full, named) = (Value::Object(full), Value::Object(named));
            let no_newline = |v: &str| !v.contains(['\r', '\n']);
            let filled = fill_template(&template, &full, no_newline);
            assert_eq!(
                filled,
                fill_template(&template, &named, no_newline),
                "{template:?} reads a field template_fields does not name"
            );
            if let Ok(filled) = filled {
                // Newlines come from the template's text only.
                let newlines = |t: &str| t.matches(['\r', '\n']).count();
                assert!(newlines(&filled) <= newlines(&template), "{template:?}");
            }
        });
}

/// Target `resolve_pins_parse_or_refuse`: `--resolve` entries parse or are
/// refused; a parsed entry pins its lower-cased host and port.
#[test]
fn resolve_pins_parse_or_refuse() {
    bolero::check!()
        .with_type::<(String, Vec<u8>)>()
        .with_test_time(CI_TIME)
        .for_each(|(text, parts)| {
            let spelled = spelled(parts, URL_PARTS);
            for entry in [text.as_str(), spelled.as_str()] {
                let Ok(pins) = ResolveOverrides::parse(&[entry]) else {
                    continue;
                };
                let mut fields = entry.splitn(3, ':');
                let host = fields.next().expect("a host").to_ascii_lowercase();
                let port = fields.next().expect("a port").parse().expect("a port");
                let origin = Origin { host, port };
                assert!(pins.lookup(&origin).is_some(), "{entry:?} pins nothing");
            }
        });
}

/// Target `addresses_classify_consistently`: an IPv4 address is classified
/// alike in every IPv6 form that carries it, and only public addresses
/// are allowed without `--allow-private-network`.
#[test]
fn addresses_classify_consistently() {
    bolero::check!()
        .with_type::<(u32, u128)>()
        .with_test_time(CI_TIME)
        .for_each(|(v4, v6)| {
            let v4 = Ipv4Addr::from(*v4);
            let class = classify(IpAddr::V4(v4));
            let [a, b, c, d] = v4.octets();
            let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0).to_bits()
                | u128::from(u32::from_be_bytes([a, b, c, d]));
            for carried in [v4.to_ipv6_mapped(), Ipv6Addr::from_bits(nat64)] {
                assert_eq!(classify(IpAddr::V6(carried)), class, "{v4} as {carried}");
            }
            for ip in [IpAddr::V4(v4), IpAddr::V6(Ipv6Addr::from_bits(*v6))] {
                let public = classify(ip) == AddressClass::Public;
                assert_eq!(address_allowed(ip, false), public, "{ip}");
                assert!(address_allowed(ip, true) || classify(ip) == AddressClass::Special);
            }
        });
}
