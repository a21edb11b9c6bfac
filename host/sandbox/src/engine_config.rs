//! The one place where the wasmtime [`Engine`] is configured.
//!
//! Every choice that affects how guest code runs is made here: epoch
//! interruption for CPU budgets, the pooling allocator when the machine can
//! reserve its address space (falling back to on-demand allocation when it
//! cannot, e.g. under a tight `ulimit -v`), and the ticker thread that
//! advances the epoch.

use crate::limits::{EPOCH_TICK, Limits};
use anyhow::{Context, Result};
use serde::Deserialize;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Which instance allocator to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllocatorChoice {
    /// Pooling when the machine allows it, otherwise on-demand.
    #[default]
    Auto,
    /// Pooling, or fail.
    Pooling,
    /// On-demand (mmap per instance).
    OnDemand,
}

/// The allocator the engine ended up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocatorKind {
    /// Instances come from slots reserved up front, one per concurrent call.
    Pooling,
    /// Each instance maps its own memory when it is created.
    OnDemand,
}

impl std::fmt::Display for AllocatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AllocatorKind::Pooling => "pooling",
            AllocatorKind::OnDemand => "on-demand",
        })
    }
}

/// Core instances, memories and tables one connector component may hold. A
/// Rust `wasm32-wasip2` component has about three core instances and one
/// memory; these leave room for other toolchains.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 8;

/// Builds the engine. `max_instances` is how many calls may run at once.
pub fn build_engine(
    choice: AllocatorChoice,
    limits: &Limits,
    max_instances: u32,
) -> Result<(Engine, AllocatorKind)> {
    match choice {
        AllocatorChoice::OnDemand => Ok((on_demand()?, AllocatorKind::OnDemand)),
        AllocatorChoice::Pooling => Ok((pooling(limits, max_instances)?, AllocatorKind::Pooling)),
        AllocatorChoice::Auto => match pooling(limits, max_instances) {
            Ok(engine) => Ok((engine, AllocatorKind::Pooling)),
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "pooling allocator unavailable; using on-demand allocation");
                Ok((on_demand()?, AllocatorKind::OnDemand))
            }
        },
    }
}

/// Set (to anything) to have wasmtime write `/tmp/perf-PID.map`, so that
/// `perf report` names the connectors' compiled functions instead of bare
/// addresses. For profiling only: the map grows with every load.
pub const PERF_MAP_ENV: &str = "SEATWARDEN_PERF_MAP";

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    if std::env::var_os(PERF_MAP_ENV).is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

fn on_demand() -> Result<Engine> {
    Engine::new(&base_config())
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .context("creating the wasmtime engine")
}

fn pooling(limits: &Limits, max_instances: u32) -> Result<Engine> {
    let n = max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(n * MEMORIES_PER_COMPONENT)
        .total_tables(n * TABLES_PER_COMPONENT)
        .total_stacks(n)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_memory_size(limits.memory_bytes);
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .context("creating the wasmtime engine with the pooling allocator")
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
pub fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("seatwarden-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch ticker thread");
}
