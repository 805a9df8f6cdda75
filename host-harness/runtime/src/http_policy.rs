//! The outbound HTTP policy, as pure functions: which origins a connection
//! may reach, which resolved addresses it may connect to, and the operator's
//! `--resolve` pins. Everything here is table-tested; the sender
//! (`outbound.rs`) only applies these decisions.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::template::{fill_template, TemplateError};

/// An origin a connection may send requests to: always `https`, a host name
/// or IP literal, and a port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Lower-cased host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// TCP port (443 unless given).
    pub port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 443 {
            write!(f, "https://{host}")
        } else {
            write!(f, "https://{host}:{}", self.port)
        }
    }
}

/// Why an allowed-host entry was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// Only `https://` origins are allowed.
    #[error("`{0}` is not an https origin; connectors may only reach https hosts")]
    NotHttps(String),
    /// The entry has a path, query, user info or an invalid host or port.
    #[error("`{0}` is not a plain origin (https://host[:port], nothing else)")]
    Malformed(String),
    /// A template placeholder could not be filled.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl Origin {
    /// Parse `https://host[:port]` (an optional trailing `/` is accepted).
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let rest = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            Some(_) => return Err(OriginError::NotHttps(text.to_string())),
            None => return Err(OriginError::Malformed(text.to_string())),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let malformed = || OriginError::Malformed(text.to_string());
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(malformed());
        }
        let (host, port) = split_host_port(authority).ok_or_else(malformed)?;
        let port = port.unwrap_or(443);
        if port == 0 || !valid_host(host) {
            return Err(malformed());
        }
        Ok(Origin {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Fill a host template such as `https://{subdomain}.zendesk.com` from a
    /// config object and parse the result. Filled values may only contain
    /// host-name and IP-literal characters, so a value cannot smuggle in a
    /// path, user info or query; the result must still be a plain origin.
    pub fn from_template(template: &str, config: &serde_json::Value) -> Result<Self, OriginError> {
        let filled = fill_template(template, config, |value| {
            value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })?;
        Origin::parse(&filled)
    }
}

/// Split `host[:port]`, with IPv6 literals in brackets.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<Ipv6Addr>().ok()?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

fn valid_host(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Why an address may not be connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// A public unicast address: allowed.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918, carrier-grade NAT, IPv6 unique local.
    Private,
    /// 169.254.0.0/16 (cloud metadata lives here), fe80::/10.
    LinkLocal,
    /// 0.0.0.0, ::, broadcast, multicast, reserved and documentation ranges.
    Special,
}

impl AddressClass {
    /// A phrase for error messages, e.g. "a loopback address".
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private-network address",
            AddressClass::LinkLocal => "a link-local (cloud metadata) address",
            AddressClass::Special => "a reserved or non-unicast address",
        }
    }
}

/// Classify an address. IPv4-mapped, IPv4-compatible and NAT64 IPv6
/// addresses are classified by the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 192 && b == 0)
        || (a == 198 && (b == 18 || b == 19))
    {
        AddressClass::Special
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let segments = ip.segments();
    let embedded_v4 = || {
        let [.., a, b, c, d] = ip.octets();
        Ipv4Addr::new(a, b, c, d)
    };
    // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return classify_v4(embedded_v4());
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4());
    }
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if (segments[0] & 0xfe00) == 0xfc00 {
        AddressClass::Private
    } else if (segments[0] & 0xffc0) == 0xfe80 {
        AddressClass::LinkLocal
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || segments[0] == 0x2001 && segments[1] == 0xdb8
    {
        AddressClass::Special
    } else {
        AddressClass::Public
    }
}

/// Whether a connection may connect to `ip`.
pub fn address_allowed(ip: IpAddr, allow_private_network: bool) -> bool {
    match classify(ip) {
        AddressClass::Public => true,
        AddressClass::Special => false,
        AddressClass::Loopback | AddressClass::Private | AddressClass::LinkLocal => {
            allow_private_network
        }
    }
}

/// Operator pins, curl-style: `HOST:PORT:ADDR`, where ADDR may carry its own
/// port (`acme.zendesk.com:443:127.0.0.1:8443`) and IPv6 addresses are in
/// brackets. A pinned address is the operator's explicit choice and is not
/// filtered; the origin must still be one the connector declared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolveOverrides {
    pins: HashMap<(String, u16), SocketAddr>,
}

/// A `--resolve` entry that could not be parsed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("`--resolve {0}` is not HOST:PORT:ADDR[:PORT] (e.g. acme.zendesk.com:443:127.0.0.1:8443)")]
pub struct ResolveParseError(String);

impl ResolveOverrides {
    /// Parse a list of `--resolve` entries.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, ResolveParseError> {
        let mut pins = HashMap::new();
        for entry in entries {
            let entry = entry.as_ref();
            let err = || ResolveParseError(entry.to_string());
            let mut parts = entry.splitn(3, ':');
            let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(err());
            };
            let port: u16 = port.parse().map_err(|_| err())?;
            if !valid_host(host) || port == 0 {
                return Err(err());
            }
            let target = match split_host_port(addr) {
                Some((ip, target_port)) => {
                    let ip: IpAddr = ip.parse().map_err(|_| err())?;
                    SocketAddr::new(ip, target_port.unwrap_or(port))
                }
                None => return Err(err()),
            };
            pins.insert((host.to_ascii_lowercase(), port), target);
        }
        Ok(ResolveOverrides { pins })
    }

    /// The pinned address for an origin, if any.
    pub fn lookup(&self, origin: &Origin) -> Option<SocketAddr> {
        self.pins.get(&(origin.host.clone(), origin.port)).copied()
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn origins_parse_only_plain_https() {
        let ok = |text: &str, host: &str, port: u16| {
            assert_eq!(
                Origin::parse(text).unwrap(),
                Origin {
                    host: host.into(),
                    port
                },
                "{text}"
            )
        };
        ok("https://acme.zendesk.com", "acme.zendesk.com", 443);
        ok("https://ACME.zendesk.com/", "acme.zendesk.com", 443);
        ok("https://api.example.com:8443", "api.example.com", 8443);
        ok("https://127.0.0.1", "127.0.0.1", 443);
        ok("https://[::ffff:127.0.0.1]:9", "::ffff:127.0.0.1", 9);
        for bad in [
            "http://acme.zendesk.com",
            "ftp://x",
            "acme.zendesk.com",
            "https://",
            "https://acme.zendesk.com/api",
            "https://user@acme.zendesk.com",
            "https://acme.zendesk.com:0",
            "https://acme.zendesk.com:99999",
            "https://-bad.com",
            "https://a b.com",
            "https://acme.zendesk.com?x=1",
            "https://[not-ipv6]",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn host_templates_are_filled_and_cannot_escape() {
        let config = json!({"subdomain": "acme", "evil": "x.com/path", "port": 8443,
            "host": "127.0.0.1", "v6": "[::1]", "sneaky": "evil.com:443"});
        assert_eq!(
            Origin::from_template("https://{subdomain}.zendesk.com", &config)
                .unwrap()
                .to_string(),
            "https://acme.zendesk.com"
        );
        assert_eq!(
            Origin::from_template("https://{host}:{port}", &config)
                .unwrap()
                .to_string(),
            "https://127.0.0.1:8443"
        );
        assert!(matches!(
            Origin::from_template("https://{evil}.zendesk.com", &config),
            Err(OriginError::Template(TemplateError::InvalidValue { .. }))
        ));
        assert_eq!(
            Origin::from_template("https://{v6}", &config).unwrap().host,
            "::1"
        );
        assert!(Origin::from_template("https://{sneaky}.zendesk.com", &config).is_err());
        assert!(Origin::from_template("https://{v6}.zendesk.com", &config).is_err());
        assert!(matches!(
            Origin::from_template("https://{missing}.zendesk.com", &config),
            Err(OriginError::Template(TemplateError::MissingField(_)))
        ));
    }

    #[test]
    fn addresses_are_classified() {
        let cases = [
            ("93.184.216.34", AddressClass::Public),
            ("2606:4700::1111", AddressClass::Public),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.8.9.10", AddressClass::Loopback),
            ("::1", AddressClass::Loopback),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::127.0.0.1", AddressClass::Loopback),
            ("64:ff9b::7f00:1", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::Private),
            ("fd00:ec2::254", AddressClass::Private),
            ("::ffff:10.0.0.1", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("::ffff:169.254.169.254", AddressClass::LinkLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("0.0.0.0", AddressClass::Special),
            ("::", AddressClass::Special),
            ("255.255.255.255", AddressClass::Special),
            ("224.0.0.1", AddressClass::Special),
            ("ff02::1", AddressClass::Special),
            ("192.0.2.1", AddressClass::Special),
            ("2001:db8::1", AddressClass::Special),
        ];
        for (ip, class) in cases {
            assert_eq!(classify(ip.parse().unwrap()), class, "{ip}");
        }
    }

    #[test]
    fn private_addresses_need_the_explicit_flag() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        let public: IpAddr = "8.8.8.8".parse().unwrap();
        let unspecified: IpAddr = "0.0.0.0".parse().unwrap();
        assert!(!address_allowed(loopback, false));
        assert!(address_allowed(loopback, true));
        assert!(!address_allowed(metadata, false));
        assert!(address_allowed(public, false));
        assert!(!address_allowed(unspecified, true));
    }

    #[test]
    fn resolve_pins_parse_like_curl_with_an_optional_port() {
        let pins = ResolveOverrides::parse(&[
            "acme.zendesk.com:443:127.0.0.1:8443",
            "other.example.com:443:10.0.0.5",
            "v6.example.com:443:[::1]:9000",
        ])
        .unwrap();
        let origin = |host: &str| Origin {
            host: host.into(),
            port: 443,
        };
        assert_eq!(
            pins.lookup(&origin("acme.zendesk.com")),
            Some("127.0.0.1:8443".parse().unwrap())
        );
        assert_eq!(
            pins.lookup(&origin("other.example.com")),
            Some("10.0.0.5:443".parse().unwrap())
        );
        assert_eq!(
            pins.lookup(&origin("v6.example.com")),
            Some("[::1]:9000".parse().unwrap())
        );
        assert_eq!(pins.lookup(&origin("unknown.example.com")), None);
        for bad in [
            "acme:443",
            "acme:x:127.0.0.1",
            "acme:443:not-an-ip",
            "a b:443:1.2.3.4",
        ] {
            assert!(ResolveOverrides::parse(&[bad]).is_err(), "{bad}");
        }
    }
}
