//! One instance of a scenario in its own store: a VU, or a run's test instance.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use super::bindings::World;
use super::bindings::guest::{Guest, ScenarioOptions as Options};
use super::component::Scenario;
use super::host::stats::to_wit;
use super::outbox::{Outbox, driven};
use super::sandbox::{CpuSpent, TrapKind, metered};
use super::state::InstanceState;
use crate::config::format_duration;
use crate::stats::Snapshot;
use crate::timer::{Expired, Timer};

/// A guest call that did not return: a trap (panic, unreachable, a limit), a timeout, or an
/// instantiation failure. The instance must be thrown away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.as_str())]
pub struct Trap {
    /// The cause, a stable key for the statistics.
    pub kind: TrapKind,
    /// The reason, and the guest function it happened in when known (the first frame of
    /// the guest's backtrace that has a name).
    pub message: String,
}

impl Trap {
    /// A trap of `kind` from wasmtime's error.
    pub fn new(kind: TrapKind, err: wasmtime::Error) -> Self {
        let err = anyhow::Error::from(err);
        let reason = err.root_cause().to_string();
        let frame = err
            .downcast_ref::<wasmtime::WasmBacktrace>()
            .and_then(|bt| {
                bt.frames()
                    .iter()
                    .find_map(|f| f.func_name().map(str::to_owned))
            });
        let message = match frame {
            Some(func) => format!("{reason} (in {func})"),
            None => reason,
        };
        Self { kind, message }
    }
}

/// How long calls of each kind may take: wall clock, and CPU.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// An iteration (`run-task`).
    pub iteration: Duration,
    /// A hook, or `options`.
    pub hook: Duration,
    /// CPU time of any call (`limits.cpuPerCall`; `None` for no limit).
    pub cpu: Option<Duration>,
}

/// What a guest call runs within: its time limit, then the exchanges it posts run by the
/// caller's task (outside its CPU meter), then its CPU budget.
struct Bounds<'a> {
    timer: &'a mut Timer,
    outbox: &'a Outbox,
    limit: Duration,
    cpu: Option<Duration>,
}

impl<'a> Bounds<'a> {
    /// `call` within these bounds.
    fn run<F: Future + 'a>(
        self,
        call: F,
    ) -> impl Future<Output = Result<Result<F::Output, CpuSpent>, Expired>> + 'a {
        let metered = metered(self.cpu, call);
        self.timer.within(self.limit, driven(self.outbox, metered))
    }
}

/// A live instance and its store.
pub struct Instance {
    store: Store<InstanceState>,
    world: World,
    timeouts: Timeouts,
    /// The timer every call's time limit runs on.
    timer: Timer,
    /// Where the guest's requests wait for this instance's calls to run them.
    outbox: Arc<Outbox>,
}

impl Instance {
    /// Instantiates `scenario` with `state` as the store's data.
    pub async fn new(scenario: &Scenario, state: InstanceState) -> Result<Self, Trap> {
        let timeouts = state.timeouts;
        let outbox = state.http.outbox.clone();
        let mut store = Store::new(scenario.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        // A guest computing past the next tick yields to other VUs (and lets the CPU meter,
        // which measures polls, see its time).
        store.epoch_deadline_async_yield_and_update(1);
        let world = scenario
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|err| Trap::new(TrapKind::Instantiation, err))?;
        Ok(Self {
            store,
            world,
            timeouts,
            timer: Timer::new(),
            outbox,
        })
    }

    /// The guest for one call under the time limit `limit`, with a fresh CPU budget and the
    /// epoch deadline re-armed (the deadline is absolute, so without this every call after a
    /// wait would start by yielding once for nothing), and the bounds to run the call in.
    fn guest(&mut self, limit: Duration) -> (&Guest, &mut Store<InstanceState>, Bounds<'_>) {
        self.store.set_epoch_deadline(1);
        self.store.data_mut().limiter.start_call();
        let bounds = Bounds {
            timer: &mut self.timer,
            outbox: &self.outbox,
            limit,
            cpu: self.timeouts.cpu,
        };
        (
            self.world.loadwright_scenario_guest(),
            &mut self.store,
            bounds,
        )
    }

    /// The outcome of a call that ran under `limit` (a timeout of kind `timeout`) and the
    /// CPU budget: a trap says which limit it hit, if any.
    fn settle<R>(
        &self,
        outcome: Result<Result<wasmtime::Result<R>, CpuSpent>, Expired>,
        timeout: TrapKind,
        limit: Duration,
    ) -> Result<R, Trap> {
        match outcome {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(err))) => {
                let kind = if self.store.data().limiter.refused() {
                    TrapKind::MemoryLimit
                } else {
                    TrapKind::Trap
                };
                Err(Trap::new(kind, err))
            }
            Ok(Err(spent)) => Err(Trap {
                kind: TrapKind::CpuLimit,
                message: format!(
                    "the call used more than {} of CPU (limits.cpuPerCall)",
                    format_duration(spent.budget)
                ),
            }),
            Err(_) => {
                let setting = match timeout {
                    TrapKind::IterationTimeout => "limits.iterationTimeout",
                    _ => "limits.hookTimeout",
                };
                Err(Trap {
                    kind: timeout,
                    message: format!("still running after {} ({setting})", format_duration(limit)),
                })
            }
        }
    }

    /// The store's data (to update the iteration number between calls).
    pub fn state_mut(&mut self) -> &mut InstanceState {
        self.store.data_mut()
    }

    /// Calls `options`.
    pub async fn options(&mut self) -> Result<Options, Trap> {
        let limit = self.timeouts.hook;
        let (guest, store, bounds) = self.guest(limit);
        let outcome = bounds.run(guest.call_options(store)).await;
        self.settle(outcome, TrapKind::HookTimeout, limit)
    }

    /// Runs one iteration of task `task`; the inner error is the guest's own `err`.
    pub async fn run_task(&mut self, task: u32) -> Result<Result<(), String>, Trap> {
        let limit = self.timeouts.iteration;
        let (guest, store, bounds) = self.guest(limit);
        let outcome = bounds.run(guest.call_run_task(store, task)).await;
        self.settle(outcome, TrapKind::IterationTimeout, limit)
    }

    /// Calls `on-test-start`.
    pub async fn on_test_start(&mut self) -> Result<Result<Vec<u8>, String>, Trap> {
        let limit = self.timeouts.hook;
        let (guest, store, bounds) = self.guest(limit);
        let outcome = bounds.run(guest.call_on_test_start(store)).await;
        self.settle(outcome, TrapKind::HookTimeout, limit)
    }

    /// Calls `on-test-stop` with the final statistics.
    pub async fn on_test_stop(&mut self, snapshot: &Snapshot) -> Result<(), Trap> {
        let snapshot = to_wit(snapshot);
        let limit = self.timeouts.hook;
        let (guest, store, bounds) = self.guest(limit);
        let outcome = bounds.run(guest.call_on_test_stop(store, &snapshot)).await;
        self.settle(outcome, TrapKind::HookTimeout, limit)
    }

    /// Calls `on-vu-start`.
    pub async fn on_vu_start(&mut self) -> Result<Result<(), String>, Trap> {
        let limit = self.timeouts.hook;
        let (guest, store, bounds) = self.guest(limit);
        let outcome = bounds.run(guest.call_on_vu_start(store)).await;
        self.settle(outcome, TrapKind::HookTimeout, limit)
    }

    /// Calls `on-vu-stop`.
    pub async fn on_vu_stop(&mut self) -> Result<(), Trap> {
        let limit = self.timeouts.hook;
        let (guest, store, bounds) = self.guest(limit);
        let outcome = bounds.run(guest.call_on_vu_stop(store)).await;
        self.settle(outcome, TrapKind::HookTimeout, limit)
    }

    /// Calls `on-stats`.
    pub async fn on_stats(&mut self, snapshot: &Snapshot) -> Result<(), Trap> {
        let snapshot = to_wit(snapshot);
        let limit = self.timeouts.hook;
        let (guest, store, bounds) = self.guest(limit);
        let outcome = bounds.run(guest.call_on_stats(store, &snapshot)).await;
        self.settle(outcome, TrapKind::HookTimeout, limit)
    }
}
