//! The [`Scenario`] trait, its [`Options`], and the glue that exports them.

use std::any::Any;
use std::cell::RefCell;
use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::stats::Snapshot;
use crate::wait::WaitTime;

/// A load-test scenario. Each VU gets its own value (`Default`), so fields are per-VU state.
///
/// Only [`Scenario::run`] (or tasks in [`Scenario::options`]) is required; every hook has a
/// default that does nothing.
pub trait Scenario: Default + 'static {
    /// Tasks, weights and default plan. Default: one task that calls [`Scenario::run`].
    fn options() -> Options<Self> {
        Options::new()
    }

    /// The iteration of a scenario without declared tasks.
    fn run(&mut self) -> Result<()> {
        Err(Error::msg(
            "this scenario declares no task: implement Scenario::run or add tasks in Scenario::options",
        ))
    }

    /// Once per run, before any VU starts, outside any VU. The bytes returned are readable by
    /// every VU with [`vu::setup_data`](crate::vu::setup_data); an error aborts the run.
    fn on_test_start() -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// Once per run, after the last VU stopped, with the final statistics.
    fn on_test_stop(_summary: &Snapshot) {}

    /// In each VU, before its first iteration (log in, open a session).
    fn on_vu_start(&mut self) -> Result<()> {
        Ok(())
    }

    /// In each VU, after its last iteration.
    fn on_vu_stop(&mut self) {}

    /// At each stats interval (every second by default), outside any VU.
    fn on_stats(_snapshot: &Snapshot) {}
}

/// A task function: one iteration of a named task.
pub type TaskFn<S> = fn(&mut S) -> Result<()>;

/// What a scenario declares: tasks with weights, and its default plan.
pub struct Options<S> {
    tasks: Vec<(String, u32, TaskFn<S>)>,
    wait_time: Option<WaitTime>,
    vus: Option<u32>,
    duration: Option<String>,
    iterations: Option<u64>,
    params: Vec<(String, String)>,
    thresholds: Vec<(String, String)>,
    plan_json: Option<String>,
}

impl<S: Scenario> Default for Options<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Scenario> Options<S> {
    /// No task declared (the scenario's `run` is the only task), no plan.
    pub fn new() -> Self {
        Self {
            tasks: Vec::new(),
            wait_time: None,
            vus: None,
            duration: None,
            iterations: None,
            params: Vec::new(),
            thresholds: Vec::new(),
            plan_json: None,
        }
    }

    /// Adds the task `name`: each iteration picks a task at random in proportion to the
    /// weights (Locust's `@task(weight)`).
    pub fn task(mut self, name: &str, weight: u32, task: TaskFn<S>) -> Self {
        self.tasks.push((name.to_owned(), weight, task));
        self
    }

    /// Think time after every task (Locust's `wait_time`): see [`wait`](crate::wait) for
    /// `constant`, `between`, `constant_pacing` and `constant_throughput`. The wait is part
    /// of the iteration, so it counts in `iteration_duration`.
    pub fn wait_time(mut self, wait_time: WaitTime) -> Self {
        self.wait_time = Some(wait_time);
        self
    }

    /// Default number of VUs.
    pub fn vus(mut self, vus: u32) -> Self {
        self.vus = Some(vus);
        self
    }

    /// Default duration, like `"30s"` or `"1m30s"`.
    pub fn duration(mut self, duration: &str) -> Self {
        self.duration = Some(duration.to_owned());
        self
    }

    /// Default number of iterations, shared by the VUs.
    pub fn iterations(mut self, iterations: u64) -> Self {
        self.iterations = Some(iterations);
        self
    }

    /// A default run parameter (the command line's `--param` wins).
    pub fn param(mut self, key: &str, value: &str) -> Self {
        self.params.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A threshold in k6's syntax: `threshold("http_req_duration{name:/login}", "p(99)<300")`,
    /// `threshold("checks", "rate>0.99")`. A failed one makes `host run` exit with 99. The
    /// metrics and expressions are in the project's `docs/plan.md`.
    pub fn threshold(mut self, metric: &str, expression: &str) -> Self {
        self.thresholds
            .push((metric.to_owned(), expression.to_owned()));
        self
    }

    /// A complete plan document (JSON, k6's names, see the project's `docs/plan.md`), used
    /// instead of `vus`, `duration`, `iterations`, `param` and `threshold`.
    pub fn plan_json(mut self, json: &str) -> Self {
        self.plan_json = Some(json.to_owned());
        self
    }

    fn plan(&self) -> String {
        if let Some(json) = &self.plan_json {
            return json.clone();
        }
        let mut fields = Vec::new();
        if let Some(vus) = self.vus {
            fields.push(format!("\"vus\":{vus}"));
        }
        if let Some(duration) = &self.duration {
            fields.push(format!("\"duration\":{}", json_string(duration)));
        }
        if let Some(iterations) = self.iterations {
            fields.push(format!("\"iterations\":{iterations}"));
        }
        if !self.params.is_empty() {
            let params: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
                .collect();
            fields.push(format!("\"params\":{{{}}}", params.join(",")));
        }
        if !self.thresholds.is_empty() {
            // Grouped by metric, in the order first named.
            let mut by_metric: Vec<(&str, Vec<String>)> = Vec::new();
            for (metric, expression) in &self.thresholds {
                let expression = json_string(expression);
                match by_metric.iter_mut().find(|(m, _)| m == metric) {
                    Some((_, list)) => list.push(expression),
                    None => by_metric.push((metric, vec![expression])),
                }
            }
            let thresholds: Vec<String> = by_metric
                .iter()
                .map(|(metric, list)| format!("{}:[{}]", json_string(metric), list.join(",")))
                .collect();
            fields.push(format!("\"thresholds\":{{{}}}", thresholds.join(",")));
        }
        if fields.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", fields.join(","))
        }
    }
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The glue [`scenario!`](crate::scenario!) expands to. Not part of the API.
#[doc(hidden)]
pub mod __private {
    use super::*;
    use crate::__bindings::exports::loadwright::scenario::guest::{ScenarioOptions, Task};

    thread_local! {
        // One instance is one VU and runs one scenario type: these hold that type's values.
        static STATE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
        static TASKS: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    fn with_state<S: Scenario, R>(f: impl FnOnce(&mut S) -> R) -> R {
        STATE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let state = slot.get_or_insert_with(|| Box::new(S::default()));
            match state.downcast_mut::<S>() {
                Some(state) => f(state),
                None => unreachable!("one scenario type per component"),
            }
        })
    }

    /// The task functions and the wait time, read from the options once per instance.
    struct Tasks<S> {
        fns: Vec<TaskFn<S>>,
        wait_time: Option<WaitTime>,
    }

    /// Task `index` and the wait after it.
    fn task_fn<S: Scenario>(index: u32) -> Option<(TaskFn<S>, Option<WaitTime>)> {
        TASKS.with(|cell| {
            let mut slot = cell.borrow_mut();
            let tasks = slot.get_or_insert_with(|| {
                let options = S::options();
                Box::new(Tasks::<S> {
                    fns: options.tasks.into_iter().map(|(_, _, f)| f).collect(),
                    wait_time: options.wait_time,
                })
            });
            let tasks = tasks.downcast_ref::<Tasks<S>>()?;
            let task = if tasks.fns.is_empty() && index == 0 {
                S::run as TaskFn<S>
            } else {
                *tasks.fns.get(index as usize)?
            };
            Some((task, tasks.wait_time))
        })
    }

    pub fn options<S: Scenario>() -> ScenarioOptions {
        let options = S::options();
        ScenarioOptions {
            tasks: options
                .tasks
                .iter()
                .map(|(name, weight, _)| Task {
                    name: name.clone(),
                    weight: *weight,
                })
                .collect(),
            plan: options.plan(),
        }
    }

    pub fn run_task<S: Scenario>(index: u32) -> std::result::Result<(), String> {
        let (task, wait_time) =
            task_fn::<S>(index).ok_or_else(|| format!("no task with index {index}"))?;
        // Read only for a wait time: the clock is a call to the host.
        let started = wait_time.map(|wait_time| (wait_time, std::time::Instant::now()));
        let result = with_state(|state: &mut S| task(state)).map_err(|err| err.to_string());
        // As Locust does, the wait follows every task, failed ones too.
        if let Some((wait_time, started)) = started {
            wait_time.wait(started);
        }
        result
    }

    pub fn on_test_start<S: Scenario>() -> std::result::Result<Vec<u8>, String> {
        S::on_test_start().map_err(|err| err.to_string())
    }

    pub fn on_vu_start<S: Scenario>() -> std::result::Result<(), String> {
        with_state(|state: &mut S| state.on_vu_start()).map_err(|err| err.to_string())
    }

    pub fn on_vu_stop<S: Scenario>() {
        with_state(|state: &mut S| state.on_vu_stop());
    }
}

/// Exports a [`Scenario`] type as the component's scenario. Use it once, at the crate root:
/// `loadwright::scenario!(MyScenario);`
#[macro_export]
macro_rules! scenario {
    ($scenario:ty) => {
        #[doc(hidden)]
        pub struct __LoadwrightGuest;

        impl $crate::__bindings::exports::loadwright::scenario::guest::Guest for __LoadwrightGuest {
            fn options() -> $crate::__bindings::exports::loadwright::scenario::guest::ScenarioOptions {
                $crate::scenario::__private::options::<$scenario>()
            }
            fn run_task(task: u32) -> ::std::result::Result<(), ::std::string::String> {
                $crate::scenario::__private::run_task::<$scenario>(task)
            }
            fn on_test_start() -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                $crate::scenario::__private::on_test_start::<$scenario>()
            }
            fn on_test_stop(summary: $crate::stats::Snapshot) {
                <$scenario as $crate::Scenario>::on_test_stop(&summary)
            }
            fn on_vu_start() -> ::std::result::Result<(), ::std::string::String> {
                $crate::scenario::__private::on_vu_start::<$scenario>()
            }
            fn on_vu_stop() {
                $crate::scenario::__private::on_vu_stop::<$scenario>()
            }
            fn on_stats(snapshot: $crate::stats::Snapshot) {
                <$scenario as $crate::Scenario>::on_stats(&snapshot)
            }
        }

        $crate::__bindings::__export_world!(__LoadwrightGuest with_types_in $crate::__bindings);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Demo;
    impl Scenario for Demo {}

    #[test]
    fn options_write_a_plan_document() {
        let options = Options::<Demo>::new()
            .vus(3)
            .duration("10s")
            .param("who", "a \"b\"");
        assert_eq!(
            options.plan(),
            r#"{"vus":3,"duration":"10s","params":{"who":"a \"b\""}}"#
        );
        assert_eq!(Options::<Demo>::new().plan(), "");
        let gated = Options::<Demo>::new()
            .threshold("checks", "rate>0.99")
            .threshold("http_req_duration{name:/a}", "p(95)<200")
            .threshold("checks", "rate<=1");
        assert_eq!(
            gated.plan(),
            r#"{"thresholds":{"checks":["rate>0.99","rate<=1"],"http_req_duration{name:/a}":["p(95)<200"]}}"#
        );
    }
}
