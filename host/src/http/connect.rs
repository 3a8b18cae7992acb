//! Opening a connection: resolve, check the egress policy, connect, then hyper's handshake,
//! each phase timed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::client::ClientOptions;
use super::connection::{Conn, MeteredIo, Origin};
use super::error::{ErrorKind, HttpError};
use super::request::Timings;

/// Opens a connection to `origin` on a task of its own and waits for it. The connect path
/// (the resolver, the socket, hyper's handshake) then runs on a worker thread's stack
/// instead of the VU's fiber stack, whose touched pages stay resident for the VU's whole
/// life: 8 KiB less per VU with a kept-alive connection (`bench/README.md`). A VU cut
/// meanwhile drops this future, which aborts the task.
pub(crate) async fn open(
    options: Arc<ClientOptions>,
    origin: Origin,
) -> Result<(Conn, Timings), HttpError> {
    let task = tokio::spawn(async move {
        let mut timings = Timings::default();
        let conn = connect(&options, &origin, &mut timings).await?;
        Ok((conn, timings))
    });
    let _abort = AbortOnDrop(task.abort_handle());
    task.await.unwrap_or_else(|err| {
        Err(HttpError::new(
            ErrorKind::Other,
            format!("the connect task failed: {err}"),
        ))
    })
}

/// Aborts a task when its waiter is dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn connect(
    options: &ClientOptions,
    origin: &Origin,
    timings: &mut Timings,
) -> Result<Conn, HttpError> {
    let denied = |message: String| HttpError::new(ErrorKind::Denied, message);
    let (host, port) = (origin.host.as_str(), origin.port);
    options.egress.check_name(host, port).map_err(denied)?;
    let started = Instant::now();
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|err| HttpError::new(ErrorKind::Dns, format!("{host}: {err}")))?
            .collect(),
    };
    timings.dns = started.elapsed();
    // Every address is checked before any is tried: one forbidden answer refuses the name.
    for addr in &addrs {
        options
            .egress
            .check_address(host, port, addr.ip())
            .map_err(denied)?;
    }
    let connecting = Instant::now();
    let mut last_error = HttpError::new(ErrorKind::Dns, format!("{host}: no address"));
    let mut stream = None;
    for addr in addrs {
        match tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(err)) => last_error = HttpError::from_connect(&err),
            Err(_) => {
                last_error = HttpError::new(
                    ErrorKind::ConnectTimeout,
                    format!(
                        "no connection to {addr} within {:?}",
                        options.connect_timeout
                    ),
                )
            }
        }
    }
    let stream = stream.ok_or(last_error)?;
    // Requests are small and latency-bound: never wait to coalesce writes.
    let _ = stream.set_nodelay(true);
    timings.connecting = connecting.elapsed();
    let (io, meter) = MeteredIo::new(stream);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|err| HttpError::from_hyper(&err))?;
    // The connection task does the socket I/O, off the VU's fiber, and notices when the
    // server closes an idle connection.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn { sender, meter })
}
