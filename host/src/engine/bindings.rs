//! The one `bindgen!` of the host, kept private; the rest of the crate uses these re-exports.

mod generated {
    wasmtime::component::bindgen!({
        world: "scenario",
        path: "../wit",
        // Host imports are async: a VU waiting on I/O or sleep suspends its own fiber only.
        imports: { default: async },
        exports: { default: async },
    });
}

pub use generated::exports::loadwright::scenario::guest;
pub use generated::loadwright::scenario::{http, metrics, stats, types, vu};
pub use generated::{Scenario as World, ScenarioPre as WorldPre};

/// The WIT package every scenario must target.
pub const PACKAGE: &str = "loadwright:scenario@0.1.0";
/// The interface a scenario must export.
pub const EXPORT: &str = "loadwright:scenario/guest@0.1.0";
