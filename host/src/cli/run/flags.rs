//! From `host run`'s flags to the plan: value parsers, and the overrides the flags make
//! (TLS and HTTP settings, the egress policy, the shorthand), laid over the plan document.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use super::RunArgs;
use crate::config::{
    HttpPlan, Overrides, PlanDocument, Stage, Threshold, parse_duration, parse_stages,
};
use crate::http::{ClientCert, EgressPolicy, Resolve, TlsSettings, parse_certs, parse_key};

pub(super) fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|err| err.to_string())
}

pub(super) fn stages_arg(text: &str) -> Result<Vec<Stage>, String> {
    parse_stages(text).map_err(|err| err.to_string())
}

pub(super) fn threshold_arg(text: &str) -> Result<Threshold, String> {
    Threshold::parse_flag(text).map_err(|err| err.to_string())
}

pub(super) fn resolve_arg(text: &str) -> Result<String, String> {
    Resolve::parse(text).map(|_| text.to_owned())
}

/// The plan's HTTP settings with the HTTP flags over them (`None` when no flag is given).
fn http_settings(args: &RunArgs, document: &PlanDocument) -> Option<HttpPlan> {
    let flagged = args.connection_policy.is_some()
        || args.max_connections_per_host.is_some()
        || args.h2c
        || args.http1
        || !args.resolve.is_empty()
        || args.dns_ttl.is_some();
    if !flagged {
        return None;
    }
    let mut http = document.http.clone().unwrap_or_default();
    if let Some(policy) = args.connection_policy {
        http.connection_policy = policy;
    }
    if let Some(cap) = args.max_connections_per_host {
        http.max_connections_per_host = cap;
    }
    http.h2c |= args.h2c;
    http.http2 &= !args.http1;
    http.resolve.extend(args.resolve.iter().cloned());
    if let Some(ttl) = args.dns_ttl {
        http.dns_ttl = ttl;
    }
    Some(http)
}

/// `--client-cert [HOST=]CERT,KEY`, before the files are read.
#[derive(Debug, Clone)]
pub struct ClientCertArg {
    host: Option<String>,
    cert: PathBuf,
    key: PathBuf,
}

pub(super) fn client_cert_arg(text: &str) -> Result<ClientCertArg, String> {
    let (host, files) = match text.split_once('=') {
        Some((host, files)) => (Some(host.trim().to_owned()), files),
        None => (None, text),
    };
    match files.split_once(',') {
        Some((cert, key)) if !cert.is_empty() && !key.is_empty() => Ok(ClientCertArg {
            host,
            cert: cert.into(),
            key: key.into(),
        }),
        _ => Err(format!(
            "{text:?}: write CERT.pem,KEY.pem, or HOST=CERT.pem,KEY.pem for one host"
        )),
    }
}

/// The text of `path`, for flag `flag`.
fn read_pem(flag: &str, path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("{flag} {}: cannot read it", path.display()))
}

/// The plan's TLS settings with the TLS flags over them (`None` when no flag is given). Each
/// file is read and checked here, so a bad one is named before anything starts.
fn tls_settings(args: &RunArgs, document: &PlanDocument) -> anyhow::Result<Option<TlsSettings>> {
    let flagged = !args.ca_certs.is_empty()
        || args.insecure
        || !args.client_certs.is_empty()
        || args.no_tls_resumption
        || args.tls_min_version.is_some()
        || args.tls_max_version.is_some();
    if !flagged {
        return Ok(None);
    }
    let mut tls = document.tls.clone().unwrap_or_default();
    for path in &args.ca_certs {
        let what = format!("--ca-cert {}", path.display());
        let pem = read_pem("--ca-cert", path)?;
        parse_certs(&pem, &what).map_err(anyhow::Error::msg)?;
        tls.ca_certs.push(pem);
    }
    for arg in &args.client_certs {
        let cert = read_pem("--client-cert", &arg.cert)?;
        parse_certs(&cert, &format!("--client-cert {}", arg.cert.display()))
            .map_err(anyhow::Error::msg)?;
        let key = read_pem("--client-cert", &arg.key)?;
        parse_key(&key, &format!("--client-cert {}", arg.key.display()))
            .map_err(anyhow::Error::msg)?;
        tls.client_certs.push(ClientCert {
            domains: arg.host.iter().cloned().collect(),
            cert,
            key,
        });
    }
    tls.insecure |= args.insecure;
    tls.resumption &= !args.no_tls_resumption;
    tls.min_version = args.tls_min_version.or(tls.min_version);
    tls.max_version = args.tls_max_version.or(tls.max_version);
    Ok(Some(tls))
}

pub(super) fn param_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// The egress policy of the document with the egress flags over it (`None` when no flag is
/// given).
fn egress_settings(args: &RunArgs, document: &PlanDocument) -> Option<EgressPolicy> {
    let flagged = !args.allow_hosts.is_empty() || !args.deny_hosts.is_empty() || args.deny_private;
    flagged.then(|| {
        let mut egress = document.egress.clone().unwrap_or_default();
        egress.allow.extend(args.allow_hosts.iter().cloned());
        egress.deny.extend(args.deny_hosts.iter().cloned());
        egress.deny_private |= args.deny_private;
        egress
    })
}

/// Everything the flags say about the plan, to resolve `document` with.
pub(super) fn overrides(args: &RunArgs, document: &PlanDocument) -> anyhow::Result<Overrides> {
    Ok(Overrides {
        vus: args.vus,
        duration: args.duration,
        iterations: args.iterations,
        rate: args.rate,
        max_vus: args.max_vus,
        stages: args.stages.clone(),
        scenarios: args.scenarios.clone(),
        graceful_stop: args.graceful_stop,
        spawn_rate: args.spawn_rate,
        base_url: args.host.clone(),
        params: args.params.iter().cloned().collect::<BTreeMap<_, _>>(),
        stats_interval: args.stats_interval,
        thresholds: args.thresholds.clone(),
        latency_correction: args.latency_correction.then_some(true),
        // Limits come from the plan (its `limits` object); the server caps them per tenant.
        limits: None,
        egress: egress_settings(args, document),
        http: http_settings(args, document),
        tls: tls_settings(args, document)?,
        execution_segment: args.execution_segment,
        execution_segment_sequence: args.execution_segment_sequence.clone(),
    })
}
