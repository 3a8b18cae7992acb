//! The host side of the WIT interfaces: one file per interface, each on its own slice of
//! [`InstanceState`](super::InstanceState), and `urls`, the request URLs `http` resolves
//! (and keeps) for a VU.

mod http;
mod metrics;
pub(crate) mod output;
pub(crate) mod stats;
pub(crate) mod urls;
mod vu;

use wasmtime::component::{HasData, HasSelf, Linker, ResourceTable};

use super::bindings;
use super::state::{HttpHost, InstanceState, MetricsHost, StatsHost, VuHost};

/// WASI interfaces a guest may import (any 0.2.x version); anything else is refused at load.
pub(crate) const ALLOWED_WASI: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/exit",
    "wasi:cli/environment",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    // Go's runtime imports these; with no preopened directory they reach nothing.
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
];

struct Table;

impl HasData for Table {
    type Data<'a> = &'a mut ResourceTable;
}

/// Adds our interfaces and the allowed WASI subset (no sockets) to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::WasiView as _;
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random};
    use wasmtime_wasi::random::WasiRandom;
    type S = InstanceState;

    bindings::http::add_to_linker::<S, HasSelf<HttpHost>>(linker, |s| &mut s.http)?;
    bindings::vu::add_to_linker::<S, HasSelf<VuHost>>(linker, |s| &mut s.vu)?;
    bindings::metrics::add_to_linker::<S, HasSelf<MetricsHost>>(linker, |s| &mut s.metrics)?;
    bindings::stats::add_to_linker::<S, HasSelf<StatsHost>>(linker, |s| &mut s.stats)?;
    bindings::types::add_to_linker::<S, HasSelf<StatsHost>>(linker, |s| &mut s.stats)?;

    let l = linker;
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<S, Table>(l, |s| s.ctx().table)?;
    wasmtime_wasi_io::bindings::wasi::io::poll::add_to_linker::<S, Table>(l, |s| s.ctx().table)?;
    wasmtime_wasi_io::bindings::wasi::io::streams::add_to_linker::<S, Table>(l, |s| s.ctx().table)?;
    clocks::wall_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?;
    clocks::monotonic_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?;
    random::random::add_to_linker::<S, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    random::insecure::add_to_linker::<S, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<S, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    cli::exit::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::environment::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_input::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_output::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    filesystem::types::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    filesystem::preopens::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    Ok(())
}
