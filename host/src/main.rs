//! The `host` binary: builds the runtime, parses the command line, calls the library and maps
//! the outcome to an exit code. Nothing else lives here.

use std::process::ExitCode;

use clap::Parser as _;
use loadwright_host::cli::{self, Cli, Exit};

/// jemalloc rather than glibc's malloc: see `bench/README.md` ("Allocator").
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return Exit::Error.into();
        }
    };
    match runtime.block_on(cli::execute(cli)) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            Exit::Error.into()
        }
    }
}
