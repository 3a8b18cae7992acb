//! TLS for the client: a run's settings (trusted CAs, verification, client certificates,
//! resumption, versions), the rustls configurations built from them once per run, and what a
//! failed handshake means.
//!
//! Certificates and keys are PEM text in the plan (`tls.caCerts`, `tls.clientCerts`): `host
//! run` reads the files named by its flags into the plan, and a server never reads a file on a
//! tenant's behalf. Private keys are never written back out: a plan printed or saved shows
//! `(redacted)` in their place.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::egress::host_matches;
use super::error::{ErrorKind, HttpError};

/// Server names kept in a configuration's session cache (each with a few tickets).
const SESSION_CACHE_SERVERS: usize = 1024;

/// What a printed or saved plan shows instead of a private key.
const REDACTED: &str = "(redacted)";

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// `"1.2"` or `"1.3"`, as plans and reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls12 => "1.2",
            Self::Tls13 => "1.3",
        }
    }

    fn rustls(self) -> &'static rustls::SupportedProtocolVersion {
        match self {
            Self::Tls12 => &rustls::version::TLS12,
            Self::Tls13 => &rustls::version::TLS13,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TlsVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().trim_start_matches("tls") {
            "1.2" => Ok(Self::Tls12),
            "1.3" => Ok(Self::Tls13),
            _ => Err(format!(
                "TLS version {text:?}: use 1.2 or 1.3 (older versions are not supported)"
            )),
        }
    }
}

impl Serialize for TlsVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A client certificate (mTLS) and the servers it is presented to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientCert {
    /// Server names it is presented to (`api.example.com`, `*.example.com`); empty: every
    /// server that asks for one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// The certificate chain, PEM, the client's own certificate first.
    pub cert: String,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1). Never written back out.
    #[serde(serialize_with = "redact")]
    pub key: String,
}

fn redact<S: Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(REDACTED)
}

fn yes() -> bool {
    true
}

fn is_yes(value: &bool) -> bool {
    *value
}

/// A run's TLS settings: the plan's `tls` object. The default trusts Mozilla's roots,
/// verifies certificates, resumes sessions and offers TLS 1.2 and 1.3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsSettings {
    /// Certificates (PEM bundles) trusted besides the built-in roots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_certs: Vec<String>,
    /// Accept any server certificate, for test servers with self-signed ones. The handshake's
    /// own signatures are still checked. Loud in the summary; a server allows it only to
    /// tenants its configuration names.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Client certificates, by server name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_certs: Vec<ClientCert>,
    /// Resume TLS sessions (TLS 1.3 tickets, TLS 1.2 tickets and ids); `false` makes every
    /// new connection a full handshake.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub resumption: bool,
    /// The lowest version offered (default 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
    /// The highest version offered (default 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<TlsVersion>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            ca_certs: Vec::new(),
            insecure: false,
            client_certs: Vec::new(),
            resumption: true,
            min_version: None,
            max_version: None,
        }
    }
}

/// Reads every certificate of a PEM text; `what` names it in errors.
pub fn parse_certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("{what}: not a valid PEM certificate ({err})"))?;
    if certs.is_empty() {
        return Err(format!(
            "{what}: no certificate found (expected -----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(certs)
}

/// Reads a private key from PEM text; `what` names it in errors.
pub fn parse_key(pem: &str, what: &str) -> Result<PrivateKeyDer<'static>, String> {
    if pem == REDACTED {
        return Err(format!(
            "{what}: the key was redacted when the plan was saved; give the key again"
        ));
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|err| {
        format!(
            "{what}: no private key found ({err}); expected a PEM key (-----BEGIN PRIVATE \
             KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)"
        )
    })
}

impl TlsSettings {
    /// Whether these are the defaults (nothing to print or save).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    fn versions(&self) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
        let min = self.min_version.unwrap_or(TlsVersion::Tls12);
        let max = self.max_version.unwrap_or(TlsVersion::Tls13);
        if min > max {
            return Err(format!(
                "tls.minVersion {min} is above tls.maxVersion {max}"
            ));
        }
        Ok([TlsVersion::Tls12, TlsVersion::Tls13]
            .into_iter()
            .filter(|v| (min..=max).contains(v))
            .map(TlsVersion::rustls)
            .collect())
    }

    /// Checks that every certificate and key parses and the versions make a range; the
    /// message names the field at fault. Whether a key fits its certificate is checked when
    /// the run's configurations are built, at its start.
    pub fn validate(&self) -> Result<(), String> {
        self.versions()?;
        for (index, pem) in self.ca_certs.iter().enumerate() {
            parse_certs(pem, &format!("tls.caCerts[{index}]"))?;
        }
        for (index, identity) in self.client_certs.iter().enumerate() {
            let what = format!("tls.clientCerts[{index}]");
            parse_certs(&identity.cert, &format!("{what}.cert"))?;
            parse_key(&identity.key, &format!("{what}.key"))?;
        }
        Ok(())
    }

    /// The run's TLS configurations, offering `alpn` (most preferred first). Built once per
    /// run: parsing the roots and keys is the expensive part.
    pub(crate) fn build(&self, alpn: Vec<Vec<u8>>) -> Result<TlsConfigs, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = self.verifier(&provider)?;
        let versions = self.versions()?;
        let config = |identity: Option<&ClientCert>, index: usize| {
            let builder = ClientConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&versions)
                .map_err(|err| format!("tls: {err}"))?
                .dangerous()
                .with_custom_certificate_verifier(verifier.clone());
            let mut config = match identity {
                None => builder.with_no_client_auth(),
                Some(identity) => {
                    let what = format!("tls.clientCerts[{index}]");
                    let chain = parse_certs(&identity.cert, &format!("{what}.cert"))?;
                    let key = parse_key(&identity.key, &format!("{what}.key"))?;
                    builder.with_client_auth_cert(chain, key).map_err(|err| {
                        format!("{what}: the key does not fit the certificate ({err})")
                    })?
                }
            };
            config.alpn_protocols = alpn.clone();
            // Each configuration (each client identity) keeps its own sessions: a session is
            // never resumed under another identity.
            config.resumption = if self.resumption {
                Resumption::store(Arc::new(ClientSessionMemoryCache::new(
                    SESSION_CACHE_SERVERS,
                )))
            } else {
                Resumption::disabled()
            };
            Ok::<_, String>(tokio_rustls::TlsConnector::from(Arc::new(config)))
        };
        let identities = self
            .client_certs
            .iter()
            .enumerate()
            .map(|(index, identity)| {
                let domains = identity
                    .domains
                    .iter()
                    .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                    .collect();
                Ok((domains, config(Some(identity), index)?))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(TlsConfigs {
            default: config(None, 0)?,
            identities,
        })
    }

    fn verifier(
        &self,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Arc<dyn ServerCertVerifier>, String> {
        if self.insecure {
            return Ok(Arc::new(AnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }));
        }
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for (index, pem) in self.ca_certs.iter().enumerate() {
            let what = format!("tls.caCerts[{index}]");
            for cert in parse_certs(pem, &what)? {
                roots
                    .add(cert)
                    .map_err(|err| format!("{what}: not usable as a trusted CA ({err})"))?;
            }
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map(|v| v as Arc<dyn ServerCertVerifier>)
            .map_err(|err| format!("tls.caCerts: {err}"))
    }
}

/// The rustls configurations of a run: one without a client certificate, and one per client
/// identity of the plan.
#[derive(Clone)]
pub(crate) struct TlsConfigs {
    default: tokio_rustls::TlsConnector,
    identities: Vec<(Vec<String>, tokio_rustls::TlsConnector)>,
}

impl fmt::Debug for TlsConfigs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfigs")
            .field("identities", &self.identities.len())
            .finish_non_exhaustive()
    }
}

impl TlsConfigs {
    /// The connector for `host`: with the first client identity whose domains match it (or
    /// that names none), else without a client certificate.
    pub(crate) fn for_host(&self, host: &str) -> &tokio_rustls::TlsConnector {
        self.identities
            .iter()
            .find(|(domains, _)| {
                domains.is_empty() || domains.iter().any(|d| host_matches(d, host))
            })
            .map_or(&self.default, |(_, connector)| connector)
    }
}

/// The verifier of `tls.insecure`: any certificate is accepted, the handshake's signatures
/// are still checked (as `curl --insecure` does).
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The rustls error inside `err`, if any: tokio-rustls reports TLS failures as I/O errors
/// wrapping one.
pub(crate) fn rustls_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls);
        }
        current = err.source();
    }
    None
}

/// Classifies a TLS failure: `tls-certificate` when the server's certificate was refused
/// (and why), `tls-handshake` otherwise.
pub(crate) fn classify(err: &rustls::Error) -> HttpError {
    use rustls::Error as E;
    let handshake = |message: String| HttpError::new(ErrorKind::TlsHandshake, message);
    match err {
        E::InvalidCertificate(cert) => {
            HttpError::new(ErrorKind::TlsCertificate, describe_certificate_error(cert))
        }
        E::AlertReceived(AlertDescription::CertificateRequired) => handshake(
            "the server requires a client certificate (alert certificate_required); give one \
             with --client-cert or tls.clientCerts"
                .to_owned(),
        ),
        E::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate),
        ) => handshake(format!(
            "the server refused the client certificate (alert {alert:?})"
        )),
        E::AlertReceived(alert) => {
            handshake(format!("the server ended the handshake (alert {alert:?})"))
        }
        other => handshake(other.to_string()),
    }
}

fn describe_certificate_error(err: &CertificateError) -> String {
    use CertificateError as C;
    match err {
        C::UnknownIssuer => "certificate refused: unknown issuer (its CA is not trusted; add \
                             the CA with --ca-cert or tls.caCerts)"
            .to_owned(),
        C::Expired | C::ExpiredContext { .. } => format!("certificate refused: expired ({err})"),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            format!("certificate refused: not valid yet ({err})")
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            format!("certificate refused: name mismatch ({err})")
        }
        C::BadSignature => "certificate refused: bad signature".to_owned(),
        C::Revoked => "certificate refused: revoked".to_owned(),
        C::BadEncoding => "certificate refused: badly encoded".to_owned(),
        other => format!("certificate refused: {other}"),
    }
}
