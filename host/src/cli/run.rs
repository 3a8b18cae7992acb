//! `host run`: load, plan, run with live progress and control, summarize, write outputs.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use tokio::sync::broadcast::error::RecvError;
use url::Url;

use super::Exit;
use super::live::{self, Action};
use crate::config::{
    HttpPlan, Overrides, PlanDocument, Stage, Threshold, parse_duration, parse_stages,
};
use crate::demo::DemoTarget;
use crate::engine::{Engine, EngineOptions};
use crate::http::{
    ClientCert, ConnectionPolicy, Resolve, Rule, TlsSettings, TlsVersion, parse_certs, parse_key,
};
use crate::output::{OutputSpec, Outputs, Progress, plan_lines, summary};
use crate::run::{Run, RunStatus};
use crate::runlog::Level;

/// Flags of `host run`. Shorthand flags replace the scenario's own scenarios, as in k6.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario component (.wasm).
    pub scenario: PathBuf,
    /// A plan file (JSON, or TOML when it ends in .toml) laid over the scenario's defaults.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Number of VUs (with --rate: VUs ready at the start).
    #[arg(long, short = 'u')]
    pub vus: Option<u32>,
    /// How long to run (`30s`, `1m30s`): constant-vus (with --rate: constant-arrival-rate).
    #[arg(long, short = 'd', value_parser = duration_arg)]
    pub duration: Option<Duration>,
    /// Iterations shared by all VUs: shared-iterations.
    #[arg(long, short = 'i')]
    pub iterations: Option<u64>,
    /// Iterations started per second, whatever earlier ones do (an open model).
    #[arg(long, short = 'r')]
    pub rate: Option<u32>,
    /// Most VUs: of an open model, or for live control of constant-vus.
    #[arg(long)]
    pub max_vus: Option<u32>,
    /// A ramp `30s:100,1m:100,10s:0`: of VUs (ramping-vus), or of the rate with --rate.
    #[arg(long, short = 's', value_parser = stages_arg)]
    pub stages: Option<Vec<Stage>>,
    /// Run only this named scenario of the plan (repeatable).
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// A threshold, `METRIC: EXPRESSION` (`'http_req_duration{name:login}: p(99)<300'`).
    #[arg(long = "threshold", short = 't', value_name = "THRESHOLD", value_parser = threshold_arg)]
    pub thresholds: Vec<Threshold>,
    /// Also record http_req_duration_corrected for closed models (coordinated omission).
    #[arg(long)]
    pub latency_correction: bool,
    /// Only reach this host or range (repeatable): `api.example.com`, `*.example.com:443`,
    /// `10.0.0.0/8`. Added to the plan's `egress.allow`.
    #[arg(long = "allow-host", value_name = "RULE")]
    pub allow_hosts: Vec<Rule>,
    /// Never reach this host or range (repeatable). Added to the plan's `egress.deny`.
    #[arg(long = "deny-host", value_name = "RULE")]
    pub deny_hosts: Vec<Rule>,
    /// Refuse loopback, private and link-local addresses unless --allow-host names them.
    #[arg(long)]
    pub deny_private: bool,
    /// How VUs use connections: per-vu (default: each keeps its own), shared (one pool for
    /// the run), none (a new connection, and handshake, for every request).
    #[arg(long, value_name = "POLICY")]
    pub connection_policy: Option<ConnectionPolicy>,
    /// With --connection-policy shared: the most connections in use per host.
    #[arg(long, value_name = "N")]
    pub max_connections_per_host: Option<u32>,
    /// Speak HTTP/2 to http:// servers without asking first (h2c, prior knowledge).
    #[arg(long)]
    pub h2c: bool,
    /// Offer only HTTP/1.1 to https:// servers (HTTP/2 is offered by ALPN by default).
    #[arg(long, conflicts_with = "h2c")]
    pub http1: bool,
    /// Connect to ADDRESS for HOST:PORT instead of resolving it, as curl's --resolve
    /// (`api.example.com:443:127.0.0.1`; repeatable).
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDRESS", value_parser = resolve_arg)]
    pub resolve: Vec<String>,
    /// How long a resolved name is reused (default 5m; 0s resolves for every connection).
    #[arg(long, value_parser = duration_arg)]
    pub dns_ttl: Option<Duration>,
    /// Trust this CA too (a PEM file; repeatable), besides the built-in roots.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Accept any server certificate (self-signed test servers). Loud in the summary.
    #[arg(long)]
    pub insecure: bool,
    /// A client certificate (mTLS): `CERT.pem,KEY.pem` for every server that asks, or
    /// `HOST=CERT.pem,KEY.pem` for one host (`*.example.com` for a domain); repeatable.
    #[arg(long = "client-cert", value_name = "[HOST=]CERT,KEY", value_parser = client_cert_arg)]
    pub client_certs: Vec<ClientCertArg>,
    /// Make every new connection a full TLS handshake (no session resumption).
    #[arg(long)]
    pub no_tls_resumption: bool,
    /// The lowest TLS version offered: 1.2 (default) or 1.3.
    #[arg(long, value_name = "VERSION")]
    pub tls_min_version: Option<TlsVersion>,
    /// The highest TLS version offered: 1.2 or 1.3 (default).
    #[arg(long, value_name = "VERSION")]
    pub tls_max_version: Option<TlsVersion>,
    /// Where results go: json=FILE, csv=PREFIX, ndjson=FILE (repeatable).
    #[arg(long = "out", short = 'o', value_name = "KIND=TARGET", value_parser = OutputSpec::parse)]
    pub outputs: Vec<OutputSpec>,
    /// VUs started per second at the beginning (default: all at once).
    #[arg(long)]
    pub spawn_rate: Option<f64>,
    /// Time in-flight iterations get to finish at the end (default 30s).
    #[arg(long, value_parser = duration_arg)]
    pub graceful_stop: Option<Duration>,
    /// Base URL for relative request URLs, like Locust's --host.
    #[arg(long, short = 'H', conflicts_with = "target_demo")]
    pub host: Option<Url>,
    /// A parameter the scenario reads with `vu.parameter` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE", value_parser = param_arg)]
    pub params: Vec<(String, String)>,
    /// Start the built-in demo target on loopback and point the run at it.
    #[arg(long)]
    pub target_demo: bool,
    /// Length of a stats interval (progress, time series, on-stats).
    #[arg(long, value_parser = duration_arg)]
    pub stats_interval: Option<Duration>,
    /// Print the resolved plan as a plan document (JSON) and exit without running.
    #[arg(long)]
    pub print_plan: bool,
    /// Print no progress and no guest log, only the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Also show the guests' debug and trace log lines.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Do not cache compiled components on disk.
    #[arg(long)]
    pub no_cache: bool,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|err| err.to_string())
}

fn stages_arg(text: &str) -> Result<Vec<Stage>, String> {
    parse_stages(text).map_err(|err| err.to_string())
}

fn threshold_arg(text: &str) -> Result<Threshold, String> {
    Threshold::parse_flag(text).map_err(|err| err.to_string())
}

fn resolve_arg(text: &str) -> Result<String, String> {
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

fn client_cert_arg(text: &str) -> Result<ClientCertArg, String> {
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

fn param_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<Exit> {
    let bytes = std::fs::read(&args.scenario)
        .with_context(|| format!("failed to read {:?}", args.scenario))?;
    let cache_dir = if args.no_cache {
        None
    } else {
        super::default_cache_dir()
    };
    let engine_options = EngineOptions {
        cache_dir,
        ..Default::default()
    };

    // First load: validate and read the scenario's defaults (no instance pool needed yet).
    let probe = Engine::new(engine_options.clone())?;
    let scenario = probe
        .load(&bytes)
        .await
        .with_context(|| format!("cannot load {:?}", args.scenario))?;
    let info = scenario.info().clone();
    drop((scenario, probe));

    let mut document = PlanDocument::from_json(&info.plan)
        .context("the scenario's default plan (from its options) is invalid")?;
    if let Some(path) = &args.plan {
        document = document.overlay(PlanDocument::from_file(path)?);
    }
    let tls = tls_settings(&args, &document)?;
    let http = http_settings(&args, &document);
    let egress = (!args.allow_hosts.is_empty() || !args.deny_hosts.is_empty() || args.deny_private)
        .then(|| {
            let mut egress = document.egress.clone().unwrap_or_default();
            egress.allow.extend(args.allow_hosts);
            egress.deny.extend(args.deny_hosts);
            egress.deny_private |= args.deny_private;
            egress
        });
    let overrides = Overrides {
        vus: args.vus,
        duration: args.duration,
        iterations: args.iterations,
        rate: args.rate,
        max_vus: args.max_vus,
        stages: args.stages,
        scenarios: args.scenarios,
        graceful_stop: args.graceful_stop,
        spawn_rate: args.spawn_rate,
        base_url: args.host,
        params: args.params.into_iter().collect::<BTreeMap<_, _>>(),
        stats_interval: args.stats_interval,
        thresholds: args.thresholds,
        latency_correction: args.latency_correction.then_some(true),
        // Limits come from the plan (its `limits` object); the server caps them per tenant.
        limits: None,
        egress,
        http,
        tls,
    };
    let mut plan = document.resolve(overrides).context("invalid plan")?;
    if args.print_plan {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(Exit::Ok);
    }
    let mut outputs = Outputs::open(&args.outputs)?;

    let demo = if args.target_demo {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        Some(
            DemoTarget::start(addr)
                .await
                .context("cannot start the demo target")?,
        )
    } else {
        None
    };
    if let Some(demo) = &demo {
        plan.base_url = Some(Url::parse(&demo.url())?);
    }

    // The run's engine, with an instance pool sized for the plan; the component comes from
    // the cache the first load filled.
    let engine = Engine::new(EngineOptions {
        max_instances: Run::instances_needed(&plan),
        max_memory_bytes: plan.limits.memory_bytes,
        ..engine_options
    })?;
    let scenario = engine
        .load(&bytes)
        .await
        .with_context(|| format!("cannot load {:?}", args.scenario))?;

    let keys = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.quiet {
        eprintln!("loadwright {}", env!("CARGO_PKG_VERSION"));
        eprint!(
            "{}",
            plan_lines(&args.scenario.display().to_string(), &info, &plan)
        );
        if demo.is_some() {
            eprintln!("             (the built-in demo target, on loopback)");
        }
        if keys {
            eprintln!("  keys       p pause/resume, + - ] [ VUs, q stop");
        }
        eprintln!();
    }
    let planned = plan.duration();
    let handle = Run::start(&engine, scenario, plan)?;

    let stopper = handle.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nstopping: in-flight iterations get their graceful stop (Ctrl-C again quits now)"
            );
            stopper.stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                live::restore_terminal();
                std::process::exit(130);
            }
        }
    });
    let mut actions = live::listen(keys);

    let mut intervals = handle.subscribe();
    let mut logs = handle.logs();
    let mut progress = Progress::new(std::io::stderr().is_terminal(), planned);
    let mut output_error = None;
    let min_level = if args.verbose {
        Level::Trace
    } else {
        Level::Info
    };
    loop {
        tokio::select! {
            interval = intervals.recv() => match interval {
                Ok(interval) => {
                    if output_error.is_none()
                        && let Err(err) = outputs.interval(&interval)
                    {
                        output_error = Some(err);
                    }
                    if !args.quiet {
                        progress.set_paused(handle.is_paused());
                        progress.interval(&interval);
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    progress.note(&format!("{skipped} stats intervals were skipped: output is too slow"));
                }
                Err(RecvError::Closed) => break,
            },
            line = logs.recv() => match line {
                Ok(line) if !args.quiet && line.level >= min_level => progress.log(&line),
                _ => {}
            },
            Some(action) = actions.recv() => {
                let note = live::apply(&handle, action);
                if action == Action::Stop || !args.quiet {
                    progress.note(&note);
                }
            }
        }
    }
    live::restore_terminal();
    // Lines written after the last interval (on-test-stop's verdict, for example).
    while let Ok(line) = logs.try_recv() {
        if !args.quiet && line.level >= min_level {
            progress.log(&line);
        }
    }
    progress.finish();
    let report = handle.wait().await;
    print!("{}", summary(&report));
    if let Some(demo) = demo {
        demo.shutdown();
    }
    let written = match output_error {
        Some(err) => Err(err),
        None => outputs.finish(&report),
    };
    let output_failed = match written {
        Ok(paths) => {
            for path in paths {
                eprintln!("wrote {}", path.display());
            }
            false
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            true
        }
    };
    match &report.status {
        RunStatus::Aborted { reason } => {
            eprintln!("error: the run was aborted: {reason}");
            Ok(Exit::Aborted)
        }
        RunStatus::AbortedByThreshold { threshold } => {
            eprintln!("error: threshold {threshold} failed and aborted the run");
            Ok(Exit::ThresholdsFailed)
        }
        _ if !report.thresholds_passed() => {
            let failed = report.snapshot.thresholds.iter().filter(|t| !t.ok).count();
            eprintln!("error: {failed} threshold(s) failed");
            Ok(Exit::ThresholdsFailed)
        }
        _ if output_failed => Ok(Exit::Error),
        RunStatus::Completed | RunStatus::Stopped => Ok(Exit::Ok),
        other => bail!("the run ended in an unexpected state: {other:?}"),
    }
}
