//! `host run`: load, plan, run with live progress and control (and with `--web`, its page:
//! `web`), summarize, write outputs.

mod flags;
mod watch;
mod web;

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use url::Url;

use super::open_files;
use super::{Exit, announce_written, exit_code};
use crate::config::{Plan, PlanDocument, Segment, Sequence, Stage, Threshold};
use crate::demo::DemoTarget;
use crate::engine::{Engine, EngineOptions, Scenario, ScenarioInfo};
use crate::http::{ConnectionPolicy, Egress, Rule, TlsVersion};
use crate::output::export::RunLabels;
use crate::output::{OutputSpec, Outputs, plan_lines, summary};
use crate::run::{Run, RunHandle, RunOptions};

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
    #[arg(long, short = 'd', value_parser = flags::duration_arg)]
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
    #[arg(long, short = 's', value_parser = flags::stages_arg)]
    pub stages: Option<Vec<Stage>>,
    /// Run only this named scenario of the plan (repeatable).
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// A threshold, `METRIC: EXPRESSION` (`'http_req_duration{name:login}: p(99)<300'`).
    #[arg(long = "threshold", short = 't', value_name = "THRESHOLD", value_parser = flags::threshold_arg)]
    pub thresholds: Vec<Threshold>,
    /// Also record http_req_duration_corrected for closed models (coordinated omission).
    #[arg(long)]
    pub latency_correction: bool,
    /// Run only this part of the plan, k6's execution segment: `1/4:1/2`, `25%:50%`, or
    /// `1/4` for `0:1/4` (see docs/distributed.md).
    #[arg(long, value_name = "FROM:TO")]
    pub execution_segment: Option<Segment>,
    /// The segments of all the instances that run the plan, `0,1/4,1/2,3/4,1`: with it, the
    /// instances' parts add up exactly to the whole plan.
    #[arg(long, value_name = "POINTS")]
    pub execution_segment_sequence: Option<Sequence>,
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
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDRESS", value_parser = flags::resolve_arg)]
    pub resolve: Vec<String>,
    /// How long a resolved name is reused (default 5m; 0s resolves for every connection).
    #[arg(long, value_parser = flags::duration_arg)]
    pub dns_ttl: Option<Duration>,
    /// Trust this CA too (a PEM file; repeatable), besides the built-in roots.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Accept any server certificate (self-signed test servers). Loud in the summary.
    #[arg(long)]
    pub insecure: bool,
    /// A client certificate (mTLS): `CERT.pem,KEY.pem` for every server that asks, or
    /// `HOST=CERT.pem,KEY.pem` for one host (`*.example.com` for a domain); repeatable.
    #[arg(long = "client-cert", value_name = "[HOST=]CERT,KEY", value_parser = flags::client_cert_arg)]
    pub client_certs: Vec<flags::ClientCertArg>,
    /// Make every new connection a full TLS handshake (no session resumption).
    #[arg(long)]
    pub no_tls_resumption: bool,
    /// The lowest TLS version offered: 1.2 (default) or 1.3.
    #[arg(long, value_name = "VERSION")]
    pub tls_min_version: Option<TlsVersion>,
    /// The highest TLS version offered: 1.2 or 1.3 (default).
    #[arg(long, value_name = "VERSION")]
    pub tls_max_version: Option<TlsVersion>,
    /// Serve the run's live page (charts, tables, stop, pause, VUs) at ADDR while it runs
    /// (default 127.0.0.1:5665; it asks for no token, so keep it on loopback).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:5665")]
    pub web: Option<SocketAddr>,
    /// Where results go: json=FILE, csv=PREFIX, ndjson=FILE, html=FILE, result=FILE (the
    /// mergeable results `host report` reads; see docs/distributed.md), otlp=URL (an
    /// OpenTelemetry collector) or prometheus-rw=URL (a Prometheus remote-write receiver; see
    /// docs/outputs.md). Repeatable.
    #[arg(long = "out", short = 'o', value_name = "KIND=TARGET", value_parser = OutputSpec::parse)]
    pub outputs: Vec<OutputSpec>,
    /// The `run` label of the figures otlp and prometheus-rw push (default: made up, and
    /// shown at the start).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// VUs started per second at the beginning (default: all at once).
    #[arg(long)]
    pub spawn_rate: Option<f64>,
    /// Time in-flight iterations get to finish at the end (default 30s).
    #[arg(long, value_parser = flags::duration_arg)]
    pub graceful_stop: Option<Duration>,
    /// Base URL for relative request URLs, like Locust's --host.
    #[arg(long, short = 'H', conflicts_with = "target_demo")]
    pub host: Option<Url>,
    /// A parameter the scenario reads with `vu.parameter` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE", value_parser = flags::param_arg)]
    pub params: Vec<(String, String)>,
    /// Start the built-in demo target on loopback and point the run at it.
    #[arg(long)]
    pub target_demo: bool,
    /// Length of a stats interval (progress, time series, on-stats).
    #[arg(long, value_parser = flags::duration_arg)]
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

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<Exit> {
    let bytes = std::fs::read(&args.scenario)
        .with_context(|| format!("failed to read {:?}", args.scenario))?;
    let engine_options = EngineOptions {
        cache_dir: (!args.no_cache).then(super::default_cache_dir).flatten(),
        ..Default::default()
    };
    let info = probe(&args, &bytes, &engine_options).await?;
    let (mut plan, component_egress, ignored) = resolve_plan(&args, &info)?;
    if args.print_plan {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(Exit::Ok);
    }
    let mut outputs = Outputs::open(&args.outputs)?;
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{:012x}", fastrand::u64(..) >> 16));
    let demo = start_demo(&args, &mut plan).await?;
    let (engine, scenario) = load_for(&plan, &args, &bytes, engine_options).await?;
    let open_files = open_files::raise(open_files::needed_for(plan.max_vus()));
    let keys = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.quiet {
        let notes = Notes {
            demo: demo.is_some(),
            open_files: open_files.note(),
            keys,
            component_egress: &component_egress,
            ignored: &ignored,
            run_id: outputs.pushes().then_some(run_id.as_str()),
        };
        banner(&args, &info, &plan, &notes);
    }
    let planned = plan.duration();
    let options = RunOptions {
        egress: component_egress,
        keep_deltas: outputs.keeps_deltas(),
        ..RunOptions::default()
    };
    let handle = Run::start_with(&engine, scenario, plan, options)?;
    if let Err(err) = outputs.follow(&handle, run_labels(&args, run_id, &handle)) {
        handle.stop();
        return Err(err);
    }
    let page = match args.web {
        Some(addr) => Some(web::serve(addr, handle.clone()).await?),
        None => None,
    };
    if let Some(page) = &page {
        announce_web(page.addr);
    }
    let output_error = watch::watch(&handle, &args, keys, planned, &mut outputs).await;
    let report = handle.wait().await;
    if let Some(page) = page {
        page.finish().await;
    }
    print!("{}", summary(&report));
    if let Some(demo) = demo {
        demo.shutdown();
    }
    let written = match output_error {
        Some(err) => Err(err),
        None => outputs.finish(&report).await,
    };
    exit_code(&report, announce_written(written))
}

/// What the figures pushed by the observability outputs are labelled with: `run` (the id
/// given, or one made up), and the scenario file's name.
fn run_labels(args: &RunArgs, run: String, handle: &RunHandle) -> RunLabels {
    let scenario = args.scenario.file_stem().map_or_else(
        || args.scenario.display().to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    RunLabels {
        run,
        scenario,
        started_at: handle.started_at(),
    }
}

/// Says where the run's page is; one line on stderr, even with --quiet (a script that asked
/// for the page needs its address, port 0 included).
fn announce_web(addr: SocketAddr) {
    eprintln!("run page at http://{addr}/");
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: the run page asks for no token: anyone who reaches {addr} can stop the run"
        );
    }
}

/// Loads the component once to validate it and read its defaults (no instance pool yet).
async fn probe(
    args: &RunArgs,
    bytes: &[u8],
    options: &EngineOptions,
) -> anyhow::Result<ScenarioInfo> {
    let probe = Engine::new(options.clone())?;
    let scenario = probe
        .load(bytes)
        .await
        .with_context(|| format!("cannot load {:?}", args.scenario))?;
    Ok(scenario.info().clone())
}

/// The plan to run: the scenario's defaults under the plan file and the flags, which are
/// the authority (`PlanDocument::under`); the component's own egress policy, which the run
/// must pass too; and what of its defaults was not applied.
fn resolve_plan(
    args: &RunArgs,
    info: &ScenarioInfo,
) -> anyhow::Result<(Plan, Egress, Vec<String>)> {
    let component = PlanDocument::from_json(&info.plan)
        .context("the scenario's default plan (from its options) is invalid")?;
    let operator = match &args.plan {
        Some(path) => PlanDocument::from_file(path)?,
        None => PlanDocument::default(),
    };
    let governed = component.under(operator);
    let overrides = flags::overrides(args, &governed.document)?;
    let plan = governed
        .document
        .resolve(overrides)
        .context("invalid plan")?;
    let egress = Egress::open().and(governed.component_egress.unwrap_or_default());
    Ok((plan, egress, governed.ignored))
}

/// With `--target-demo`, the demo target on loopback, and the plan pointed at it.
async fn start_demo(args: &RunArgs, plan: &mut Plan) -> anyhow::Result<Option<DemoTarget>> {
    if !args.target_demo {
        return Ok(None);
    }
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let demo = DemoTarget::start(addr)
        .await
        .context("cannot start the demo target")?;
    plan.base_url = Some(Url::parse(&demo.url())?);
    Ok(Some(demo))
}

/// The run's engine, with an instance pool sized for `plan`, and the scenario in it (from
/// the cache the first load filled).
async fn load_for(
    plan: &Plan,
    args: &RunArgs,
    bytes: &[u8],
    options: EngineOptions,
) -> anyhow::Result<(Engine, Scenario)> {
    let engine = Engine::new(EngineOptions {
        max_instances: Run::instances_needed(plan),
        max_memory_bytes: plan.limits.memory_bytes,
        ..options
    })?;
    let scenario = engine
        .load(bytes)
        .await
        .with_context(|| format!("cannot load {:?}", args.scenario))?;
    Ok((engine, scenario))
}

/// What the banner says besides the plan.
struct Notes<'a> {
    demo: bool,
    open_files: Option<String>,
    keys: bool,
    /// The component's own egress policy, stacked on the plan's.
    component_egress: &'a Egress,
    /// The component's defaults that were not applied.
    ignored: &'a [String],
    /// The run id the pushed figures are labelled with, when some are pushed.
    run_id: Option<&'a str>,
}

/// What is about to run, on stderr.
fn banner(args: &RunArgs, info: &ScenarioInfo, plan: &Plan, notes: &Notes<'_>) {
    eprintln!("loadwright {}", env!("CARGO_PKG_VERSION"));
    eprint!(
        "{}",
        plan_lines(&args.scenario.display().to_string(), info, plan)
    );
    if notes.demo {
        eprintln!("  target     the built-in demo target, on loopback");
    }
    for policy in notes.component_egress.layers() {
        eprintln!("  egress     and the scenario's own: {policy}");
    }
    for ignored in notes.ignored {
        eprintln!("  ⚠ ignored  the scenario's {ignored}");
    }
    if let Some(note) = &notes.open_files {
        eprintln!("  files      {note}");
    }
    if let Some(run_id) = notes.run_id {
        eprintln!("  run id     {run_id} (the run label of the pushed metrics)");
    }
    if notes.keys {
        eprintln!("  keys       p pause/resume, + - ] [ VUs, q stop");
    }
    eprintln!();
}
