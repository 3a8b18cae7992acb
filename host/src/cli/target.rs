//! `host target`: the built-in demo target, served in the foreground.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use crate::demo::DemoTarget;

/// Flags of `host target`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

pub(crate) async fn serve(args: TargetArgs) -> anyhow::Result<Exit> {
    let target = DemoTarget::start(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("demo target listening on {}", target.url());
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    println!("served {} requests", target.requests());
    Ok(Exit::Ok)
}
