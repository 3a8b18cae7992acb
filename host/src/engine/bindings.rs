//! The one `bindgen!` of the host, kept private; the rest of the crate uses these re-exports.

mod generated {
    wasmtime::component::bindgen!({
        world: "scenario",
        path: "../wit",
        // The imports that wait are async: a VU waiting on I/O or sleep suspends its own
        // fiber only. The others return at once and are plain calls, without a future to
        // box and poll on the fiber for each.
        imports: {
            "loadwright:scenario/http.send": async,
            "loadwright:scenario/http.batch": async,
            "loadwright:scenario/vu.sleep": async,
        },
        exports: { default: async },
    });
}

pub use generated::exports::loadwright::scenario::guest;
pub use generated::loadwright::scenario::{http, metrics, stats, types, vu};
pub use generated::{Scenario as World, ScenarioPre as WorldPre};

/// The WIT package every scenario must target.
pub const PACKAGE: &str = "loadwright:scenario@0.2.0";
/// The version of [`PACKAGE`].
pub const VERSION: &str = "0.2.0";
/// The interface a scenario must export.
pub const EXPORT: &str = "loadwright:scenario/guest@0.2.0";
