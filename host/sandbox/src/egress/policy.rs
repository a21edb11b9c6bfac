//! The egress policy: which destinations, methods and addresses one call may reach.
//!
//! Everything here is pure and synchronous so it can be tested without a guest
//! or a network. The outbound-HTTP hook ([`super::hooks`]) asks [`EgressPolicy`]
//! before anything leaves the host, and asks [`PrivateTargets`] again after DNS
//! resolution, so a name cannot smuggle a request to loopback or to a cloud
//! metadata service.

use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The scheme of an allowed origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginScheme {
    /// Plain HTTP (default port 80).
    Http,
    /// HTTP over TLS (default port 443).
    Https,
}

impl OriginScheme {
    pub(crate) fn default_port(self) -> u16 {
        match self {
            OriginScheme::Http => 80,
            OriginScheme::Https => 443,
        }
    }
}

impl fmt::Display for OriginScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OriginScheme::Http => "http",
            OriginScheme::Https => "https",
        })
    }
}

/// A host name, exact or `*.`-prefixed wildcard, lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// Matches this host only (a DNS name or an IP literal).
    Exact(String),
    /// `*.example.com`: matches any name ending in `.example.com`, at any
    /// depth, but not `example.com` itself.
    Subdomains(String),
}

/// One allowed origin: scheme, host pattern and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedOrigin {
    /// The scheme requests must use.
    pub scheme: OriginScheme,
    /// The host, lowercased and without a trailing dot, or a `*.` subdomain pattern.
    pub host: HostPattern,
    /// The port requests must use; the scheme's default when the origin names none.
    pub port: u16,
}

/// Why an origin string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid allowed host {input:?}: {reason} (expected scheme://host[:port], e.g. https://api.example.com or https://*.example.com)"
)]
pub struct OriginParseError {
    /// The text that was given, verbatim.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl AllowedOrigin {
    /// Parses `scheme://host[:port]`, optionally with a path (ignored, so a
    /// base URL can be passed as is). The host may start with `*.`.
    pub fn parse(input: &str) -> Result<AllowedOrigin, OriginParseError> {
        let fail = |reason| OriginParseError {
            input: input.to_string(),
            reason,
        };
        let (scheme, rest) = if let Some(rest) = input.strip_prefix("https://") {
            (OriginScheme::Https, rest)
        } else if let Some(rest) = input.strip_prefix("http://") {
            (OriginScheme::Http, rest)
        } else {
            return Err(fail("the scheme must be http or https"));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(fail("user info is not allowed"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| fail("bad port"))?;
        if host.is_empty() {
            return Err(fail("the host is empty"));
        }
        let port = port.unwrap_or_else(|| scheme.default_port());
        let host = normalize_host(host);
        let pattern = if let Some(suffix) = host.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') || !suffix.contains('.') {
                return Err(fail("a wildcard needs at least two labels after `*.`"));
            }
            HostPattern::Subdomains(suffix.to_string())
        } else if host.contains('*') {
            return Err(fail("`*` is only allowed as a leading `*.`"));
        } else if host.parse::<IpAddr>().is_err() && !is_dns_name(&host) {
            return Err(fail("the host is neither a DNS name nor an IP address"));
        } else {
            HostPattern::Exact(host)
        };
        Ok(AllowedOrigin {
            scheme,
            host: pattern,
            port,
        })
    }

    /// Whether a request to `scheme://host:port` falls under this origin.
    pub fn matches(&self, scheme: OriginScheme, host: &str, port: u16) -> bool {
        if scheme != self.scheme || port != self.port {
            return false;
        }
        let host = normalize_host(host);
        match &self.host {
            HostPattern::Exact(allowed) => *allowed == host,
            HostPattern::Subdomains(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
        }
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostPattern::Exact(host) if host.contains(':') => format!("[{host}]"),
            HostPattern::Exact(host) => host.clone(),
            HostPattern::Subdomains(suffix) => format!("*.{suffix}"),
        };
        write!(f, "{}://{}:{}", self.scheme, host, self.port)
    }
}

/// Splits `host[:port]` (IPv6 in brackets); `None` on a malformed port.
pub(crate) fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => None,
        None => Some((authority, None)),
    }
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn is_dns_name(host: &str) -> bool {
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

/// Which non-public addresses a connection may reach after DNS resolution;
/// ordered by how far that reaches (`Deny` < `AllowLoopback` < `AllowPrivate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrivateTargets {
    /// Public unicast addresses only (the default, and right for SaaS vendors).
    #[default]
    Deny,
    /// Public addresses and loopback: for tests and the demo.
    AllowLoopback,
    /// Public, loopback, private-range and link-local addresses: for vendors
    /// hosted inside the operator's network. Metadata services stay refused.
    AllowPrivate,
}

impl PrivateTargets {
    /// The name the configuration and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            PrivateTargets::Deny => "deny",
            PrivateTargets::AllowLoopback => "allow-loopback",
            PrivateTargets::AllowPrivate => "allow-private",
        }
    }

    /// The setting `name` stands for; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<PrivateTargets> {
        [
            PrivateTargets::Deny,
            PrivateTargets::AllowLoopback,
            PrivateTargets::AllowPrivate,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }
}

/// The kind of address a name resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// Any other unicast address: always reachable.
    Public,
    /// The host itself (`127.0.0.0/8`, `::1`).
    Loopback,
    /// RFC 1918, RFC 6598 shared space, IPv6 unique local.
    Private,
    /// A link-local address (e.g. `169.254.0.0/16`, `fe80::/10`) other than a metadata service.
    LinkLocal,
    /// `0.0.0.0/8` or `::`: never reachable.
    Unspecified,
    /// Cloud instance metadata services (AWS, GCP, Azure, Alibaba, ECS).
    Metadata,
    /// Multicast, broadcast, documentation, benchmarking and other reserved space.
    Reserved,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private-range",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Metadata => "cloud-metadata",
            AddressClass::Reserved => "reserved",
        })
    }
}

impl PrivateTargets {
    /// Whether an address of this class may be connected to.
    pub fn permits(self, class: AddressClass) -> bool {
        match class {
            AddressClass::Public => true,
            AddressClass::Loopback => self != PrivateTargets::Deny,
            AddressClass::Private | AddressClass::LinkLocal => self == PrivateTargets::AllowPrivate,
            AddressClass::Unspecified | AddressClass::Metadata | AddressClass::Reserved => false,
        }
    }
}

/// Classifies an address, looking through IPv4-mapped, IPv4-compatible and
/// NAT64 IPv6 forms so `::ffff:169.254.169.254` is still metadata.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return classify_v4(v4);
            }
            classify_v6(v6)
        }
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    // `::a.b.c.d` (deprecated IPv4-compatible); `::` and `::1` are not v4.
    let compatible = s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (mapped || compatible || nat64).then_some(tail)
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let o = ip.octets();
    if matches!(
        o,
        [169, 254, 169, 254] | [169, 254, 170, 2] | [100, 100, 100, 200]
    ) {
        AddressClass::Metadata
    } else if ip.is_unspecified() || o[0] == 0 {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || o[0] >= 240
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        AddressClass::Metadata
    } else if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_unique_local() {
        AddressClass::Private
    } else if ip.is_unicast_link_local() || (s[0] & 0xffc0) == 0xfec0 {
        AddressClass::LinkLocal
    } else if ip.is_multicast() || s[0] == 0x2001 && s[1] == 0x0db8 || s[0] == 0x0100 {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// Which HTTP methods a call may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodPolicy {
    /// `GET` and `HEAD` only: `describe`, `validate`, `list-users`, `get-activity`.
    ReadOnly,
    /// Any method: `deactivate-user`, `reactivate-user`.
    ReadWrite,
}

/// The only methods a connector may send, as exact uppercase tokens: no
/// `TRACE` (it echoes the host's credential back), no `CONNECT`, no
/// extension methods a vendor might treat as something else.
pub const KNOWN_METHODS: [http::Method; 6] = [
    http::Method::GET,
    http::Method::HEAD,
    http::Method::POST,
    http::Method::PUT,
    http::Method::PATCH,
    http::Method::DELETE,
];

/// Headers that ask a server to treat a request as another method: in a
/// read-only call they would turn a `GET` into a write.
pub const METHOD_OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

impl MethodPolicy {
    /// Whether the method may be sent under this policy.
    pub fn permits(self, method: &http::Method) -> bool {
        KNOWN_METHODS.contains(method)
            && (self == MethodPolicy::ReadWrite
                || *method == http::Method::GET
                || *method == http::Method::HEAD)
    }
}

/// Why the sandbox refused a request. Its `Display` is the operator's log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The origin is not on the connection's allowlist.
    NotAllowlisted {
        /// The origin refused, as `scheme://host:port`.
        origin: String,
        /// The connection's allowed origins, as the log line lists them.
        allowed: Vec<String>,
    },
    /// A write method inside a read-only call.
    WriteInReadCall {
        /// The method the guest sent, e.g. `POST`.
        method: String,
        /// The WIT function that was running, e.g. `list-users`.
        call: &'static str,
    },
    /// The per-call request cap was reached.
    RequestCap {
        /// The `requests_per_call` limit that was reached.
        cap: u32,
    },
    /// The name resolved only to addresses the connection may not reach.
    ForbiddenAddress {
        /// The host name (or IP literal) the request was for.
        host: String,
        /// Every address it resolved to, with its class.
        addresses: Vec<(IpAddr, AddressClass)>,
    },
    /// The URI was not absolute or its scheme was not http(s), or its
    /// authority carried user info.
    MalformedTarget(String),
    /// A method outside [`KNOWN_METHODS`].
    UnknownMethod {
        /// The method as the guest sent it, cut to 32 bytes with control characters escaped.
        method: String,
    },
    /// A body, or a method-override header, inside a read-only call.
    DisguisedWrite {
        /// What gave the write away, e.g. `header x-http-method-override`.
        what: String,
        /// The read-only WIT function that was running.
        call: &'static str,
    },
    /// The credential would travel over plain HTTP to a public address.
    PlaintextCredential {
        /// The host name (or IP literal) the request was for.
        host: String,
    },
    /// The server's TLS certificate does not chain to a trusted root or
    /// does not name the host.
    UntrustedCertificate {
        /// The host name (or IP literal) whose certificate was refused.
        host: String,
        /// Why the certificate was refused, in words.
        problem: String,
    },
    /// More refusals in the same call, counted but not listed.
    Omitted {
        /// How many refusals beyond the first [`LISTED_DENIALS`](super::hooks::LISTED_DENIALS)
        /// were left out.
        count: u32,
    },
}

impl Denial {
    /// The denial with every text the guest chose passed through `redact`
    /// (a guest holding an echoed secret could put it in a host name).
    pub fn redacted(&self, redact: impl Fn(&str) -> String) -> Denial {
        match self {
            Denial::NotAllowlisted { origin, allowed } => Denial::NotAllowlisted {
                origin: redact(origin),
                allowed: allowed.clone(),
            },
            Denial::WriteInReadCall { method, call } => Denial::WriteInReadCall {
                method: redact(method),
                call,
            },
            Denial::ForbiddenAddress { host, addresses } => Denial::ForbiddenAddress {
                host: redact(host),
                addresses: addresses.clone(),
            },
            Denial::MalformedTarget(what) => Denial::MalformedTarget(redact(what)),
            Denial::UnknownMethod { method } => Denial::UnknownMethod {
                method: redact(method),
            },
            Denial::DisguisedWrite { what, call } => Denial::DisguisedWrite {
                what: redact(what),
                call,
            },
            Denial::PlaintextCredential { host } => {
                Denial::PlaintextCredential { host: redact(host) }
            }
            Denial::UntrustedCertificate { host, problem } => Denial::UntrustedCertificate {
                host: redact(host),
                problem: redact(problem),
            },
            Denial::RequestCap { .. } | Denial::Omitted { .. } => self.clone(),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::NotAllowlisted { origin, allowed } => write!(
                f,
                "{origin} is not on the connection's allowlist [{}] (rule: deny by default)",
                allowed.join(", ")
            ),
            Denial::WriteInReadCall { method, call } => write!(
                f,
                "{method} is a write method and {call} is a read-only call (rule: only GET and HEAD outside deactivate-user and reactivate-user)"
            ),
            Denial::RequestCap { cap } => write!(
                f,
                "the call already made {cap} requests (rule: requests_per_call = {cap})"
            ),
            Denial::ForbiddenAddress { host, addresses } => {
                let list: Vec<String> = addresses
                    .iter()
                    .map(|(ip, class)| format!("{ip} ({class})"))
                    .collect();
                write!(
                    f,
                    "{host} resolved only to addresses this connection may not reach: {} (rule: private_targets)",
                    list.join(", ")
                )
            }
            Denial::MalformedTarget(what) => write!(f, "malformed request target: {what}"),
            Denial::UnknownMethod { method } => write!(
                f,
                "method {method:?} is not one of GET, HEAD, POST, PUT, PATCH, DELETE (rule: known methods only)"
            ),
            Denial::DisguisedWrite { what, call } => write!(
                f,
                "{what} in {call}, a read-only call (rule: read calls send bodiless GET and HEAD only)"
            ),
            Denial::Omitted { count } => write!(
                f,
                "{count} more requests refused in this call, not listed (the first {} are)",
                super::hooks::LISTED_DENIALS
            ),
            Denial::PlaintextCredential { host } => write!(
                f,
                "{host} would receive the credential over plain HTTP at a public address (rule: credentials travel over HTTPS, or plain HTTP only to loopback or private targets the connection allows)"
            ),
            Denial::UntrustedCertificate { host, problem } => write!(
                f,
                "the TLS certificate of {host} was refused: {problem} (rule: a server's certificate must name it and chain to the Mozilla roots or to a CA in [tls] extra_roots)"
            ),
        }
    }
}

/// The allowlist of one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgressPolicy {
    allowed: Vec<AllowedOrigin>,
    private_targets: PrivateTargets,
}

impl EgressPolicy {
    /// A policy that refuses every destination (used for `describe`).
    pub fn deny_all() -> Self {
        EgressPolicy {
            allowed: Vec::new(),
            private_targets: PrivateTargets::Deny,
        }
    }

    /// A policy allowing exactly these origins.
    pub fn new(allowed: Vec<AllowedOrigin>, private_targets: PrivateTargets) -> Self {
        EgressPolicy {
            allowed,
            private_targets,
        }
    }

    /// The address policy applied after DNS resolution.
    pub fn private_targets(&self) -> PrivateTargets {
        self.private_targets
    }

    /// The allowed origins, as text.
    pub fn allowed(&self) -> Vec<String> {
        self.allowed.iter().map(ToString::to_string).collect()
    }

    /// Checks an origin against the allowlist.
    pub fn check_origin(&self, scheme: OriginScheme, host: &str, port: u16) -> Result<(), Denial> {
        if self.allowed.iter().any(|o| o.matches(scheme, host, port)) {
            Ok(())
        } else {
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_string()
            };
            Err(Denial::NotAllowlisted {
                origin: format!("{scheme}://{host}:{port}"),
                allowed: self.allowed(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> AllowedOrigin {
        AllowedOrigin::parse(s).unwrap()
    }

    #[test]
    fn parses_origins_with_default_ports() {
        let o = origin("https://API.SmartRecruiters.com/user-api/v201804");
        assert_eq!(o.port, 443);
        assert_eq!(o.host, HostPattern::Exact("api.smartrecruiters.com".into()));
        assert_eq!(origin("http://127.0.0.1:8080").port, 8080);
        assert_eq!(
            origin("http://[::1]:9").host,
            HostPattern::Exact("::1".into())
        );
        assert_eq!(
            origin("https://*.smartsheet.eu").host,
            HostPattern::Subdomains("smartsheet.eu".into())
        );
    }

    #[test]
    fn rejects_bad_origins_with_reasons() {
        for (input, reason) in [
            ("ftp://x.com", "scheme"),
            ("api.example.com", "scheme"),
            ("https://user:pw@x.com", "user info"),
            ("https://x.com:99999", "port"),
            ("https://", "empty"),
            ("https://*.com", "two labels"),
            ("https://a.*.com", "leading"),
            ("https://exa mple.com", "neither"),
        ] {
            let err = AllowedOrigin::parse(input).unwrap_err();
            assert!(err.to_string().contains(reason), "{input}: {err}");
        }
    }

    #[test]
    fn matches_scheme_host_and_port_exactly() {
        let o = origin("https://api.example.com");
        assert!(o.matches(OriginScheme::Https, "api.example.com", 443));
        assert!(o.matches(OriginScheme::Https, "API.example.com.", 443));
        assert!(!o.matches(OriginScheme::Http, "api.example.com", 443));
        assert!(!o.matches(OriginScheme::Https, "api.example.com", 8443));
        assert!(!o.matches(OriginScheme::Https, "api.example.com.evil.net", 443));
        assert!(!o.matches(OriginScheme::Https, "xapi.example.com", 443));
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let o = origin("https://*.example.com");
        assert!(o.matches(OriginScheme::Https, "a.example.com", 443));
        assert!(o.matches(OriginScheme::Https, "a.b.example.com", 443));
        assert!(!o.matches(OriginScheme::Https, "example.com", 443));
        assert!(!o.matches(OriginScheme::Https, "badexample.com", 443));
        assert!(!o.matches(OriginScheme::Https, ".example.com", 443));
    }

    #[test]
    fn classifies_addresses() {
        let cases = [
            ("8.8.8.8", AddressClass::Public),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.1.2.3", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::Private),
            ("169.254.1.1", AddressClass::LinkLocal),
            ("169.254.169.254", AddressClass::Metadata),
            ("100.100.100.200", AddressClass::Metadata),
            ("0.0.0.0", AddressClass::Unspecified),
            ("255.255.255.255", AddressClass::Reserved),
            ("224.0.0.1", AddressClass::Reserved),
            ("::1", AddressClass::Loopback),
            ("::", AddressClass::Unspecified),
            ("fd00:ec2::254", AddressClass::Metadata),
            ("fd12::1", AddressClass::Private),
            ("fe80::1", AddressClass::LinkLocal),
            ("::ffff:169.254.169.254", AddressClass::Metadata),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::ffff:10.0.0.1", AddressClass::Private),
            ("64:ff9b::a9fe:a9fe", AddressClass::Metadata),
            ("::127.0.0.1", AddressClass::Loopback),
            ("2606:4700::1111", AddressClass::Public),
        ];
        for (ip, class) in cases {
            assert_eq!(classify(ip.parse().unwrap()), class, "{ip}");
        }
    }

    #[test]
    fn private_target_policies() {
        use AddressClass::*;
        assert!(PrivateTargets::Deny.permits(Public));
        assert!(!PrivateTargets::Deny.permits(Loopback));
        assert!(PrivateTargets::AllowLoopback.permits(Loopback));
        assert!(!PrivateTargets::AllowLoopback.permits(Private));
        assert!(PrivateTargets::AllowPrivate.permits(Private));
        for policy in [
            PrivateTargets::Deny,
            PrivateTargets::AllowLoopback,
            PrivateTargets::AllowPrivate,
        ] {
            assert!(!policy.permits(Metadata), "{policy:?}");
            assert!(!policy.permits(Unspecified), "{policy:?}");
        }
    }

    #[test]
    fn read_only_calls_permit_get_and_head_only() {
        assert!(MethodPolicy::ReadOnly.permits(&http::Method::GET));
        assert!(MethodPolicy::ReadOnly.permits(&http::Method::HEAD));
        for m in [
            http::Method::POST,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::DELETE,
        ] {
            assert!(!MethodPolicy::ReadOnly.permits(&m));
            assert!(MethodPolicy::ReadWrite.permits(&m));
        }
    }

    #[test]
    fn denials_name_the_rule() {
        let policy = EgressPolicy::new(
            vec![origin("https://api.example.com")],
            PrivateTargets::Deny,
        );
        let denial = policy
            .check_origin(OriginScheme::Https, "evil.example.net", 443)
            .unwrap_err();
        let text = denial.to_string();
        assert!(text.contains("https://evil.example.net:443"), "{text}");
        assert!(text.contains("https://api.example.com:443"), "{text}");
        assert!(text.contains("deny by default"), "{text}");
        assert!(
            EgressPolicy::deny_all()
                .check_origin(OriginScheme::Https, "api.example.com", 443)
                .is_err()
        );
    }
}
