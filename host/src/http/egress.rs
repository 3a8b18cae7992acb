//! The egress policy: which hosts and addresses a run's requests may reach.
//!
//! A policy is a list of allow rules, a list of deny rules and a switch for private
//! addresses. Rules name a host (`api.example.com`, `*.example.com`) or an address range
//! (`10.1.0.0/16`, `::1`), with an optional port (`api.example.com:443`, `[::1]:8080`). Every
//! connection is checked twice: by name before the name is resolved (a denied name is never
//! looked up), then each resolved address, so a permitted name that resolves to a forbidden
//! address (a rebinding attack on 169.254.169.254, say) is still refused. A private address
//! passes `denyPrivate` only through an allow rule that names its range, never by name.
//!
//! An [`Egress`] stacks policies (a tenant's, then a run's): a connection must pass each.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One allow or deny rule: a host name or an address range, and optionally a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    target: Target,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A lower-case host name; `*.example.com` matches every name under `example.com`.
    Host(String),
    /// An address range; a single address is a /32 or /128.
    Net(IpNet),
}

impl Rule {
    fn port_matches(&self, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
    }

    fn matches_name(&self, host: &str, port: u16) -> bool {
        let Target::Host(pattern) = &self.target else {
            return false;
        };
        host_matches(pattern, host) && self.port_matches(port)
    }

    fn matches_address(&self, ip: IpAddr, port: u16) -> bool {
        let Target::Net(net) = &self.target else {
            return false;
        };
        net.contains(&canonical(ip)) && self.port_matches(port)
    }

    fn is_net(&self) -> bool {
        matches!(self.target, Target::Net(_))
    }
}

/// Whether `host` is the name `pattern` (lower case), or under it when `pattern` is
/// `*.example.com`. A trailing dot and letter case in `host` do not matter.
pub(crate) fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
        None => host == pattern,
    }
}

impl FromStr for Rule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = |why: &str| {
            format!(
                "egress rule {text:?}: {why}; write a host (api.example.com, *.example.com), an \
                 address or range (10.0.0.0/8, ::1), optionally with a port (host:443, \
                 [::1]:8080)"
            )
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        // A bare IPv6 address or range has colons of its own: no port unless bracketed.
        if let Ok(net) = parse_net(text) {
            return Ok(Self {
                target: Target::Net(net),
                port: None,
            });
        }
        let (target, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (inside, after) = rest.split_once(']').ok_or_else(|| bad("no closing ]"))?;
                let port = after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("no port after ]"))?;
                (inside, Some(port))
            }
            None => match text.rsplit_once(':') {
                Some((target, port)) => (target, Some(port)),
                None => (text, None),
            },
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))
            })
            .transpose()?;
        let target = match parse_net(target) {
            Ok(net) => Target::Net(net),
            Err(()) => Target::Host(host_pattern(target).ok_or_else(|| bad("not a host name"))?),
        };
        Ok(Self { target, port })
    }
}

fn parse_net(text: &str) -> Result<IpNet, ()> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>().map(IpNet::from).map_err(|_| ())
}

/// The lower-case form of a host name or `*.` pattern, if it is one.
fn host_pattern(text: &str) -> Option<String> {
    let name = text.strip_prefix("*.").unwrap_or(text);
    let valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    valid.then(|| text.to_ascii_lowercase())
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let single = |net: &IpNet| net.prefix_len() == net.max_prefix_len();
        match (&self.target, self.port) {
            (Target::Host(host), None) => write!(f, "{host}"),
            (Target::Host(host), Some(port)) => write!(f, "{host}:{port}"),
            (Target::Net(net), None) if single(net) => write!(f, "{}", net.addr()),
            (Target::Net(net), None) => write!(f, "{net}"),
            (Target::Net(IpNet::V6(net)), Some(port)) if single(&IpNet::V6(*net)) => {
                write!(f, "[{}]:{port}", net.addr())
            }
            (Target::Net(net), Some(port)) if single(net) => write!(f, "{}:{port}", net.addr()),
            (Target::Net(net), Some(port)) => write!(f, "{net}:{port}"),
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One policy: what a run (or a tenant) may reach. The default allows everything, as a
/// local run should: a developer tests the service on their own machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EgressPolicy {
    /// When not empty, only these hosts and ranges may be reached.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<Rule>,
    /// Never reached, whatever `allow` says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<Rule>,
    /// Refuse loopback, private, link-local (cloud metadata) and other non-public addresses
    /// unless an allow rule names their range.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deny_private: bool,
}

impl fmt::Display for EgressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |rules: &[Rule]| {
            rules
                .iter()
                .map(Rule::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.allow.is_empty() {
            parts.push(format!("only {}", list(&self.allow)));
        }
        if !self.deny.is_empty() {
            parts.push(format!("never {}", list(&self.deny)));
        }
        if self.deny_private {
            parts.push("no private addresses unless a range rule names them".to_owned());
        }
        if parts.is_empty() {
            parts.push("everything".to_owned());
        }
        f.write_str(&parts.join("; "))
    }
}

impl EgressPolicy {
    /// Public addresses only: a multi-tenant server's default.
    pub fn public_only() -> Self {
        Self {
            deny_private: true,
            ..Self::default()
        }
    }

    /// Whether the policy lets everything through.
    pub fn is_open(&self) -> bool {
        *self == Self::default()
    }

    fn check_name(&self, host: &str, port: u16) -> Result<(), String> {
        if let Some(rule) = self.deny.iter().find(|r| r.matches_name(host, port)) {
            return Err(format!("{host}:{port} matches the deny rule {rule}"));
        }
        let names_only = self.allow.iter().all(|r| !r.is_net());
        if !self.allow.is_empty() && names_only && !self.allowed_by_name(host, port) {
            return Err(format!("{host}:{port} is not in the allow list"));
        }
        Ok(())
    }

    fn allowed_by_name(&self, host: &str, port: u16) -> bool {
        self.allow.iter().any(|r| r.matches_name(host, port))
    }

    fn check_address(&self, host: &str, port: u16, ip: IpAddr) -> Result<(), String> {
        let deny = self.deny.iter().find(|r| r.matches_address(ip, port));
        if let Some(rule) = deny {
            return Err(format!("{host}:{port} ({ip}) matches the deny rule {rule}"));
        }
        let by_range = self.allow.iter().any(|r| r.matches_address(ip, port));
        if !self.allow.is_empty() && !by_range && !self.allowed_by_name(host, port) {
            return Err(format!("{host}:{port} ({ip}) is not in the allow list"));
        }
        if self.deny_private && !by_range && !is_public(ip) {
            let what = if host.parse::<IpAddr>().is_ok() {
                format!("{host}:{port} is a non-public address")
            } else {
                format!("{host}:{port} resolves to {ip}, a non-public address")
            };
            return Err(format!(
                "{what}; allow its range explicitly (for example \"{ip}\") to reach it"
            ));
        }
        Ok(())
    }
}

/// The policies a connection must all pass: a tenant's, then a run's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Egress {
    layers: Vec<EgressPolicy>,
}

impl Egress {
    /// Allows everything.
    pub fn open() -> Self {
        Self::default()
    }

    /// Adds `policy`: connections must pass it as well as every policy before it.
    pub fn and(mut self, policy: EgressPolicy) -> Self {
        if !policy.is_open() {
            self.layers.push(policy);
        }
        self
    }

    /// The policies, in the order they were added.
    pub fn layers(&self) -> &[EgressPolicy] {
        &self.layers
    }

    /// Refuses a host by name, before it is resolved; the message says which rule.
    pub fn check_name(&self, host: &str, port: u16) -> Result<(), String> {
        self.layers
            .iter()
            .try_for_each(|p| p.check_name(host, port))
    }

    /// Refuses a resolved address of `host`; the message says which rule.
    pub fn check_address(&self, host: &str, port: u16, ip: IpAddr) -> Result<(), String> {
        self.layers
            .iter()
            .try_for_each(|p| p.check_address(host, port, ip))
    }
}

/// An IPv6 address that carries an IPv4 address is checked as that IPv4 address: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96` and the local
/// `64:ff9b:1::/48`), 6to4 (`2002:AABB:CCDD::/48`) and Teredo (`2001:0::/32`, the client's
/// address inverted in the last 32 bits). Otherwise a private IPv4 address could be reached
/// through a gateway that unwraps it.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    let s = v6.segments();
    let low = |hi: u16, lo: u16| IpAddr::V4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    match s {
        // IPv4-compatible; `::` and `::1` are IPv6's own.
        [0, 0, 0, 0, 0, 0, hi, lo] if (hi, lo) != (0, 0) && (hi, lo) != (0, 1) => low(hi, lo),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => low(hi, lo),
        [0x64, 0xff9b, 1, ..] => low(s[6], s[7]),
        [0x2002, hi, lo, ..] => low(hi, lo),
        [0x2001, 0, ..] => low(!s[6], !s[7]),
        _ => ip,
    }
}

/// Whether `ip` is an ordinary public unicast address.
fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 0.0.0.0/8 ("this network"), 100.64.0.0/10 (carrier-grade NAT),
                // 198.18.0.0/15 (benchmarking), 240.0.0.0/4 (reserved).
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], deny: &[&str], deny_private: bool) -> EgressPolicy {
        let rules = |list: &[&str]| list.iter().map(|r| r.parse().unwrap()).collect();
        EgressPolicy {
            allow: rules(allow),
            deny: rules(deny),
            deny_private,
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn rules_parse_and_print_back() {
        for text in [
            "api.example.com",
            "*.example.com:443",
            "10.0.0.0/8",
            "127.0.0.1:8080",
            "::1",
            "[::1]:8080",
            "fd00::/8",
            "10.0.0.0/8:80",
        ] {
            let rule: Rule = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
        }
        assert_eq!(
            "API.Example.COM".parse::<Rule>().unwrap().to_string(),
            "api.example.com"
        );
        for bad in ["", "host:http", "exa mple.com", "[::1]", "*.", "a..b"] {
            let err = bad.parse::<Rule>().unwrap_err();
            assert!(err.contains("write a host"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_default_policy_allows_everything() {
        let egress = Egress::open().and(EgressPolicy::default());
        assert_eq!(egress, Egress::open());
        assert!(egress.check_name("localhost", 80).is_ok());
        assert!(egress.check_address("x", 80, ip("169.254.169.254")).is_ok());
    }

    #[test]
    fn deny_wins_over_allow_by_name_and_by_address() {
        let p = policy(
            &["*.example.com"],
            &["admin.example.com", "203.0.113.9"],
            false,
        );
        assert!(p.check_name("api.example.com", 80).is_ok());
        assert!(
            p.check_name("admin.example.com", 80)
                .unwrap_err()
                .contains("deny rule")
        );
        // A wildcard needs at least one label in front.
        assert!(p.check_name("example.com", 80).is_err());
        assert!(p.check_name("other.org", 80).is_err());
        let err = p
            .check_address("api.example.com", 80, ip("203.0.113.9"))
            .unwrap_err();
        assert!(err.contains("deny rule 203.0.113.9"), "{err}");
        assert!(
            p.check_address("api.example.com", 80, ip("8.8.8.8"))
                .is_ok()
        );
    }

    #[test]
    fn ports_narrow_a_rule() {
        let p = policy(&["api.example.com:443", "127.0.0.1:8080"], &[], false);
        assert!(
            p.check_address("api.example.com", 443, ip("8.8.8.8"))
                .is_ok()
        );
        assert!(
            p.check_address("api.example.com", 80, ip("8.8.8.8"))
                .is_err()
        );
        assert!(p.check_address("localhost", 8080, ip("127.0.0.1")).is_ok());
        assert!(p.check_address("localhost", 8081, ip("127.0.0.1")).is_err());
    }

    #[test]
    fn private_addresses_need_a_range_rule_not_a_name() {
        let p = policy(&["*.example.com", "10.1.0.0/16"], &[], true);
        // A permitted name that resolves to the metadata address is refused (rebinding).
        let err = p
            .check_address("evil.example.com", 80, ip("169.254.169.254"))
            .unwrap_err();
        assert!(err.contains("non-public"), "{err}");
        assert!(p.check_address("db.internal", 5432, ip("10.1.2.3")).is_ok());
        for private in [
            "127.0.0.1",
            "10.9.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            // IPv6 forms that carry a private IPv4 address.
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::192.168.0.1",
            "64:ff9b:1::7f00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
        ] {
            assert!(!is_public(ip(private)), "{private}");
        }
        // The same forms around public addresses stay public.
        for public in ["64:ff9b::808:808", "2002:808:808::1", "::8.8.8.8"] {
            assert!(is_public(ip(public)), "{public}");
        }
        // A range rule for the IPv4 range unlocks the forms that carry it.
        let p = policy(&["10.0.0.0/8"], &[], true);
        assert!(p.check_address("x", 80, ip("64:ff9b::a00:1")).is_ok());
        assert!(p.check_address("x", 80, ip("64:ff9b::c0a8:1")).is_err());
        for public in ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert!(is_public(ip(public)), "{public}");
        }
        let public_only = EgressPolicy::public_only();
        assert!(public_only.check_address("x", 80, ip("127.0.0.1")).is_err());
        assert!(public_only.check_address("x", 80, ip("8.8.8.8")).is_ok());
    }

    #[test]
    fn stacked_policies_must_all_pass() {
        let tenant = policy(&["*.example.com"], &[], true);
        let run = policy(&[], &["slow.example.com"], false);
        let egress = Egress::open().and(tenant).and(run);
        assert!(egress.check_name("api.example.com", 80).is_ok());
        assert!(egress.check_name("slow.example.com", 80).is_err());
        assert!(egress.check_name("elsewhere.org", 80).is_err());
    }

    #[test]
    fn a_policy_reads_and_writes_as_json() {
        let json = r#"{"allow":["*.example.com:443","10.0.0.0/8"],"deny":["169.254.169.254"],"denyPrivate":true}"#;
        let p: EgressPolicy = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), json);
        let err = serde_json::from_str::<EgressPolicy>(r#"{"allow":["a b"]}"#).unwrap_err();
        assert!(err.to_string().contains("egress rule"), "{err}");
    }
}
