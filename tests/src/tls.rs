//! An HTTPS (or cleartext HTTP/2) target for tests: certificates made by the test with
//! rcgen, HTTP/1.1 and HTTP/2 by ALPN, client certificates when asked, and counts of what the
//! server saw (connections, full and resumed handshakes, requests).
//!
//! Routes: `/` answers `ok`; `/proto` the request's HTTP version; `/gzip`, `/deflate` and
//! `/br` a text compressed that way (with its `content-encoding`); `/slow` `ok` after
//! [`SLOW_MS`]; `/big` [`BIG_BODY_BYTES`] of digits; anything else `ok`.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// A name the server certificate holds that no resolver knows: tests reach it with the
/// plan's `resolve`.
pub const SERVER_NAME: &str = "target.loadwright.test";

/// How long `/slow` waits before it answers, in milliseconds.
pub const SLOW_MS: u64 = 20;

/// The length of `/big`'s body: the digits `0123456789` over and over, in a dozen TLS
/// records of 16 KiB.
pub const BIG_BODY_BYTES: usize = 200_000;

/// The text `/gzip`, `/deflate` and `/br` answer, once decoded.
pub const COMPRESSED_TEXT: &str = "hello from a compressed body, hello again";

/// A certificate and its key, PEM.
#[derive(Clone)]
pub struct Identity {
    /// The certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
}

/// A test CA, a server certificate for `localhost`, 127.0.0.1 and [`SERVER_NAME`] signed by
/// it, and a client certificate signed by it.
pub struct Pki {
    /// The CA's certificate, PEM: what a client must trust.
    pub ca: String,
    /// The server's certificate and key.
    pub server: Identity,
    /// A client certificate the server accepts.
    pub client: Identity,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("self-signed CA");
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(names: &[&str], issuer: &Issuer<'static, KeyPair>) -> Identity {
    let params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .expect("leaf params");
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("signed leaf");
    Identity {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

impl Pki {
    /// A new CA with a server and a client certificate.
    pub fn new() -> Self {
        Self::named("Loadwright test CA")
    }

    /// [`Pki::new`], with the CA named `name` (a CA of another name is another issuer).
    pub fn named(name: &str) -> Self {
        let (ca, issuer) = ca(name);
        Self {
            ca,
            server: leaf(&["localhost", "127.0.0.1", SERVER_NAME], &issuer),
            client: leaf(&["loadwright test client"], &issuer),
        }
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

/// How a target serves.
#[derive(Debug, Clone)]
pub struct Serve {
    /// TLS (`false`: cleartext, HTTP/2 with prior knowledge when `http2` is set).
    pub tls: bool,
    /// Offer HTTP/2 by ALPN (or serve h2c when `tls` is off).
    pub http2: bool,
    /// Require a client certificate signed by the test CA.
    pub client_auth: bool,
    /// Let clients resume sessions (tickets and ids).
    pub resumption: bool,
    /// Only TLS 1.2.
    pub tls12_only: bool,
}

impl Default for Serve {
    fn default() -> Self {
        Self {
            tls: true,
            http2: false,
            client_auth: false,
            resumption: true,
            tls12_only: false,
        }
    }
}

/// What the target saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Connections accepted (and, with TLS, handshaken).
    pub connections: AtomicU64,
    /// Full TLS handshakes.
    pub full_handshakes: AtomicU64,
    /// Resumed TLS handshakes.
    pub resumed_handshakes: AtomicU64,
    /// Handshakes that failed.
    pub failed_handshakes: AtomicU64,
    /// Requests answered.
    pub requests: AtomicU64,
}

/// A running target; stops accepting when dropped.
pub struct TlsTarget {
    addr: SocketAddr,
    scheme: &'static str,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

fn server_config(pki: &Pki, serve: &Serve) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if serve.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS12, &rustls::version::TLS13]
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("versions");
    let builder = if serve.client_auth {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pki.ca.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA root");
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let chain = CertificateDer::pem_slice_iter(pki.server.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("server cert");
    let key = PrivateKeyDer::from_pem_slice(pki.server.key.as_bytes()).expect("server key");
    let mut config = builder
        .with_single_cert(chain, key)
        .expect("server identity");
    config.alpn_protocols = if serve.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    if serve.resumption {
        config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().expect("ticketer");
    } else {
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    config
}

impl TlsTarget {
    /// Starts a target with `pki`'s server certificate on a free loopback port.
    pub async fn start(pki: &Pki, serve: Serve) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Seen::default());
        let acceptor = serve
            .tls
            .then(|| tokio_rustls::TlsAcceptor::from(Arc::new(server_config(pki, &serve))));
        let counts = seen.clone();
        let h2c = !serve.tls && serve.http2;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, acceptor) = (counts.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let Some(acceptor) = acceptor else {
                        seen.connections.fetch_add(1, Ordering::Relaxed);
                        return serve_http(stream, h2c, seen).await;
                    };
                    let Ok(tls) = acceptor.accept(stream).await else {
                        seen.failed_handshakes.fetch_add(1, Ordering::Relaxed);
                        return;
                    };
                    let session = tls.get_ref().1;
                    let counter = match session.handshake_kind() {
                        Some(rustls::HandshakeKind::Resumed) => &seen.resumed_handshakes,
                        _ => &seen.full_handshakes,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    seen.connections.fetch_add(1, Ordering::Relaxed);
                    let h2 = session.alpn_protocol() == Some(b"h2");
                    serve_http(tls, h2, seen).await;
                });
            }
        });
        Self {
            addr,
            scheme: if serve.tls { "https" } else { "http" },
            seen,
            task,
        }
    }

    /// `https://127.0.0.1:PORT` (or `http://` for h2c).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// What it saw so far.
    pub fn seen(&self) -> &Seen {
        &self.seen
    }
}

impl Seen {
    /// Connections accepted.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Full handshakes.
    pub fn full(&self) -> u64 {
        self.full_handshakes.load(Ordering::Relaxed)
    }

    /// Resumed handshakes.
    pub fn resumed(&self) -> u64 {
        self.resumed_handshakes.load(Ordering::Relaxed)
    }

    /// Failed handshakes.
    pub fn failed(&self) -> u64 {
        self.failed_handshakes.load(Ordering::Relaxed)
    }

    /// Requests answered.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for TlsTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_http<S>(stream: S, h2: bool, seen: Arc<Seen>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        seen.requests.fetch_add(1, Ordering::Relaxed);
        let response = respond(&req);
        let slow = req.uri().path() == "/slow";
        async move {
            if slow {
                tokio::time::sleep(std::time::Duration::from_millis(SLOW_MS)).await;
            }
            Ok::<_, Infallible>(response)
        }
    });
    let io = TokioIo::new(stream);
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, service)
            .await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    }
}

fn respond(req: &hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
    let text = COMPRESSED_TEXT.as_bytes();
    let (body, encoding) = match req.uri().path() {
        "/proto" => (format!("{:?}", req.version()).into_bytes(), None),
        "/big" => (b"0123456789".repeat(BIG_BODY_BYTES / 10), None),
        "/gzip" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(text).expect("gzip");
            (encoder.finish().expect("gzip"), Some("gzip"))
        }
        "/deflate" => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(text).expect("deflate");
            (encoder.finish().expect("deflate"), Some("deflate"))
        }
        "/br" => {
            let mut out = Vec::new();
            {
                let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                encoder.write_all(text).expect("br");
            }
            (out, Some("br"))
        }
        _ => (b"ok".to_vec(), None),
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    // Fields the guest reads back: one looked up by name, one given twice.
    let fields = response.headers_mut();
    fields.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    fields.append("x-seen", hyper::header::HeaderValue::from_static("one"));
    fields.append("x-seen", hyper::header::HeaderValue::from_static("two"));
    if let Some(encoding) = encoding {
        response.headers_mut().insert(
            hyper::header::CONTENT_ENCODING,
            hyper::header::HeaderValue::from_static(encoding),
        );
    }
    response
}
