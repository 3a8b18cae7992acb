//! Write [Loadwright](https://github.com/loadwright/loadwright) load-test scenarios in Rust.
//!
//! A scenario is a type that implements [`Scenario`], exported with [`scenario!`] and
//! compiled to a WebAssembly component (`cargo build --target wasm32-wasip2 --release`).
//! Every request goes through the host, which performs it natively, measures it and records
//! it; each virtual user (VU) is its own instance, so a scenario's fields are that VU's state.
//!
//! ```no_run
//! use std::time::Duration;
//! use loadwright::{check, get, post, sleep, Options, Result, Scenario};
//!
//! #[derive(Default)]
//! struct Shop {
//!     token: String,
//! }
//!
//! impl Scenario for Shop {
//!     fn options() -> Options<Self> {
//!         Options::new()
//!             .task("browse", 3, Shop::browse)
//!             .task("buy", 1, Shop::buy)
//!             .vus(10)
//!             .duration("30s")
//!     }
//!
//!     // Once per VU, like Locust's on_start: log in.
//!     fn on_vu_start(&mut self) -> Result<()> {
//!         self.token = post("/login").body("user=demo").send()?.text();
//!         Ok(())
//!     }
//! }
//!
//! impl Shop {
//!     fn browse(&mut self) -> Result<()> {
//!         let res = get("/items").name("items").send()?;
//!         check("items listed", res.status() == 200);
//!         sleep(Duration::from_millis(500));
//!         Ok(())
//!     }
//!
//!     fn buy(&mut self) -> Result<()> {
//!         post("/cart").header("authorization", &self.token).body("item=1").send()?;
//!         Ok(())
//!     }
//! }
//!
//! loadwright::scenario!(Shop);
//! ```
//!
//! # Layout
//!
//! - [`scenario`](mod@scenario): the [`Scenario`] trait, [`Options`] and the export machinery.
//! - [`http`]: the request builder ([`get`], [`post`], ...), [`Response`], [`batch`].
//! - [`vu`]: who am I, [`sleep`], run parameters, logging.
//! - [`metrics`]: checks and custom metrics (counter, gauge, rate, trend).
//! - [`stats`]: the run's live statistics.
//! - [`random`]: randomness for think times and test data.
//! - [`wait`]: Locust's wait times (`constant`, `between`, `constant_pacing`,
//!   `constant_throughput`), applied after every task.
//! - [`error`](mod@error): the [`Error`] every hook and task may return.

// Lets generated code name this crate `::loadwright` from inside it too.
extern crate self as loadwright;

pub mod error;
pub mod http;
pub mod metrics;
pub mod random;
pub mod scenario;
pub mod stats;
pub mod vu;
pub mod wait;

pub use error::{Error, Result};
pub use http::{
    HttpError, Request, Response, batch, clear_cookies, delete, get, head, patch, post, put,
};
pub use metrics::{Counter, Gauge, Rate, Trend, check};
pub use scenario::{Options, Scenario};
pub use stats::Snapshot;
pub use vu::sleep;
pub use wait::WaitTime;

/// The generated bindings of the `loadwright:scenario` world. Not part of the API.
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod __bindings {
    wit_bindgen::generate!({
        world: "scenario",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_world",
        default_bindings_module: "::loadwright::__bindings",
        runtime_path: "::loadwright::__rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen::rt as __rt;
