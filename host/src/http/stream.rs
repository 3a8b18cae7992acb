//! The byte stream under a connection: TCP, metered (bytes on the wire and the instant of the
//! last write), with TLS over it for `https`.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncReadExt, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Byte counts and the instant of the last write on one connection, shared between who does
/// the I/O (the VU for HTTP/1.1, hyper's connection task for HTTP/2) and the VU, which takes
/// the counts after each exchange.
#[derive(Debug)]
pub(crate) struct Meter {
    base: Instant,
    written: AtomicU64,
    read: AtomicU64,
    /// Nanoseconds after `base` of the last write, 0 if none.
    last_write: AtomicU64,
    /// Whether writes are timed: only HTTP/2 needs it, as hyper writes in its own task. An
    /// HTTP/1.1 exchange times its own write, and a clock read per write cost more than the
    /// rest of the meter.
    timed: AtomicBool,
}

/// Bytes moved on a connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MeterReading {
    pub written: u64,
    pub read: u64,
}

impl Meter {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            written: AtomicU64::new(0),
            read: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            timed: AtomicBool::new(false),
        }
    }

    fn wrote(&self, bytes: usize) {
        self.written.fetch_add(bytes as u64, Ordering::Relaxed);
        if !self.timed.load(Ordering::Relaxed) {
            return;
        }
        // Never 0, so 0 can mean "not yet".
        let now = (self.base.elapsed().as_nanos() as u64).max(1);
        self.last_write.store(now, Ordering::Relaxed);
    }

    /// The bytes moved since the last take (since the connection opened, for the first):
    /// each byte is counted by exactly one exchange, also when several share a connection.
    pub(crate) fn take(&self) -> MeterReading {
        MeterReading {
            written: self.written.swap(0, Ordering::Relaxed),
            read: self.read.swap(0, Ordering::Relaxed),
        }
    }

    /// Times the writes from now on, for [`Self::last_write`].
    pub(crate) fn time_writes(&self) {
        self.timed.store(true, Ordering::Relaxed);
    }

    /// When the connection last wrote, if ever (and if its writes are timed).
    pub(crate) fn last_write(&self) -> Option<Instant> {
        let nanos = self.last_write.load(Ordering::Relaxed);
        (nanos != 0).then(|| self.base + Duration::from_nanos(nanos))
    }
}

/// A TCP stream that counts its bytes and notes when it last wrote.
pub(crate) struct MeteredIo {
    inner: TcpStream,
    meter: Arc<Meter>,
}

impl MeteredIo {
    pub(crate) fn new(inner: TcpStream) -> (Self, Arc<Meter>) {
        let meter = Arc::new(Meter::new());
        (
            Self {
                inner,
                meter: meter.clone(),
            },
            meter,
        )
    }

    /// Whether the reactor has seen the socket readable since a read last found it empty:
    /// tokio's cached readiness, looked at without reading and without registering a waker.
    fn maybe_readable(&self) -> bool {
        self.inner.try_io(Interest::READABLE, || Ok(())).is_ok()
    }
}

impl AsyncRead for MeteredIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.meter.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }
}

impl AsyncWrite for MeteredIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.meter.wrote(n);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = poll {
            self.meter.wrote(n);
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A connection's stream: plain TCP, or TLS over it. Both count wire bytes (TLS records
/// included) through the TCP stream's meter.
pub(crate) enum Stream {
    /// `http`.
    Plain(MeteredIo),
    /// `https`; boxed, as the TLS state is ten times the size of the plain stream.
    Tls(Box<TlsStream<MeteredIo>>),
}

impl Stream {
    /// Whether a read might find something: `false` when the socket is known empty (tokio
    /// clears its readiness once a read finds it so) and, over TLS, no plaintext or closure
    /// alert is held either. A kept-alive connection is checked before each reuse; this spares
    /// the read (through rustls, over TLS) that would only return `Pending`.
    pub(crate) fn maybe_readable(&self) -> bool {
        match self {
            Self::Plain(io) => io.maybe_readable(),
            Self::Tls(tls) => {
                let (io, session) = tls.get_ref();
                // rustls wants to read unless it holds plaintext or saw the peer's close.
                !session.wants_read() || io.maybe_readable()
            }
        }
    }

    /// Appends what the stream has ready to `buf`; `Ok(0)` at its end. Over TLS this takes
    /// one record's plaintext, reading the socket only when none is decrypted yet:
    /// tokio-rustls's `poll_read` goes back to the socket after every record it copies, to
    /// find it empty once a response is in (an attempt per response, through rustls to the
    /// socket's readiness, registering a waker for nothing).
    pub(crate) async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Self::Plain(io) => io.read_buf(buf).await,
            Self::Tls(io) => {
                poll_fn(|cx| {
                    let mut io = Pin::new(io.as_mut());
                    let record = ready!(io.as_mut().poll_fill_buf(cx))?;
                    let read = record.len();
                    buf.extend_from_slice(record);
                    io.consume(read);
                    Poll::Ready(Ok(read))
                })
                .await
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(io) => io.is_write_vectored(),
            Self::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_flush(cx),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Self::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// Waits (up to 2 s) for `stream` to look readable: the reactor notes what arrived at
    /// its next turn.
    async fn looks_readable(stream: &Stream) -> bool {
        for _ in 0..2_000 {
            if stream.maybe_readable() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_socket_read_empty_looks_readable_again_only_when_the_peer_writes_or_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (mut server, _) = accepted.unwrap();
        let mut stream = Stream::Plain(MeteredIo::new(client.unwrap()).0);
        let mut input = BytesMut::with_capacity(1024);

        server.write_all(b"answer").await.unwrap();
        assert!(looks_readable(&stream).await);
        assert_eq!(stream.read_into(&mut input).await.unwrap(), 6);
        // A read shorter than the room it had: the socket is known empty, and stays so.
        assert!(!stream.maybe_readable());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!stream.maybe_readable());

        server.write_all(b"unasked").await.unwrap();
        assert!(looks_readable(&stream).await, "bytes the peer sent");
        assert_eq!(stream.read_into(&mut input).await.unwrap(), 7);
        assert!(!stream.maybe_readable());

        drop(server);
        assert!(looks_readable(&stream).await, "the peer's close");
        assert_eq!(stream.read_into(&mut input).await.unwrap(), 0);
    }
}
