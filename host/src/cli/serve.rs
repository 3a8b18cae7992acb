//! `host serve`: the HTTP API a platform drives (see `docs/server.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use crate::api::{ServeOptions, ServerConfig, serve};
use crate::config::parse_duration;

/// Flags of `host serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Directory of the database, the uploaded components and their compiled forms.
    #[arg(long, default_value = "loadwright-data")]
    pub data_dir: PathBuf,
    /// The tenants' configuration (TOML): tokens, quotas, caps, egress. See docs/server.md.
    #[arg(long)]
    pub config: PathBuf,
    /// Time runs get to stop gracefully at shutdown.
    #[arg(long, default_value = "30s", value_parser = |s: &str| parse_duration(s).map_err(|e| e.to_string()))]
    pub shutdown_grace: Duration,
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<Exit> {
    let config = ServerConfig::from_file(&args.config)?;
    if config.tenants.is_empty() {
        tracing::warn!("the config has no tenant: every /v1 request but the admin's gets 401");
    }
    // Runs get a runtime of their own, on threads the kernel favours less than the API's:
    // under load, the API still answers promptly.
    let load = tokio::runtime::Builder::new_multi_thread()
        .thread_name("load")
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
        .context("cannot start the runtime for runs")?;
    let options = ServeOptions {
        listen: args.listen,
        data_dir: args.data_dir,
        config,
        shutdown_grace: args.shutdown_grace,
    };
    let served = serve(options, load.handle().clone()).await;
    // The load runtime's threads may still hold finished runs' tasks; do not wait on them.
    load.shutdown_background();
    served.map(|()| Exit::Ok)
}

/// Lowers the calling thread's scheduling priority a little (Linux nice values are per
/// thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::process::setpriority_process(None, 5);
    }
}
