//! The run's test instance: where `on-test-start`, `on-stats` and `on-test-stop` run, apart
//! from every VU.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::{Identity, Instance, InstanceState, RunContext, Scenario, Trap};
use crate::runlog::{Level, Source};
use crate::stats::Snapshot;

/// The test instance, created on first use and again after a trap.
pub(crate) struct TestInstance {
    scenario: Scenario,
    context: RunContext,
    instance: Option<Instance>,
}

impl TestInstance {
    pub(crate) fn new(scenario: Scenario, context: RunContext) -> Self {
        Self {
            scenario,
            context,
            instance: None,
        }
    }

    async fn instance(&mut self) -> Result<&mut Instance, Trap> {
        let instance = match self.instance.take() {
            Some(instance) => instance,
            None => {
                let identity = Identity {
                    vu: 0,
                    scenario: Arc::from("test"),
                };
                let state = InstanceState::new(&self.context, identity);
                Instance::new(&self.scenario, state).await?
            }
        };
        Ok(self.instance.insert(instance))
    }

    fn lost(&mut self, hook: &str, trap: &Trap) {
        self.instance = None;
        let message = format!("{hook} trapped: {trap}");
        self.context
            .log
            .write(0, Level::Error, Source::Host, &message);
    }

    /// Runs `on-test-start`; the error is the reason to abort the run.
    pub(crate) async fn on_test_start(&mut self) -> Result<Vec<u8>, String> {
        let result = match self.instance().await {
            Ok(instance) => instance.on_test_start().await,
            Err(trap) => return Err(format!("the test instance could not start: {trap}")),
        };
        match result {
            Ok(Ok(data)) => Ok(data),
            Ok(Err(message)) => Err(format!("on-test-start failed: {message}")),
            Err(trap) => {
                self.lost("on-test-start", &trap);
                Err(format!("on-test-start trapped: {trap}"))
            }
        }
    }

    /// Calls a hook whose only failure is a trap: the trap is logged and the instance
    /// replaced at the next call.
    async fn call(
        &mut self,
        hook: &str,
        call: impl AsyncFnOnce(&mut Instance) -> Result<(), Trap>,
    ) {
        let result = match self.instance().await {
            Ok(instance) => call(instance).await,
            Err(trap) => Err(trap),
        };
        if let Err(trap) = result {
            self.lost(hook, &trap);
        }
    }

    pub(crate) async fn on_stats(&mut self, snapshot: &Snapshot) {
        self.call("on-stats", async |instance| {
            instance.on_stats(snapshot).await
        })
        .await;
    }

    pub(crate) async fn on_test_stop(&mut self, snapshot: &Snapshot) {
        self.call("on-test-stop", async |instance| {
            instance.on_test_stop(snapshot).await
        })
        .await;
    }

    /// Moves the instance into a task that calls `on-stats` with each snapshot sent; a
    /// snapshot sent while a call runs replaces the pending one (intervals are skipped, not
    /// queued). Dropping the sender ends the task, which gives the instance back.
    pub(crate) fn spawn_on_stats(
        mut self,
    ) -> (
        watch::Sender<Option<Arc<Snapshot>>>,
        JoinHandle<TestInstance>,
    ) {
        let (sender, mut receiver) = watch::channel::<Option<Arc<Snapshot>>>(None);
        let task = tokio::spawn(async move {
            while receiver.changed().await.is_ok() {
                let snapshot = receiver.borrow_and_update().clone();
                if let Some(snapshot) = snapshot {
                    self.on_stats(&snapshot).await;
                }
            }
            self
        });
        (sender, task)
    }
}
