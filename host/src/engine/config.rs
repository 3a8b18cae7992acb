//! The one commented `wasmtime::Config` of the process.

use std::time::Duration;

use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch ticker advances the engine's epoch. A guest computing without a
/// host call is preempted at the next tick, so this bounds how long one VU can hold a worker
/// thread (Spin uses the same 10 ms).
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Native stack for compiled guest code. Deep guest recursion traps at this depth.
const MAX_WASM_STACK: usize = 512 << 10;

/// Fiber stack per instance: the guest's native stack plus room for host futures, which are
/// polled on the fiber (hyper's send path, the sleep timer). Only touched pages cost memory.
const ASYNC_STACK: usize = 1 << 20;

/// Settings of the engine that change per deployment.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Instances the pooling allocator reserves slots for (VUs, test instances, and
    /// re-created VUs). 0 allocates on demand, for loading and inspecting only.
    pub max_instances: u32,
    /// Largest linear memory of one instance. Part of the compiled code's compatibility:
    /// the component cache is keyed by it.
    pub max_memory_bytes: u64,
    /// Directory of precompiled components, keyed by content hash; `None` compiles every load.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Caps on a component's size and shape, checked before compiling it.
    pub load_limits: LoadLimits,
}

/// What a component may be, checked before it is compiled (compiling is the costly step a
/// hostile upload would aim at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// Bytes of the component file.
    pub max_bytes: usize,
    /// Functions defined in all its core modules together.
    pub max_functions: u32,
    /// Linear memories defined in all its core modules together.
    pub max_memories: u32,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            // A Rust scenario is 0.1 to 1 MB, a Go one about 3 MB.
            max_bytes: 32 << 20,
            // A Go scenario defines about 8 000.
            max_functions: 100_000,
            // The pool gives each component 2 (see `wasmtime_config`).
            max_memories: 2,
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_instances: 0,
            max_memory_bytes: 64 << 20,
            cache_dir: None,
            load_limits: LoadLimits::default(),
        }
    }
}

pub(crate) fn wasmtime_config(options: &EngineOptions) -> Config {
    let mut config = Config::new();
    // Scenarios are components: typed WIT interfaces instead of a hand-made ABI.
    config.wasm_component_model(true);
    // A ticker thread advances the epoch; guests yield or stop at deadlines measured in ticks,
    // at a cost of a few percent of guest speed (fuel would cost more).
    config.epoch_interruption(true);
    config.max_wasm_stack(MAX_WASM_STACK);
    config.async_stack_size(ASYNC_STACK);
    // A small reservation per memory, instead of 4 GiB + guard, so tens of thousands of
    // instances fit in the 47-bit address space; bounds checks become explicit.
    config.memory_reservation(options.max_memory_bytes);
    config.memory_guard_size(64 << 10);
    config.memory_reservation_for_growth(0);
    // Copy-on-write images of the guest's initial memory: instantiation maps, never copies.
    config.memory_init_cow(true);
    if options.max_instances > 0 {
        let n = options.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        // Slots are reserved up front, so spawning a VU does no mmap: about 20 µs instead of 50.
        pool.total_component_instances(n)
            // A Rust guest has 3 core instances; a Go guest with the WASI adapter about 5.
            .total_core_instances(n.saturating_mul(6))
            .max_core_instances_per_component(16)
            .total_memories(n.saturating_mul(2))
            .max_memories_per_component(2)
            .total_tables(n.saturating_mul(4))
            .max_tables_per_component(8)
            .total_stacks(n)
            .max_memory_size(options.max_memory_bytes as usize)
            // Freed slots give their pages back: keeping them resident costs RSS per slot.
            .linear_memory_keep_resident(0)
            .table_keep_resident(0);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}
