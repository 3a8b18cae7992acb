//! A server run's observability outputs: the `outputs` a run asks for, checked against its
//! tenant's configuration (the kinds it may push, its egress policy), pushed while the run
//! goes, and how they fared written to the run's log at its end.

use std::net::IpAddr;

use super::error::ApiError;
use super::tenants::Tenant;
use crate::http::Egress;
use crate::output::export::{Export, ExportReport, Exporters, Protocol, RunLabels};
use crate::run::RunHandle;
use crate::runlog::Level;

/// Most outputs one run may push to.
pub const MAX_OUTPUTS: usize = 4;

/// The outputs of a run of `tenant`, from the request's `outputs` (`otlp=URL`,
/// `prometheus-rw=URL`); `422` naming the entry for one the tenant may not use.
pub fn requested(outputs: &[String], tenant: &Tenant) -> Result<Vec<Export>, ApiError> {
    if outputs.len() > MAX_OUTPUTS {
        return Err(ApiError::invalid(format!(
            "outputs: at most {MAX_OUTPUTS} per run, not {}",
            outputs.len()
        )));
    }
    outputs
        .iter()
        .map(|text| {
            let invalid = |why: String| ApiError::invalid(format!("outputs: {text:?}: {why}"));
            let (kind, url) = text.split_once('=').unwrap_or((text, ""));
            let Some(protocol) = Protocol::from_name(kind) else {
                return Err(invalid(
                    "a server run pushes to otlp=URL or prometheus-rw=URL".into(),
                ));
            };
            let export = Export::new(protocol, url).map_err(invalid)?;
            if !tenant.outputs.contains(&export.protocol) {
                return Err(invalid(format!(
                    "tenant {:?} may not push to {} (the server's configuration lists the \
                     outputs each tenant may use: outputs = [\"otlp\", \"prometheus-rw\"])",
                    tenant.name,
                    export.protocol.name()
                )));
            }
            reachable(&export, &egress(tenant)).map_err(invalid)?;
            Ok(export)
        })
        .collect()
}

/// What a tenant's outputs may reach: its egress policy, as its runs' requests.
pub fn egress(tenant: &Tenant) -> Egress {
    Egress::open().and(tenant.egress.clone())
}

/// Refuses an output whose host `egress` does not allow (by name, and by address when the
/// host is one; a name is checked again at each connection, once resolved).
fn reachable(export: &Export, egress: &Egress) -> Result<(), String> {
    let url = &export.url;
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    let refused = |why: String| format!("egress: {why}");
    egress.check_name(host, port).map_err(refused)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        egress.check_address(host, port, ip).map_err(refused)?;
    }
    Ok(())
}

/// Starts pushing run `id`'s figures (labelled with its scenario's id) to `exports`.
pub fn start(
    exports: &[Export],
    handle: &RunHandle,
    id: &str,
    scenario: &str,
    tenant: &Tenant,
) -> anyhow::Result<Option<Exporters>> {
    if exports.is_empty() {
        return Ok(None);
    }
    let labels = RunLabels {
        run: id.to_owned(),
        scenario: scenario.to_owned(),
        started_at: handle.started_at(),
    };
    Exporters::start(exports, handle, labels, egress(tenant)).map(Some)
}

/// Waits for the outputs' last batches (the run is over) and says in the run's log how
/// each fared: a warning when batches failed or were dropped.
pub async fn finish(exporters: Exporters, handle: &RunHandle) {
    for fared in exporters.finish().await {
        handle.log(level(&fared), &format!("output {fared}"));
    }
}

fn level(fared: &ExportReport) -> Level {
    if fared.failed > 0 || fared.dropped > 0 {
        Level::Warn
    } else {
        Level::Info
    }
}
