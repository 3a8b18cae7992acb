//! One instance of a scenario in its own store: a VU, or a run's test instance.

use wasmtime::Store;

use super::bindings::World;
use super::bindings::guest::{Guest, ScenarioOptions as Options};
use super::component::Scenario;
use super::host::stats::to_wit;
use super::state::InstanceState;
use crate::stats::Snapshot;

/// A guest call that did not return: a trap (panic, unreachable, limit) or an instantiation
/// failure. The instance must be thrown away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Trap {
    /// The reason, and the guest function it happened in when known.
    pub message: String,
}

impl From<wasmtime::Error> for Trap {
    fn from(err: wasmtime::Error) -> Self {
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
        Self { message }
    }
}

/// A live instance and its store.
pub struct Instance {
    store: Store<InstanceState>,
    world: World,
}

impl Instance {
    /// Instantiates `scenario` with `state` as the store's data.
    pub async fn new(scenario: &Scenario, state: InstanceState) -> Result<Self, Trap> {
        let mut store = Store::new(scenario.pre.engine(), state);
        store.limiter(|state| &mut state.limits);
        // A guest computing past the next epoch tick yields its worker thread to other VUs.
        store.epoch_deadline_async_yield_and_update(1);
        let world = scenario.pre.instantiate_async(&mut store).await?;
        Ok(Self { store, world })
    }

    /// The guest for one call, with the epoch deadline re-armed: the deadline is absolute,
    /// so without this every call after a wait would start by yielding once for nothing.
    fn guest(&mut self) -> (&Guest, &mut Store<InstanceState>) {
        self.store.set_epoch_deadline(1);
        (self.world.loadwright_scenario_guest(), &mut self.store)
    }

    /// The store's data (to update the iteration number between calls).
    pub fn state_mut(&mut self) -> &mut InstanceState {
        self.store.data_mut()
    }

    /// Calls `options`.
    pub async fn options(&mut self) -> Result<Options, Trap> {
        let (guest, store) = self.guest();
        Ok(guest.call_options(store).await?)
    }

    /// Runs one iteration of task `task`; the inner error is the guest's own `err`.
    pub async fn run_task(&mut self, task: u32) -> Result<Result<(), String>, Trap> {
        let (guest, store) = self.guest();
        Ok(guest.call_run_task(store, task).await?)
    }

    /// Calls `on-test-start`.
    pub async fn on_test_start(&mut self) -> Result<Result<Vec<u8>, String>, Trap> {
        let (guest, store) = self.guest();
        Ok(guest.call_on_test_start(store).await?)
    }

    /// Calls `on-test-stop` with the final statistics.
    pub async fn on_test_stop(&mut self, snapshot: &Snapshot) -> Result<(), Trap> {
        let snapshot = to_wit(snapshot);
        let (guest, store) = self.guest();
        Ok(guest.call_on_test_stop(store, &snapshot).await?)
    }

    /// Calls `on-vu-start`.
    pub async fn on_vu_start(&mut self) -> Result<Result<(), String>, Trap> {
        let (guest, store) = self.guest();
        Ok(guest.call_on_vu_start(store).await?)
    }

    /// Calls `on-vu-stop`.
    pub async fn on_vu_stop(&mut self) -> Result<(), Trap> {
        let (guest, store) = self.guest();
        Ok(guest.call_on_vu_stop(store).await?)
    }

    /// Calls `on-stats`.
    pub async fn on_stats(&mut self, snapshot: &Snapshot) -> Result<(), Trap> {
        let snapshot = to_wit(snapshot);
        let (guest, store) = self.guest();
        Ok(guest.call_on_stats(store, &snapshot).await?)
    }
}
