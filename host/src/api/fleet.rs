//! The coordinator's agents: who is connected, which parts of which runs they hold, and
//! the task that takes a distributed run from claiming its agents to its end.
//!
//! A run created with `"agents": N` is a [`crate::run::Placement::Remote`] run: it runs its hooks here
//! and merges what its parts record, while N agents (`host agent`) run the parts. Agents
//! ask for work by polling; the run claims N idle ones at once (never some of them, so two
//! runs cannot each hold half of what both need), offers each its part, waits until every
//! one is ready, and starts them all at one instant. Each part then hands in its intervals
//! and its end; one that stops reporting is lost, said in the run's log, and the run goes
//! on or fails as its request asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::config::Segment;
use crate::http::EgressPolicy;
use crate::run::RunHandle;
use crate::runlog::Level;
use crate::sync::lock;

/// How long an agent's poll waits for work before it is answered "nothing" (and polls
/// again): its heartbeat while idle.
pub const POLL_WAIT: Duration = Duration::from_secs(15);
/// An agent is idle while its poll waits, and this long after one returned (an agent
/// polls again at once): one that stopped polling (it exited, or died) is not handed a part.
const BETWEEN_POLLS: Duration = Duration::from_secs(2);
/// A part offered and not taken by the agent's poll within this long goes to another agent:
/// the first is gone (killed while its poll waited, say) and is forgotten.
const OFFER_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle agent not heard from for this long is forgotten.
const FORGET: Duration = Duration::from_secs(600);
/// Time the claimed agents get to fetch and compile the scenario and say they are ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Time between the last agent's ready and the agreed start: what the start message needs
/// to reach every agent.
const START_LEAD: Duration = Duration::from_millis(500);
/// How often the run's task looks at its parts.
const TICK: Duration = Duration::from_millis(200);

/// What a run does when one of its agents stops reporting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AgentLoss {
    /// The run fails at once (aborted): its figures would not be the plan's.
    #[default]
    Abort,
    /// The run goes on with the other agents; the loss is in its log.
    Continue,
}

/// A part of a run, offered to an agent.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assignment {
    /// The run.
    pub run: String,
    /// The part's index, from 0.
    pub part: u32,
    /// Parts of the run.
    pub parts: u32,
    /// The scenario's id (SHA-256 of the component): fetch it from
    /// `/v1/agents/scenarios/{id}` unless cached.
    pub scenario: String,
    /// The plan to run, a plan document with the part's `executionSegment` and the run's
    /// `executionSegmentSequence`; its limits are already within the tenant's caps.
    #[schema(value_type = Object)]
    pub plan: serde_json::Value,
    /// Egress policies the part's requests must pass besides the plan's own: the tenant's,
    /// then the scenario's.
    #[schema(value_type = Vec<Object>)]
    pub egress: Vec<EgressPolicy>,
}

/// When the parts start, once all are ready.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum StartAnswer {
    /// Not every part is ready yet: ask again.
    Wait,
    /// Start at `start_at`, with `on-test-start`'s data.
    Start {
        /// Wall-clock start, seconds since the Unix epoch.
        start_at: f64,
        /// What the coordinator's `on-test-start` returned, base64.
        setup_data: String,
    },
    /// The run will not start (stopped, or an agent never got ready).
    Abort {
        /// Why.
        reason: String,
    },
}

impl StartAnswer {
    /// The start instant and the data of a `Start`.
    pub fn start(&self) -> Option<(SystemTime, Vec<u8>)> {
        let Self::Start {
            start_at,
            setup_data,
        } = self
        else {
            return None;
        };
        let at = UNIX_EPOCH + Duration::try_from_secs_f64(*start_at).ok()?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(setup_data)
            .ok()?;
        Some((at, data))
    }
}

/// Where a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartState {
    Offered,
    Ready,
    Running,
    Ended,
    Lost,
}

/// One part of a distributed run and the agent that holds it.
#[derive(Debug)]
struct Part {
    agent: String,
    name: String,
    segment: Segment,
    state: PartState,
    seen: Instant,
    vus: u32,
    retired: u32,
    /// Why it ended before it started.
    failure: Option<String>,
}

impl Part {
    fn describe(&self, index: usize, parts: usize) -> String {
        format!(
            "agent {:?} (part {} of {parts}, segment {})",
            self.name,
            index + 1,
            self.segment
        )
    }
}

/// A distributed run at the coordinator.
pub struct Distributed {
    /// The run here: hooks, merged figures, thresholds.
    pub handle: RunHandle,
    /// Its scenario's id.
    pub scenario: String,
    parts: Mutex<Vec<Part>>,
    start: watch::Sender<Option<StartAnswer>>,
    loss: AgentLoss,
    /// A running part silent this long is lost.
    silence: Duration,
}

/// An agent as the coordinator knows it.
#[derive(Debug)]
struct Agent {
    name: String,
    seen: Instant,
    /// Its polls waiting now (one, unless a dead one's connection has not closed yet).
    polls: u32,
    /// A part offered and not yet taken by a poll.
    offer: Option<Assignment>,
    /// The run whose part it holds.
    busy: Option<String>,
}

/// Why an agent's call about a part is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartError {
    /// No such part, or another agent holds it.
    NotYours,
}

/// The coordinator's agents and distributed runs.
#[derive(Default)]
pub struct Fleet {
    agents: Mutex<HashMap<String, Agent>>,
    runs: Mutex<HashMap<String, Arc<Distributed>>>,
    /// Wakes polls: a part was offered.
    offered: Notify,
    /// Wakes runs waiting for agents: one polled.
    polled: Notify,
}

impl Agent {
    /// Whether it may be handed a part: it holds none and is polling.
    fn is_idle(&self) -> bool {
        self.busy.is_none() && (self.polls > 0 || self.seen.elapsed() < BETWEEN_POLLS)
    }
}

/// A poll in progress: counted while it waits, however it ends (answered, or dropped with
/// its connection).
struct Polling<'a> {
    fleet: &'a Fleet,
    id: String,
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        if let Some(agent) = lock(&self.fleet.agents).get_mut(&self.id) {
            agent.polls = agent.polls.saturating_sub(1);
            agent.seen = Instant::now();
        }
    }
}

impl Fleet {
    /// Agents polling (or between two polls) and holding no part.
    pub fn idle(&self) -> usize {
        self.counts().0
    }

    /// Agents idle (heard from lately, holding no part) and busy (holding one): for
    /// `/metrics`.
    pub fn counts(&self) -> (usize, usize) {
        let agents = lock(&self.agents);
        let busy = agents.values().filter(|a| a.busy.is_some()).count();
        let idle = agents.values().filter(|a| a.is_idle()).count();
        (idle, busy)
    }

    /// An agent's poll: registers it (or notes it is alive) and waits up to [`POLL_WAIT`]
    /// for a part to run.
    pub async fn poll(&self, id: &str, name: &str) -> Option<Assignment> {
        let deadline = tokio::time::Instant::now() + POLL_WAIT;
        let _polling = Polling {
            fleet: self,
            id: id.to_owned(),
        };
        let mut counted = false;
        loop {
            let notified = self.offered.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            {
                let mut agents = lock(&self.agents);
                // Agents gone for a while (restarted ones come back with a new id) are
                // forgotten.
                agents.retain(|_, a| a.busy.is_some() || a.seen.elapsed() < FORGET);
                let agent = agents.entry(id.to_owned()).or_insert_with(|| Agent {
                    name: name.to_owned(),
                    seen: Instant::now(),
                    polls: 0,
                    offer: None,
                    busy: None,
                });
                agent.seen = Instant::now();
                agent.name = name.to_owned();
                if !counted {
                    agent.polls += 1;
                    counted = true;
                }
                if let Some(offer) = agent.offer.take() {
                    return Some(offer);
                }
            }
            self.polled.notify_waiters();
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// The distributed run `id`.
    pub fn run(&self, id: &str) -> Option<Arc<Distributed>> {
        lock(&self.runs).get(id).cloned()
    }

    /// Whether a distributed run in progress runs the scenario `id`.
    pub fn runs_scenario(&self, id: &str) -> bool {
        lock(&self.runs).values().any(|run| run.scenario == id)
    }

    /// Claims `segments.len()` idle agents at once, or none; offers each its part.
    fn claim(
        &self,
        run: &str,
        offers: impl Fn(u32) -> Assignment,
        count: usize,
    ) -> Option<Vec<(String, String)>> {
        let mut agents = lock(&self.agents);
        let mut idle: Vec<(&String, &mut Agent)> =
            agents.iter_mut().filter(|(_, a)| a.is_idle()).collect();
        if idle.len() < count {
            return None;
        }
        // Those polling now first, then the most recently heard from.
        idle.sort_by_key(|(_, a)| (a.polls == 0, a.seen.elapsed()));
        let claimed = idle
            .into_iter()
            .take(count)
            .enumerate()
            .map(|(index, (id, agent))| {
                agent.busy = Some(run.to_owned());
                agent.offer = Some(offers(index as u32));
                (id.clone(), agent.name.clone())
            })
            .collect();
        drop(agents);
        self.offered.notify_waiters();
        Some(claimed)
    }

    /// Whether `agent` has taken the part offered to it (a poll returned it), or is gone.
    fn offer_taken(&self, agent: &str) -> bool {
        lock(&self.agents)
            .get(agent)
            .is_none_or(|a| a.offer.is_none())
    }

    /// Forgets `agent` (it did not take its offer: it is gone) and offers its part to
    /// another idle agent; that agent's id and name, if one is idle.
    fn reoffer(&self, run: &str, agent: &str) -> Option<(String, String)> {
        let offer = {
            let mut agents = lock(&self.agents);
            agents.remove(agent).and_then(|a| a.offer)?
        };
        self.claim(run, |_| offer.clone(), 1)
            .and_then(|claimed| claimed.into_iter().next())
    }

    /// Frees the agents that held parts of `run`.
    fn release(&self, run: &str) {
        let mut agents = lock(&self.agents);
        for agent in agents.values_mut() {
            if agent.busy.as_deref() == Some(run) {
                agent.busy = None;
                agent.offer = None;
            }
        }
    }
}

/// What a distributed run is asked to be.
pub struct Request {
    /// The run's id.
    pub run: String,
    /// The run here.
    pub handle: RunHandle,
    /// Its scenario's id.
    pub scenario: String,
    /// The plan document every part runs a segment of.
    pub plan: serde_json::Value,
    /// The parts' segments, in order; they make up the whole plan.
    pub segments: Vec<Segment>,
    /// The sequence the segments are of, as the plan field writes it.
    pub sequence: String,
    /// The egress policies besides the plan's.
    pub egress: Vec<EgressPolicy>,
    /// What to do when an agent is lost.
    pub loss: AgentLoss,
    /// How long to wait for enough agents.
    pub wait: Duration,
}

impl Fleet {
    /// Registers the distributed run of `request` and drives it to its end in the
    /// background.
    pub fn start(self: &Arc<Self>, request: Request) {
        let interval = request.handle.plan().stats_interval;
        let run = Arc::new(Distributed {
            handle: request.handle.clone(),
            scenario: request.scenario.clone(),
            parts: Mutex::new(Vec::new()),
            start: watch::channel(None).0,
            loss: request.loss,
            silence: (interval * 5).max(Duration::from_secs(5)),
        });
        lock(&self.runs).insert(request.run.clone(), run.clone());
        let fleet = self.clone();
        tokio::spawn(async move {
            fleet.coordinate(&run, &request).await;
            fleet.release(&request.run);
            run.finish_parts();
            // Agents' last calls about the run get 404 once its report is out.
            run.handle.wait().await;
            lock(&fleet.runs).remove(&request.run);
        });
    }

    async fn coordinate(&self, run: &Distributed, request: &Request) {
        let handle = &run.handle;
        let Some(claimed) = self.claim_agents(run, request).await else {
            return;
        };
        let described: Vec<String> = claimed
            .iter()
            .zip(&request.segments)
            .map(|((_, name), segment)| format!("{name:?} ({segment})"))
            .collect();
        handle.log(Level::Info, &format!("agents: {}", described.join(", ")));
        *lock(&run.parts) = claimed
            .into_iter()
            .zip(&request.segments)
            .map(|((agent, name), segment)| Part {
                agent,
                name,
                segment: *segment,
                state: PartState::Offered,
                seen: Instant::now(),
                vus: 0,
                retired: 0,
                failure: None,
            })
            .collect();
        if let Err(reason) = run.wait_ready(self, &request.run).await {
            run.start.send_replace(Some(StartAnswer::Abort {
                reason: reason.clone(),
            }));
            if !handle.stop_requested() {
                handle.abort(&reason);
            }
            return;
        }
        let Some(data) = handle.setup_data().await else {
            run.start.send_replace(Some(StartAnswer::Abort {
                reason: "the run ended before it started (its log says why)".into(),
            }));
            return;
        };
        let start_at = SystemTime::now() + START_LEAD;
        run.mark_running();
        run.start.send_replace(Some(StartAnswer::Start {
            start_at: start_at
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64(),
            setup_data: base64::engine::general_purpose::STANDARD.encode(data.as_slice()),
        }));
        run.watch_parts().await;
    }

    /// Waits until enough agents are idle and claims them; `None` (the run aborted or
    /// stopped) when they do not come within the request's wait.
    async fn claim_agents(
        &self,
        run: &Distributed,
        request: &Request,
    ) -> Option<Vec<(String, String)>> {
        let count = request.segments.len();
        let started = Instant::now();
        let offer = |part: u32| Assignment {
            run: request.run.clone(),
            part,
            parts: count as u32,
            scenario: request.scenario.clone(),
            plan: part_plan(
                &request.plan,
                request.segments[part as usize],
                &request.sequence,
            ),
            egress: request.egress.clone(),
        };
        run.handle.log(
            Level::Info,
            &format!("waiting for {count} idle agents ({} now)", self.idle()),
        );
        loop {
            if run.handle.stop_requested() {
                return None;
            }
            if let Some(claimed) = self.claim(&request.run, offer, count) {
                return Some(claimed);
            }
            if started.elapsed() >= request.wait {
                run.handle.abort(&format!(
                    "the run needs {count} agents; {} were ready within {} (host agent \
                     --coordinator URL --token T starts one)",
                    self.idle(),
                    crate::config::format_duration(request.wait)
                ));
                return None;
            }
            let _ = tokio::time::timeout(TICK * 5, self.polled.notified()).await;
        }
    }
}

/// The plan document of one part: the run's, with the part's segment and the sequence.
fn part_plan(plan: &serde_json::Value, segment: Segment, sequence: &str) -> serde_json::Value {
    let mut plan = plan.clone();
    if let Some(fields) = plan.as_object_mut() {
        fields.insert("executionSegment".into(), segment.to_string().into());
        fields.insert("executionSegmentSequence".into(), sequence.into());
    }
    plan
}

impl Distributed {
    /// Checks that agent `agent` holds part `part`, and notes it was heard from.
    fn touch(&self, part: u32, agent: &str) -> Result<MutexGuard<'_, Vec<Part>>, PartError> {
        let mut parts = lock(&self.parts);
        match parts.get_mut(part as usize) {
            Some(held) if held.agent == agent => {
                held.seen = Instant::now();
                Ok(parts)
            }
            _ => Err(PartError::NotYours),
        }
    }

    /// An agent says its part is ready; waits up to [`POLL_WAIT`] for the start.
    pub async fn ready(&self, part: u32, agent: &str) -> Result<StartAnswer, PartError> {
        {
            let mut parts = self.touch(part, agent)?;
            let held = &mut parts[part as usize];
            if held.state == PartState::Offered {
                held.state = PartState::Ready;
            }
        }
        let mut start = self.start.subscribe();
        let answer = tokio::time::timeout(POLL_WAIT, start.wait_for(Option::is_some)).await;
        Ok(match answer {
            Ok(Ok(answer)) => answer.clone().unwrap_or(StartAnswer::Wait),
            _ => StartAnswer::Wait,
        })
    }

    /// An agent hands in an interval of its part: merged into the run's figures. Returns
    /// whether the part must stop.
    pub fn interval(
        &self,
        part: u32,
        agent: &str,
        delta: &crate::stats::IntervalDelta,
    ) -> Result<bool, PartError> {
        let mut parts = self.touch(part, agent)?;
        let count = parts.len();
        let held = &mut parts[part as usize];
        if held.state == PartState::Lost {
            let back = format!(
                "{} reports again; its intervals are merged",
                held.describe(part as usize, count)
            );
            self.handle.log(Level::Warn, &back);
            held.state = PartState::Running;
        }
        held.vus = delta.vus;
        let (vus, retired) = parts
            .iter()
            .filter(|p| p.state == PartState::Running)
            .fold((0, 0), |(v, r), p| (v + p.vus, r + p.retired));
        drop(parts);
        self.handle.absorb(&delta.metrics);
        self.handle.set_remote_vus(vus, retired);
        Ok(self.handle.stop_requested())
    }

    /// An agent says its part ended.
    pub fn end(
        &self,
        part: u32,
        agent: &str,
        retired: u32,
        status: &crate::run::RunStatus,
    ) -> Result<(), PartError> {
        let mut parts = self.touch(part, agent)?;
        let count = parts.len();
        let held = &mut parts[part as usize];
        if matches!(held.state, PartState::Offered | PartState::Ready) {
            held.failure = Some(match status {
                crate::run::RunStatus::Aborted { reason } => reason.clone(),
                other => format!("it ended {other:?} before the start"),
            });
        }
        held.state = PartState::Ended;
        held.vus = 0;
        held.retired = retired;
        let described = held.describe(part as usize, count);
        drop(parts);
        match status {
            crate::run::RunStatus::Aborted { reason } => self
                .handle
                .log(Level::Error, &format!("{described} was aborted: {reason}")),
            crate::run::RunStatus::Completed | crate::run::RunStatus::Stopped => {}
            other => self
                .handle
                .log(Level::Warn, &format!("{described} ended {other:?}")),
        }
        Ok(())
    }

    /// Hands the part of an agent that did not take its offer in time to another agent.
    fn replace_gone_agents(&self, fleet: &Fleet, run_id: &str) {
        let mut parts = lock(&self.parts);
        let count = parts.len();
        for (index, part) in parts.iter_mut().enumerate() {
            let waiting = part.state == PartState::Offered && part.seen.elapsed() >= OFFER_TIMEOUT;
            if !waiting || fleet.offer_taken(&part.agent) {
                continue;
            }
            let gone = part.describe(index, count);
            if let Some((agent, name)) = fleet.reoffer(run_id, &part.agent) {
                self.handle.log(
                    Level::Warn,
                    &format!("{gone} did not take its part; it goes to agent {name:?}"),
                );
                part.agent = agent;
                part.name = name;
                part.seen = Instant::now();
            }
        }
    }

    /// Waits until every offered part is ready; the reason when one is not in time.
    async fn wait_ready(&self, fleet: &Fleet, run_id: &str) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if self.handle.stop_requested() {
                return Err("the run was stopped before its agents were ready".into());
            }
            self.replace_gone_agents(fleet, run_id);
            {
                let parts = lock(&self.parts);
                let failed = parts.iter().enumerate().find_map(|(index, p)| {
                    p.failure
                        .as_ref()
                        .map(|why| (p.describe(index, parts.len()), why))
                });
                if let Some((described, why)) = failed {
                    return Err(format!("{described} could not run its part: {why}"));
                }
                let late = parts
                    .iter()
                    .enumerate()
                    .find(|(_, p)| p.state == PartState::Offered);
                match late {
                    None => return Ok(()),
                    Some((index, part)) if started.elapsed() >= READY_TIMEOUT => {
                        return Err(format!(
                            "{} did not get ready within {} (it fetches and compiles the \
                             scenario)",
                            part.describe(index, parts.len()),
                            crate::config::format_duration(READY_TIMEOUT)
                        ));
                    }
                    Some(_) => {}
                }
            }
            tokio::time::sleep(TICK).await;
        }
    }

    fn mark_running(&self) {
        let now = Instant::now();
        for part in lock(&self.parts).iter_mut() {
            part.state = PartState::Running;
            part.seen = now;
        }
    }

    /// Follows the running parts to their end; a part silent too long is lost.
    async fn watch_parts(&self) {
        loop {
            let lost: Vec<String> = {
                let mut parts = lock(&self.parts);
                let count = parts.len();
                let mut lost = Vec::new();
                for (index, part) in parts.iter_mut().enumerate() {
                    if part.state == PartState::Running && part.seen.elapsed() >= self.silence {
                        part.state = PartState::Lost;
                        part.vus = 0;
                        lost.push(part.describe(index, count));
                    }
                }
                if parts
                    .iter()
                    .all(|p| matches!(p.state, PartState::Ended | PartState::Lost))
                {
                    return;
                }
                lost
            };
            for described in lost {
                let reason = format!(
                    "{described} has not reported for {}: its share of the load and its \
                     figures since are missing",
                    crate::config::format_duration(self.silence)
                );
                match self.loss {
                    AgentLoss::Abort => self.handle.abort(&format!("{reason} (agentLoss: abort)")),
                    AgentLoss::Continue => self.handle.log(
                        Level::Error,
                        &format!("{reason}; the run goes on without it (agentLoss: continue)"),
                    ),
                }
            }
            tokio::time::sleep(TICK).await;
        }
    }

    /// The parts are over: the VUs they held are gone, and the run may end.
    fn finish_parts(&self) {
        let retired = lock(&self.parts).iter().map(|p| p.retired).sum();
        self.handle.set_remote_vus(0, retired);
        self.handle.parts_finished();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(part: u32) -> Assignment {
        Assignment {
            run: "r".into(),
            part,
            parts: 2,
            scenario: "s".into(),
            plan: serde_json::json!({}),
            egress: Vec::new(),
        }
    }

    fn fleet_of(names: &[&str]) -> Fleet {
        let fleet = Fleet::default();
        for name in names {
            lock(&fleet.agents).insert(
                (*name).to_owned(),
                Agent {
                    name: (*name).to_owned(),
                    seen: Instant::now(),
                    polls: 1,
                    offer: None,
                    busy: None,
                },
            );
        }
        fleet
    }

    #[test]
    fn a_run_claims_all_the_agents_it_needs_or_none() {
        let fleet = fleet_of(&["a", "b"]);
        assert!(fleet.claim("r", assignment, 3).is_none());
        assert_eq!(
            fleet.counts(),
            (2, 0),
            "none held by a run that cannot start"
        );
        let claimed = fleet.claim("r", assignment, 2).expect("two idle agents");
        assert_eq!(claimed.len(), 2);
        assert_eq!(fleet.counts(), (0, 2));
        let offered: Vec<u32> = lock(&fleet.agents)
            .values()
            .filter_map(|a| a.offer.as_ref().map(|o| o.part))
            .collect();
        assert_eq!(offered.len(), 2, "each its own part: {offered:?}");
        assert!(
            fleet.claim("other", assignment, 1).is_none(),
            "busy agents stay out"
        );
        fleet.release("r");
        assert_eq!(fleet.counts(), (2, 0));
    }

    #[test]
    fn only_polling_agents_get_parts_and_an_offer_not_taken_moves_on() {
        let fleet = fleet_of(&["gone", "here"]);
        {
            let mut agents = lock(&fleet.agents);
            let gone = agents.get_mut("gone").expect("an agent");
            gone.polls = 0;
            gone.seen = Instant::now()
                .checked_sub(BETWEEN_POLLS * 2)
                .expect("a past instant");
        }
        assert_eq!(
            fleet.counts(),
            (1, 0),
            "an agent that stopped polling is not idle"
        );
        let claimed = fleet.claim("r", assignment, 1).expect("one polls");
        assert_eq!(claimed[0].0, "here");
        // An agent that was offered a part and never took it: the part goes on.
        let late = fleet_of(&["late"]);
        let fleet = fleet_of(&["silent", "next"]);
        let claimed = fleet.claim("r", assignment, 1).expect("an agent");
        let silent = claimed[0].0.clone();
        assert!(!fleet.offer_taken(&silent));
        let (next, _) = fleet.reoffer("r", &silent).expect("another is idle");
        assert_ne!(next, silent);
        assert!(!lock(&fleet.agents).contains_key(&silent), "forgotten");
        assert!(!fleet.offer_taken(&next), "offered the same part");
        assert!(
            late.reoffer("r", "late").is_none(),
            "nothing offered: nothing to move"
        );
    }
}
