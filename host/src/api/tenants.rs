//! The server's configuration file: tenants, their tokens (stored hashed), quotas, limit
//! caps and egress policies, and the admin token. TOML, documented in `docs/server.md`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::Limits;
use crate::http::EgressPolicy;
use crate::output::export::Protocol;

/// What a tenant may use at once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Quotas {
    /// Runs active at the same time.
    pub concurrent_runs: u32,
    /// VUs of one run.
    pub vus_per_run: u32,
    /// VUs of all the tenant's active runs together.
    pub vus_total: u32,
    /// Bytes of one uploaded component.
    pub upload_bytes: u64,
    /// Bytes of all the tenant's stored components.
    pub stored_bytes: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            concurrent_runs: 2,
            vus_per_run: 1_000,
            vus_total: 2_000,
            upload_bytes: 32 << 20,
            stored_bytes: 1 << 30,
        }
    }
}

/// One tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Tenant {
    /// The tenant's name, as runs and metrics are labelled.
    pub name: String,
    /// SHA-256 (hex) of each token that acts for the tenant: `printf %s TOKEN | sha256sum`.
    pub token_sha256: Vec<String>,
    /// What it may use at once.
    #[serde(default)]
    pub quotas: Quotas,
    /// The most each limit of its runs may be (a plan's `limits` object, camelCase).
    #[serde(default)]
    pub limits: Limits,
    /// What its runs may reach; by default public addresses only.
    #[serde(default = "EgressPolicy::public_only")]
    pub egress: EgressPolicy,
    /// Whether its runs may skip TLS certificate verification (a plan's `tls.insecure`).
    #[serde(default)]
    pub allow_insecure_tls: bool,
    /// The observability outputs its runs may push to (`otlp`, `prometheus-rw`); none by
    /// default. Their URLs must pass `egress` too.
    #[serde(default)]
    pub outputs: Vec<Protocol>,
}

/// The configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServerConfig {
    /// SHA-256 (hex) of the admin token, which sees every tenant's scenarios and runs.
    #[serde(default)]
    pub admin_token_sha256: Option<String>,
    /// SHA-256 (hex) of each token agents (`host agent`) register with: they run the parts
    /// of distributed runs, and reach nothing else of the API.
    #[serde(default)]
    pub agent_token_sha256: Vec<String>,
    /// VUs the server runs at most, all tenants together: the size of the instance pool.
    #[serde(default = "default_max_vus")]
    pub max_vus: u32,
    /// The tenants.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<Tenant>,
}

fn default_max_vus() -> u32 {
    10_000
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            admin_token_sha256: None,
            agent_token_sha256: Vec::new(),
            max_vus: default_max_vus(),
            tenants: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// Reads and checks the file at `path`.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path:?}"))?;
        let config: Self =
            toml::from_str(&text).with_context(|| format!("{path:?} is not a valid config"))?;
        config.validate().with_context(|| format!("in {path:?}"))?;
        Ok(config)
    }

    /// Checks names and token hashes; the message says what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut names = std::collections::HashSet::new();
        let mut hashes = std::collections::HashSet::new();
        for tenant in &self.tenants {
            anyhow::ensure!(
                !tenant.name.is_empty()
                    && tenant
                        .name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "tenant name {:?}: use letters, digits, - and _",
                tenant.name
            );
            anyhow::ensure!(
                names.insert(&tenant.name),
                "two tenants are named {:?}",
                tenant.name
            );
            anyhow::ensure!(
                !tenant.token_sha256.is_empty(),
                "tenant {:?} has no token-sha256",
                tenant.name
            );
            for hash in &tenant.token_sha256 {
                check_hash(hash)?;
                anyhow::ensure!(
                    hashes.insert(hash.to_ascii_lowercase()),
                    "a token hash is given twice"
                );
            }
            tenant
                .limits
                .validate()
                .with_context(|| format!("tenant {:?}", tenant.name))?;
        }
        if let Some(hash) = &self.admin_token_sha256 {
            check_hash(hash)?;
            anyhow::ensure!(
                hashes.insert(hash.to_ascii_lowercase()),
                "the admin token's hash is a tenant's too"
            );
        }
        for hash in &self.agent_token_sha256 {
            check_hash(hash)?;
            anyhow::ensure!(
                hashes.insert(hash.to_ascii_lowercase()),
                "an agent token's hash is given twice, or is a tenant's or the admin's: \
                 agents have tokens of their own"
            );
        }
        anyhow::ensure!(self.max_vus > 0, "max-vus must be at least 1");
        Ok(())
    }
}

fn check_hash(hash: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{hash:?} is not a SHA-256 in hex (64 characters); make one with \
         `printf %s TOKEN | sha256sum`"
    );
    Ok(())
}

/// Who a request acts for.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A tenant: sees and touches its own scenarios and runs only.
    Tenant(Arc<Tenant>),
    /// The admin: sees every tenant's.
    Admin,
}

impl Caller {
    /// The tenant whose data the caller may see; `None` for the admin, who sees all.
    pub fn scope(&self) -> Option<&str> {
        match self {
            Self::Tenant(tenant) => Some(&tenant.name),
            Self::Admin => None,
        }
    }
}

/// Tokens to callers, by hash.
#[derive(Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<String, Caller>,
    agents: std::collections::HashSet<String>,
}

impl Tokens {
    /// The tokens of `config`.
    pub fn of(config: &ServerConfig) -> Self {
        let mut by_hash = HashMap::new();
        for tenant in &config.tenants {
            let shared = Arc::new(tenant.clone());
            for hash in &tenant.token_sha256 {
                by_hash.insert(hash.to_ascii_lowercase(), Caller::Tenant(shared.clone()));
            }
        }
        if let Some(hash) = &config.admin_token_sha256 {
            by_hash.insert(hash.to_ascii_lowercase(), Caller::Admin);
        }
        let agents = config
            .agent_token_sha256
            .iter()
            .map(|hash| hash.to_ascii_lowercase())
            .collect();
        Self { by_hash, agents }
    }

    /// The caller a bearer token acts for.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.by_hash.get(&sha256_hex(token.as_bytes()))
    }

    /// Whether a bearer token is an agent's.
    pub fn is_agent(&self, token: &str) -> bool {
        self.agents.contains(&sha256_hex(token.as_bytes()))
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_maps_hashed_tokens_to_tenants_and_the_admin() {
        let text = format!(
            r#"
            admin-token-sha256 = "{admin}"
            agent-token-sha256 = ["{agent}"]
            max-vus = 500
            [[tenant]]
            name = "acme"
            token-sha256 = ["{acme}"]
            quotas = {{ concurrent-runs = 1 }}
            limits = {{ maxVUs = 50 }}
            egress = {{ allow = ["*.acme.test"] }}
            "#,
            admin = sha256_hex(b"root"),
            acme = sha256_hex(b"acme-token"),
            agent = sha256_hex(b"agent-token"),
        );
        let config: ServerConfig = toml::from_str(&text).unwrap();
        config.validate().unwrap();
        let tokens = Tokens::of(&config);
        match tokens.caller("acme-token") {
            Some(Caller::Tenant(t)) => {
                assert_eq!(t.name, "acme");
                assert_eq!(t.quotas.concurrent_runs, 1);
                assert_eq!(t.quotas.vus_per_run, Quotas::default().vus_per_run);
                assert_eq!(t.limits.max_vus, 50);
                assert!(
                    !t.egress.deny_private,
                    "an explicit policy replaces the default"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(tokens.caller("root"), Some(Caller::Admin)));
        assert!(tokens.caller("guess").is_none());
        assert!(tokens.is_agent("agent-token"));
        assert!(
            tokens.caller("agent-token").is_none(),
            "an agent is no tenant"
        );
        assert!(!tokens.is_agent("acme-token") && !tokens.is_agent("root"));
        assert_eq!(config.max_vus, 500);
    }

    #[test]
    fn bad_configs_say_what_to_fix() {
        let bad = |text: &str| {
            let config: ServerConfig = toml::from_str(text).unwrap();
            config.validate().unwrap_err().to_string()
        };
        assert!(bad("[[tenant]]\nname = \"a\"\ntoken-sha256 = [\"abc\"]").contains("sha256sum"));
        assert!(bad("[[tenant]]\nname = \"a b\"\ntoken-sha256 = []").contains("letters"));
        let tenant_default: Tenant = toml::from_str("name = \"a\"\ntoken-sha256 = []").unwrap();
        assert!(
            tenant_default.egress.deny_private,
            "public addresses only by default"
        );
    }
}
