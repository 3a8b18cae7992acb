//! The WebAssembly engine: one configured wasmtime engine per process, scenario loading with
//! validation and a compilation cache, instances, and the host side of the WIT interfaces.
//!
//! Heavy work happens once: a component is compiled once (and cached on disk by content
//! hash), its imports are resolved once into an `InstancePre`; a VU is then a fresh store
//! and an instantiation from it, some tens of microseconds.

pub(crate) mod bindings;
mod cache;
mod component;
mod componentize;
mod config;
mod host;
mod instance;
mod mappings;
mod outbox;
mod sandbox;
mod state;

use std::sync::Arc;

use anyhow::Context as _;
use wasmtime::component::Linker;

pub use component::{LoadError, Scenario, ScenarioInfo, Task};
pub use config::{EngineOptions, LoadLimits};
pub use instance::{Instance, Timeouts, Trap};
pub use mappings::{MappingLimit, fit_pool};
pub use sandbox::TrapKind;
pub use state::{Identity, InstanceState, RunContext};

/// The process's wasmtime engine with its linker and epoch ticker. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    wasmtime: wasmtime::Engine,
    linker: Linker<InstanceState>,
    options: EngineOptions,
    /// Loads in progress by hash: callers loading the same bytes at once share one
    /// compilation (single flight). Held weakly: done loads leave nothing behind.
    loading: std::sync::Mutex<component::Flights>,
}

impl Engine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(options: EngineOptions) -> anyhow::Result<Self> {
        if options.max_instances > 0 {
            mappings::check_system(options.max_instances)?;
        }
        let config = config::wasmtime_config(&options);
        let wasmtime = wasmtime::Engine::new(&config)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "failed to create the WebAssembly engine for {} instances",
                    options.max_instances
                )
            })?;
        let mut linker = Linker::new(&wasmtime);
        host::add_to_linker(&mut linker)
            .map_err(anyhow::Error::from)
            .context("failed to link host interfaces")?;
        start_epoch_ticker(&wasmtime);
        Ok(Self {
            inner: Arc::new(Inner {
                wasmtime,
                linker,
                options,
                loading: std::sync::Mutex::default(),
            }),
        })
    }

    /// The settings the engine was built with.
    pub fn options(&self) -> &EngineOptions {
        &self.inner.options
    }
}

/// Advances the epoch every tick until the engine is dropped: guests yield at each tick.
fn start_epoch_ticker(engine: &wasmtime::Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("loadwright-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(config::EPOCH_TICK);
            }
        })
        .map(drop)
        .unwrap_or_else(|err| tracing::error!("failed to start the epoch ticker: {err}"));
}
