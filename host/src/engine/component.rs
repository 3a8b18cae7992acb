//! Loading a scenario: recognise, validate against our world, compile (or reuse the cache),
//! resolve imports once, and read the scenario's options.

use std::sync::{Arc, Weak};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::Engine;
use super::bindings::{EXPORT, PACKAGE, VERSION, WorldPre};
use super::componentize;
use super::config::LoadLimits;
use super::host::ALLOWED_WASI;
use super::instance::Instance;
use super::state::{Identity, InstanceState, RunContext};
use crate::config::PlanDocument;

/// One load, shared by the callers that asked for the same bytes at once.
type Flight = tokio::sync::OnceCell<Result<Scenario, LoadError>>;

/// Loads in progress, by hash.
pub(crate) type Flights = std::collections::HashMap<String, Weak<Flight>>;

/// Why a file cannot be used as a scenario. Each message says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Not WebAssembly at all.
    #[error(
        "not a WebAssembly file (it does not start with \"\\0asm\"); pass the .wasm component \
         your scenario's build produced"
    )]
    NotWasm,
    /// A core module that does not export our world's functions.
    #[error(
        "this is a core WebAssembly module that does not export the scenario's functions \
         (`{EXPORT}#run-task` and the others): build Rust scenarios for the wasm32-wasip2 \
         target (`cargo build --target wasm32-wasip2`), and Go scenarios with the Loadwright Go \
         SDK (`GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`)"
    )]
    CoreModule,
    /// A core module that exports the scenario's functions but cannot be made a component.
    #[error(
        "this core module exports the scenario's functions but does not fit the contract \
         ({PACKAGE}): {0}. Build it with the Loadwright Go SDK of this release"
    )]
    Componentize(String),
    /// Malformed or failed to compile.
    #[error("invalid component: {0}")]
    Invalid(String),
    /// Larger or more complex than the host takes.
    #[error("the component has {value} {what}, over the limit of {limit}; make it smaller")]
    TooLarge {
        /// What was counted: `bytes`, `functions`, `memories`.
        what: &'static str,
        /// How many it has.
        value: u64,
        /// How many are allowed.
        limit: u64,
    },
    /// Does not export our `scenario` interface.
    #[error(
        "this component does not export `{EXPORT}`, so it is not a Loadwright scenario (it \
         exports: {exports}); write it with the Loadwright SDK, which exports that interface"
    )]
    WrongWorld {
        /// What it exports instead.
        exports: String,
    },
    /// Exports our `scenario` interface of another version: built with another release's SDK.
    #[error(
        "this scenario was built for loadwright:scenario@{version} and this host implements \
         {PACKAGE}: rebuild it with the Loadwright SDK of this release (its version matches)"
    )]
    OtherVersion {
        /// The contract version it was built for.
        version: String,
    },
    /// Imports something the host does not provide.
    #[error(
        "this component imports what Loadwright does not provide: {}. Scenarios may import \
         only `{PACKAGE}` and the WASI subset of the standard library (clocks, random, stdio; \
         no sockets, no files)",
        .0.join(", ")
    )]
    UnsupportedImports(Vec<String>),
    /// Imports match by name but not by type (an SDK for another contract version).
    #[error("this component does not fit this host's contract ({PACKAGE}): {0}")]
    Incompatible(String),
    /// `options()` trapped.
    #[error("the scenario's options() failed: {0}")]
    Options(String),
}

/// A task a scenario declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Name.
    pub name: String,
    /// Weight in the random pick.
    pub weight: u32,
}

/// What a scenario declares and what it is made of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// SHA-256 of the component's bytes, hex.
    pub hash: String,
    /// Size of the component in bytes.
    pub size: usize,
    /// The tasks (one `default` task when the scenario declared none).
    pub tasks: Vec<Task>,
    /// The scenario's default plan document (JSON), empty for none.
    pub plan: String,
    /// Every import of the component.
    pub imports: Vec<String>,
}

/// A compiled scenario with its imports resolved: instantiating a VU from it is cheap.
#[derive(Clone)]
pub struct Scenario {
    pub(crate) pre: WorldPre<InstanceState>,
    info: Arc<ScenarioInfo>,
}

impl Scenario {
    /// What the scenario declares.
    pub fn info(&self) -> &ScenarioInfo {
        &self.info
    }

    /// The index of the task named `name`.
    pub fn task_index(&self, name: &str) -> Option<u32> {
        self.info
            .tasks
            .iter()
            .position(|t| t.name == name)
            .map(|i| i as u32)
    }
}

/// Whether `bytes` are a component (`false`) or a core module meant for our world (`true`,
/// to componentize); anything else is refused.
fn kind_of(bytes: &[u8]) -> Result<bool, LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm);
    }
    // Core modules have version 1 and layer 0; components have layer 1.
    if bytes[6..8] == [0, 0] {
        return if componentize::is_scenario_module(bytes) {
            Ok(true)
        } else {
            Err(LoadError::CoreModule)
        };
    }
    Ok(false)
}

/// Refuses a component over the size and complexity caps, before the costly compile.
fn check_shape(bytes: &[u8], limits: &LoadLimits) -> Result<(), LoadError> {
    let too_large = |what, value: u64, limit: u64| {
        if value > limit {
            Err(LoadError::TooLarge { what, value, limit })
        } else {
            Ok(())
        }
    };
    too_large("bytes", bytes.len() as u64, limits.max_bytes as u64)?;
    let (mut functions, mut memories) = (0u64, 0u64);
    // `parse_all` walks nested modules and components too.
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.map_err(|err| LoadError::Invalid(err.to_string()))? {
            wasmparser::Payload::FunctionSection(section) => {
                functions += u64::from(section.count());
                too_large("functions", functions, u64::from(limits.max_functions))?;
            }
            wasmparser::Payload::MemorySection(section) => {
                memories += u64::from(section.count());
                too_large("memories", memories, u64::from(limits.max_memories))?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_imports(
    engine: &wasmtime::Engine,
    component: &Component,
) -> Result<Vec<String>, LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    if !exports.iter().any(|name| name == EXPORT) {
        let other = exports
            .iter()
            .find_map(|name| name.strip_prefix("loadwright:scenario/guest@"));
        if let Some(version) = other {
            return Err(LoadError::OtherVersion {
                version: version.to_owned(),
            });
        }
        let exports = if exports.is_empty() {
            "nothing".to_owned()
        } else {
            exports.join(", ")
        };
        return Err(LoadError::WrongWorld { exports });
    }
    let mut imports = Vec::new();
    let mut refused = Vec::new();
    for (name, item) in ty.imports(engine) {
        imports.push(name.to_owned());
        let (interface, version) = name.split_once('@').unwrap_or((name, ""));
        let ours = interface.starts_with("loadwright:scenario/") && version == VERSION;
        let wasi = ALLOWED_WASI.contains(&interface) && version.starts_with("0.2.");
        if !(ours || wasi) || !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            refused.push(if interface.starts_with("loadwright:scenario/") {
                format!("{name} (this host implements {PACKAGE})")
            } else {
                name.to_owned()
            });
        }
    }
    if refused.is_empty() {
        Ok(imports)
    } else {
        Err(LoadError::UnsupportedImports(refused))
    }
}

impl Engine {
    /// Loads a scenario from the bytes of a component: validates it, compiles it (or reuses
    /// the cached compilation), and reads its options.
    pub async fn load(&self, bytes: &[u8]) -> Result<Scenario, LoadError> {
        let core_module = kind_of(bytes)?;
        check_shape(bytes, &self.inner.options.load_limits)?;
        let hash = format!("{:x}", Sha256::digest(bytes));
        let flight = self.flight(&hash);
        flight
            .get_or_init(|| self.compile_and_read(bytes, hash.clone(), core_module))
            .await
            .clone()
    }

    /// The load of `hash` in progress, or a new one.
    fn flight(&self, hash: &str) -> Arc<Flight> {
        let mut flights = crate::sync::lock(&self.inner.loading);
        if let Some(flight) = flights.get(hash).and_then(Weak::upgrade) {
            return flight;
        }
        flights.retain(|_, flight| flight.strong_count() > 0);
        let flight = Arc::new(Flight::new());
        flights.insert(hash.to_owned(), Arc::downgrade(&flight));
        flight
    }

    async fn compile_and_read(
        &self,
        bytes: &[u8],
        hash: String,
        core_module: bool,
    ) -> Result<Scenario, LoadError> {
        let component = {
            let engine = self.clone();
            let bytes = bytes.to_vec();
            let hash = hash.clone();
            // Compiling takes 50 ms to 2 s of CPU: keep it off the async workers.
            tokio::task::spawn_blocking(move || engine.compile(&bytes, &hash, core_module))
                .await
                .map_err(|err| LoadError::Invalid(err.to_string()))??
        };
        let imports = check_imports(&self.inner.wasmtime, &component)?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .and_then(WorldPre::new)
            .map_err(|err| LoadError::Incompatible(format!("{err:#}")))?;
        let mut scenario = Scenario {
            pre,
            info: Arc::new(ScenarioInfo {
                hash,
                size: bytes.len(),
                tasks: Vec::new(),
                plan: String::new(),
                imports,
            }),
        };
        let (tasks, plan) = read_options(&scenario).await?;
        let info = Arc::make_mut(&mut scenario.info);
        info.tasks = tasks;
        info.plan = plan;
        Ok(scenario)
    }
}

async fn read_options(scenario: &Scenario) -> Result<(Vec<Task>, String), LoadError> {
    let context = RunContext::detached();
    let identity = Identity {
        vu: 0,
        scenario: Arc::from("options"),
    };
    let mut instance = Instance::new(scenario, InstanceState::new(&context, identity))
        .await
        .map_err(|trap| LoadError::Options(trap.to_string()))?;
    let options = instance
        .options()
        .await
        .map_err(|trap| LoadError::Options(trap.to_string()))?;
    let mut tasks: Vec<Task> = options
        .tasks
        .into_iter()
        .map(|t| Task {
            name: t.name,
            weight: t.weight,
        })
        .collect();
    if tasks.is_empty() {
        tasks.push(Task {
            name: "default".into(),
            weight: 1,
        });
    }
    // The default plan is checked now, so no one later runs, prints or stores a malformed,
    // oversized or absurdly nested one.
    PlanDocument::from_json(&options.plan).map_err(|err| {
        LoadError::Options(format!("its default plan (from options) is invalid: {err}"))
    })?;
    Ok((tasks, options.plan))
}
