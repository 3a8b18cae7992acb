//! `host agent`: runs parts of distributed runs for a coordinator (`host serve`). It polls
//! for a part, fetches the scenario (once per hash), says it is ready, starts at the
//! instant the coordinator gives, hands in every interval as it closes, and says when the
//! part ended; then polls again. See `docs/distributed.md`.

mod client;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use url::Url;

use self::client::{CallError, Coordinator};
use super::Exit;
use crate::api::agents::AgentHello;
use crate::api::fleet::{Assignment, StartAnswer};
use crate::config::{Overrides, PlanDocument};
use crate::engine::{Engine, EngineOptions};
use crate::http::Egress;
use crate::output::ResultFile;
use crate::run::{Placement, Run, RunHandle, RunOptions, RunStatus};
use crate::stats::IntervalDelta;

/// How long an agent goes on without reaching the coordinator before it stops its part:
/// no load without someone to merge it.
const UNREACHABLE: Duration = Duration::from_secs(60);
/// Pause after a failed poll.
const RETRY: Duration = Duration::from_secs(2);

/// Flags of `host agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The coordinator: a `host serve` URL (`http://loadwright:8080`).
    #[arg(long, value_name = "URL")]
    pub coordinator: Url,
    /// The agent token (one whose SHA-256 is in the server's `agent-token-sha256`); also
    /// read from LOADWRIGHT_AGENT_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The agent's name in runs' logs (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Trust this CA too for an https coordinator (a PEM file; repeatable).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Also write each part's result file into DIR (`RUN-part-N.ndjson`, as `host run --out
    /// result=FILE` writes it): `host report` merges a run's parts from them.
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// Run one part, then exit (its exit code is the part's).
    #[arg(long)]
    pub once: bool,
    /// Do not cache compiled components on disk.
    #[arg(long)]
    pub no_cache: bool,
}

pub(crate) async fn agent(args: AgentArgs) -> anyhow::Result<Exit> {
    let token = match &args.token {
        Some(token) => token.clone(),
        None => std::env::var("LOADWRIGHT_AGENT_TOKEN").context(
            "give the agent token: --token TOKEN, or LOADWRIGHT_AGENT_TOKEN in the environment",
        )?,
    };
    let ca_certs = args
        .ca_certs
        .iter()
        .map(|path| std::fs::read_to_string(path).with_context(|| format!("cannot read {path:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let hello = AgentHello {
        id: format!("{:016x}", fastrand::u64(..)),
        name: args.name.clone().unwrap_or_else(host_name),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    eprintln!("agent {:?} polls {}", hello.name, args.coordinator);
    let coordinator = Arc::new(Coordinator::new(
        args.coordinator.clone(),
        token,
        hello,
        ca_certs,
    )?);
    let mut components: HashMap<String, Vec<u8>> = HashMap::new();
    loop {
        let assignment = match coordinator.poll().await {
            Ok(Some(assignment)) => assignment,
            Ok(None) => continue,
            Err(CallError::Gone(message)) => {
                anyhow::bail!("the coordinator refused the agent: {message}")
            }
            Err(CallError::Failed(err)) => {
                eprintln!("warning: cannot poll the coordinator: {err:#}");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let status = run_part(&coordinator, &assignment, &mut components, &args).await;
        if args.once {
            return Ok(match status {
                RunStatus::Completed | RunStatus::Stopped => Exit::Ok,
                _ => Exit::Aborted,
            });
        }
    }
}

/// The machine's name: `HOSTNAME`, else /etc/hostname, else "agent".
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "agent".to_owned())
}

/// Runs one part to its end and tells the coordinator how it ended; returns how.
async fn run_part(
    coordinator: &Arc<Coordinator>,
    assignment: &Assignment,
    components: &mut HashMap<String, Vec<u8>>,
    args: &AgentArgs,
) -> RunStatus {
    let (run, part) = (assignment.run.as_str(), assignment.part);
    eprintln!("run {run}: part {} of {}", part + 1, assignment.parts);
    let (status, retired) = match prepare_and_run(coordinator, assignment, components, args).await {
        Ok(ended) => ended,
        Err(err) => {
            let reason = format!("{err:#}");
            (RunStatus::Aborted { reason }, 0)
        }
    };
    eprintln!("run {run}: part {} ended: {status:?}", part + 1);
    if let Err(err) = coordinator.end(run, part, status.clone(), retired).await {
        eprintln!("warning: run {run}: cannot say the part ended: {err}");
    }
    status
}

/// Prepares the part (plan, scenario, engine), waits for the start, runs it; returns how it
/// ended and how many VUs it retired.
async fn prepare_and_run(
    coordinator: &Arc<Coordinator>,
    assignment: &Assignment,
    components: &mut HashMap<String, Vec<u8>>,
    args: &AgentArgs,
) -> anyhow::Result<(RunStatus, u32)> {
    let plan = PlanDocument::from_json(&assignment.plan.to_string())
        .and_then(|document| document.resolve(Overrides::default()))
        .context("the part's plan is invalid")?;
    if !components.contains_key(&assignment.scenario) {
        let bytes = coordinator.scenario(&assignment.scenario).await?;
        components.insert(assignment.scenario.clone(), bytes);
    }
    let bytes = &components[&assignment.scenario];
    let engine = Engine::new(EngineOptions {
        max_instances: Run::instances_needed(&plan),
        max_memory_bytes: plan.limits.memory_bytes,
        cache_dir: (!args.no_cache).then(super::default_cache_dir).flatten(),
        ..EngineOptions::default()
    })?;
    let scenario = engine
        .load(bytes)
        .await
        .context("cannot load the scenario")?;
    super::open_files::raise(super::open_files::needed_for(plan.max_vus()));
    let Some((start_at, setup_data)) = wait_for_start(coordinator, assignment).await? else {
        return Ok((RunStatus::Stopped, 0));
    };
    let egress = assignment
        .egress
        .iter()
        .fold(Egress::open(), |egress, policy| egress.and(policy.clone()));
    let options = RunOptions {
        egress,
        keep_deltas: true,
        placement: Placement::Part {
            setup_data,
            start_at,
        },
    };
    let file = match &args.results {
        Some(dir) => Some(ResultFile::create(&dir.join(format!(
            "{}-part-{}.ndjson",
            assignment.run,
            assignment.part + 1
        )))?),
        None => None,
    };
    let handle = Run::start_with(&engine, scenario, plan, options)?;
    let deltas = handle.take_deltas().context("the part keeps no deltas")?;
    let (copies, writer) = match file {
        Some(file) => {
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            (Some(sender), Some(file.start(&handle, receiver)?))
        }
        None => (None, None),
    };
    let forward = tokio::spawn(forward(
        coordinator.clone(),
        Part {
            run: assignment.run.clone(),
            number: assignment.part,
            handle: handle.clone(),
            copies,
        },
        deltas,
    ));
    let report = handle.wait().await;
    let _ = forward.await;
    if let Some(writer) = writer {
        match writer.finish(&report).await {
            Ok(path) => eprintln!("wrote {}", path.display()),
            Err(err) => eprintln!("error: {err:#}"),
        }
    }
    Ok((report.status.clone(), report.snapshot.vus_retired))
}

/// Says the part is ready until the coordinator gives the start; `None` when it says the
/// run will not start.
async fn wait_for_start(
    coordinator: &Coordinator,
    assignment: &Assignment,
) -> anyhow::Result<Option<(std::time::SystemTime, Vec<u8>)>> {
    loop {
        match coordinator.ready(&assignment.run, assignment.part).await? {
            StartAnswer::Wait => continue,
            StartAnswer::Abort { reason } => {
                eprintln!("run {}: will not start: {reason}", assignment.run);
                return Ok(None);
            }
            answer => {
                let start = answer
                    .start()
                    .context("the coordinator's start instant or data is malformed")?;
                return Ok(Some(start));
            }
        }
    }
}

/// A running part, as [`forward`] needs it.
struct Part {
    run: String,
    number: u32,
    handle: RunHandle,
    /// Where a copy of each interval goes: the part's result file.
    copies: Option<UnboundedSender<IntervalDelta>>,
}

/// Hands each of the part's intervals to the coordinator, in order, none skipped: a call
/// that fails is tried again until the coordinator has been unreachable for
/// [`UNREACHABLE`]; then, or when the coordinator says so, the part stops.
async fn forward(
    coordinator: Arc<Coordinator>,
    part: Part,
    mut deltas: UnboundedReceiver<IntervalDelta>,
) {
    let mut posting = true;
    while let Some(delta) = deltas.recv().await {
        if let Some(copies) = &part.copies {
            let _ = copies.send(delta.clone());
        }
        if posting && let Err(reason) = hand_in(&coordinator, &part, delta).await {
            // The rest still goes to the result file, if any.
            eprintln!("run {}: {reason}", part.run);
            part.handle.abort(&reason);
            posting = false;
        }
    }
}

/// Hands one interval in, trying again while the coordinator is unreachable (for up to
/// [`UNREACHABLE`]); stops the part when the coordinator says so. The error says why the
/// part must stop handing in.
async fn hand_in(
    coordinator: &Coordinator,
    part: &Part,
    delta: IntervalDelta,
) -> Result<(), String> {
    let mut failing_since: Option<Instant> = None;
    loop {
        match coordinator
            .interval(&part.run, part.number, delta.clone())
            .await
        {
            Ok(stop) => {
                if stop && !part.handle.stop_requested() {
                    part.handle.stop();
                }
                return Ok(());
            }
            Err(CallError::Gone(message)) => {
                return Err(format!("the coordinator gave the part up: {message}"));
            }
            Err(CallError::Failed(err)) => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= UNREACHABLE {
                    return Err(format!(
                        "the coordinator was unreachable for {}s: {err:#}",
                        UNREACHABLE.as_secs()
                    ));
                }
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
