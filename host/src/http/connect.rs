//! Opening a connection: check the egress policy, resolve, check every address, connect,
//! the TLS handshake for `https`, then HTTP/2's handshake when ALPN (or h2c) chose it, each
//! phase timed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::TlsVersion;
use super::client::ClientOptions;
use super::connection::{Conn, Link, Origin};
use super::dns::Resolver;
use super::error::{ErrorKind, HttpError};
use super::h1::H1;
use super::h2::H2;
use super::request::{Timings, TlsInfo};
use super::stream::{MeteredIo, Stream};
use super::tls::{self, TlsConfigs};

/// What opens a run's connections: the client's options, and the TLS configurations and the
/// resolver built from them once.
#[derive(Debug)]
pub(crate) struct Connector {
    pub options: ClientOptions,
    tls: TlsConfigs,
    resolver: Resolver,
}

impl Connector {
    /// A connector for `options`; fails when a certificate or key of the TLS settings is
    /// unusable (the message names it).
    pub(crate) fn new(options: ClientOptions) -> Result<Self, String> {
        let mut alpn = vec![b"http/1.1".to_vec()];
        if options.http2 {
            alpn.insert(0, b"h2".to_vec());
        }
        let tls = options.tls.build(alpn)?;
        let resolver = Resolver::new(options.dns_ttl, &options.resolve);
        Ok(Self {
            options,
            tls,
            resolver,
        })
    }

    /// Opens a connection to `origin` on a task of its own and waits for it. The connect
    /// path (the resolver, the socket, the TLS and HTTP handshakes) then runs on a worker
    /// thread's stack instead of the VU's fiber stack, whose touched pages stay resident for
    /// the VU's whole life: 8 KiB less per VU with a kept-alive connection
    /// (`bench/README.md`). A VU cut meanwhile drops this future, which aborts the task.
    pub(crate) async fn open(
        self: &Arc<Self>,
        origin: Origin,
    ) -> Result<(Conn, Timings), HttpError> {
        let connector = self.clone();
        let task = tokio::spawn(async move {
            let mut timings = Timings::default();
            let conn = connector.connect(&origin, &mut timings).await?;
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

    async fn connect(&self, origin: &Origin, timings: &mut Timings) -> Result<Conn, HttpError> {
        let started = Instant::now();
        let addrs = self.resolve(origin).await?;
        timings.dns = started.elapsed();
        let connecting = Instant::now();
        let stream = self.tcp(origin, addrs).await?;
        timings.connecting = connecting.elapsed();
        let (io, meter) = MeteredIo::new(stream);
        let (stream, tls, h2) = if origin.scheme == "https" {
            let handshaking = Instant::now();
            let (stream, info, h2) = self.handshake(origin, io).await?;
            timings.tls_handshaking = handshaking.elapsed();
            (stream, Some(info), h2)
        } else {
            (Stream::Plain(io), None, self.options.h2c)
        };
        let link = if h2 {
            meter.time_writes();
            Link::H2(H2::handshake(stream).await?)
        } else {
            Link::H1(H1::new(stream))
        };
        Ok(Conn { link, meter, tls })
    }

    /// The addresses of `origin`, each allowed by the egress policy (the name is checked
    /// before it is looked up; one forbidden answer refuses the name).
    async fn resolve(&self, origin: &Origin) -> Result<Vec<SocketAddr>, HttpError> {
        let denied = |message: String| HttpError::new(ErrorKind::Denied, message);
        let (host, port) = (&*origin.host, origin.port);
        let egress = &self.options.egress;
        egress.check_name(host, port).map_err(denied)?;
        let addrs = self.resolver.lookup(host, port).await?;
        for &ip in addrs.iter() {
            egress.check_address(host, port, ip).map_err(denied)?;
        }
        Ok(addrs.iter().map(|&ip| SocketAddr::new(ip, port)).collect())
    }

    /// A TCP connection to the first of `addrs` that answers.
    async fn tcp(&self, origin: &Origin, addrs: Vec<SocketAddr>) -> Result<TcpStream, HttpError> {
        let timeout = self.options.connect_timeout;
        let mut last_error = HttpError::new(ErrorKind::Dns, format!("{}: no address", origin.host));
        for addr in addrs {
            match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    // Requests are small and latency-bound: never wait to coalesce writes.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Ok(Err(err)) => last_error = HttpError::from_connect(&err),
                Err(_) => {
                    last_error = HttpError::new(
                        ErrorKind::ConnectTimeout,
                        format!("no connection to {addr} within {timeout:?}"),
                    );
                }
            }
        }
        Err(last_error)
    }

    /// The TLS handshake over `io`, with SNI for a host name; whether ALPN chose HTTP/2.
    async fn handshake(
        &self,
        origin: &Origin,
        io: MeteredIo,
    ) -> Result<(Stream, TlsInfo, bool), HttpError> {
        let host = &*origin.host;
        let name = ServerName::try_from(host.to_owned()).map_err(|err| {
            HttpError::new(
                ErrorKind::InvalidRequest,
                format!("{host}: not a name TLS can verify ({err})"),
            )
        })?;
        let stream =
            self.tls.for_host(host).connect(name, io).await.map_err(
                |err| match tls::rustls_error(&err) {
                    Some(tls) => {
                        let failure = tls::classify(tls);
                        HttpError::new(failure.kind, format!("{host}: {}", failure.message))
                    }
                    None => HttpError::new(
                        ErrorKind::TlsHandshake,
                        format!("{host}: the connection failed during the TLS handshake: {err}"),
                    ),
                },
            )?;
        let session = stream.get_ref().1;
        let info = TlsInfo {
            version: match session.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_2) => TlsVersion::Tls12,
                _ => TlsVersion::Tls13,
            },
            resumed: session.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
        };
        let h2 = session.alpn_protocol() == Some(b"h2");
        Ok((Stream::Tls(Box::new(stream)), info, h2))
    }
}

/// Aborts a task when its waiter is dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
