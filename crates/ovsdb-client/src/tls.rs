//! TLS for OVSDB remotes (`ssl:` and `pssl:`), verified the way Open vSwitch does it.
//!
//! Open vSwitch deployments authenticate both ends with certificates made by `ovs-pki`: each
//! side has a private key, a certificate signed by a CA, and the CA certificate it trusts
//! (`--private-key`, `--certificate`, `--ca-cert`). Neither the C library (`lib/stream-ssl.c`)
//! nor python-ovs compares the server's host name with its certificate: the peer's chain is
//! checked against the CA and nothing more, and `ovs-pki` issues certificates whose identity
//! is the Common Name (CN). The server takes the client certificate's CN as the client's
//! identity for OVN's role-based access control.
//!
//! This module reproduces that with rustls:
//!
//! - [`TlsConfig`]: the client side. By default the server's chain is verified against the CA
//!   and the host name is not checked (Open vSwitch's mode); [`TlsConfig::verify_hostname`]
//!   turns standard name checking on, [`TlsConfig::expect_common_name`] pins the server's CN,
//!   [`TlsConfig::server_name`] overrides the name sent in SNI (like `--ssl-server-name`).
//! - [`TlsServerConfig`]: the server side (tests, embedded servers). It requires a client
//!   certificate signed by the CA.
//! - [`peer_common_name`]: the CN of the peer's end-entity certificate, on either side.
//! - [`TlsError`]: what went wrong, split by who is at fault: the local files
//!   ([`TlsError::ReadFile`], [`TlsError::NoCertificate`], ...), the peer
//!   ([`TlsError::Handshake`], with a typed [`HandshakeCause`]), or the network
//!   ([`TlsError::Io`]).
//!
//! Only TLS 1.2 and 1.3 are offered, as Open vSwitch allows by default (`TLSv1.2+`); session
//! resumption is off, as Open vSwitch disables session tickets.
//!
//! # What rustls does not support
//!
//! - **DSA keys** (`ovs-pki --key=dsa`): rustls signs with RSA, ECDSA and Ed25519 keys only.
//!   Reissue such certificates with RSA keys (`ovs-pki`'s default) or ECDSA keys. A PEM file
//!   holding a DSA key is reported as [`TlsError::UnsupportedKey`].
//! - **Encrypted private keys** (`ENCRYPTED PRIVATE KEY`): decrypt them first.
//! - **No verification** (`--ca-cert=none`) and the **bootstrap CA** (`--bootstrap-ca-cert`,
//!   trust on first use) are not offered: a CA certificate is always required.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//! use ovsdb_client::tls::{peer_common_name, TlsConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = TlsConfig::from_files(
//!     Path::new("/etc/ovn/ovnnb-privkey.pem"),
//!     Path::new("/etc/ovn/ovnnb-cert.pem"),
//!     Path::new("/etc/ovn/cacert.pem"),
//! )?;
//! let tcp = tokio::net::TcpStream::connect("127.0.0.1:6641").await?;
//! let stream = tls.connect(tcp, "127.0.0.1").await?;
//! println!("connected to {:?}", peer_common_name(&stream));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, ServerConfig,
    SignatureScheme,
};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

mod error;

pub use error::{HandshakeCause, PeerRole, TlsError};

/// A client-side TLS connection over TCP, as returned by [`TlsConfig::connect`].
pub type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// A server-side TLS connection over TCP, as returned by [`TlsServerConfig::accept`].
pub type ServerTlsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// The TLS protocol versions offered: 1.3 and 1.2, as Open vSwitch's `TLSv1.2+` default.
static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The private key, certificate chain and file names of one side.
#[derive(Debug, Clone)]
struct Identity {
    key: Arc<CertifiedKey>,
    key_path: PathBuf,
    cert_path: PathBuf,
}

impl Identity {
    fn load(
        provider: &CryptoProvider,
        key_path: &Path,
        cert_path: &Path,
    ) -> Result<Self, TlsError> {
        let chain = read_certificates(cert_path)?;
        let key = read_private_key(key_path)?;
        let key = CertifiedKey::from_der(chain, key, provider).map_err(|source| {
            TlsError::InvalidKeyPair {
                key: key_path.to_path_buf(),
                cert: cert_path.to_path_buf(),
                source,
            }
        })?;
        Ok(Identity {
            key: Arc::new(key),
            key_path: key_path.to_path_buf(),
            cert_path: cert_path.to_path_buf(),
        })
    }
}

/// Client-side TLS settings for connecting to an `ssl:` remote.
///
/// Built from the PEM files `ovs-pki` produces ([`from_files`](Self::from_files)), or from a
/// CA certificate alone when the server does not ask for a client certificate
/// ([`without_client_cert`](Self::without_client_cert)). The options follow the builder
/// pattern:
///
/// ```no_run
/// # use std::path::Path;
/// # use ovsdb_client::tls::TlsConfig;
/// # fn demo() -> Result<(), ovsdb_client::tls::TlsError> {
/// let tls = TlsConfig::without_client_cert(Path::new("cacert.pem"))?
///     .expect_common_name(Some("ovnnb".to_owned()))
///     .server_name(Some("ovn-central".to_owned()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TlsConfig {
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
    ca_path: PathBuf,
    identity: Option<Identity>,
    verify_hostname: bool,
    expect_common_name: Option<String>,
    server_name: Option<String>,
}

impl TlsConfig {
    /// Mutual TLS: our private key and certificate, and the CA that signed the server's
    /// certificate, as PEM files (`--private-key`, `--certificate`, `--ca-cert`).
    ///
    /// The private key may be PKCS#1 (`RSA PRIVATE KEY`), PKCS#8 (`PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`), RSA, ECDSA or Ed25519; DSA keys are not supported by rustls. The
    /// certificate file may hold a chain (end-entity first), the CA file several
    /// certificates (all are trusted).
    ///
    /// # Errors
    ///
    /// A file that cannot be read or holds no key or certificate, a key that rustls cannot
    /// use or that does not match the certificate, an unusable CA certificate.
    pub fn from_files(
        private_key: &Path,
        certificate: &Path,
        ca_cert: &Path,
    ) -> Result<TlsConfig, TlsError> {
        let provider = default_provider();
        let identity = Identity::load(&provider, private_key, certificate)?;
        let mut config = Self::without_client_cert(ca_cert)?;
        config.identity = Some(identity);
        Ok(config)
    }

    /// Server authentication only: the CA that signed the server's certificate. Servers
    /// configured as Open vSwitch does by default refuse clients without a certificate.
    ///
    /// # Errors
    ///
    /// A CA file that cannot be read, holds no certificate or an unusable one.
    pub fn without_client_cert(ca_cert: &Path) -> Result<TlsConfig, TlsError> {
        Ok(TlsConfig {
            provider: default_provider(),
            roots: Arc::new(read_roots(ca_cert)?),
            ca_path: ca_cert.to_path_buf(),
            identity: None,
            verify_hostname: false,
            expect_common_name: None,
            server_name: None,
        })
    }

    /// Whether the server's certificate must be valid for the host name (subject alternative
    /// names, as in HTTPS). Off by default, as in Open vSwitch: the chain is checked against
    /// the CA, and a certificate whose names do not fit is accepted. Unknown issuers, expired
    /// certificates and bad signatures are refused either way.
    #[must_use]
    pub fn verify_hostname(mut self, verify: bool) -> Self {
        self.verify_hostname = verify;
        self
    }

    /// When `Some`, the server's certificate must carry exactly this Common Name (the first
    /// CN of its subject), in addition to being signed by the CA.
    #[must_use]
    pub fn expect_common_name(mut self, common_name: Option<String>) -> Self {
        self.expect_common_name = common_name;
        self
    }

    /// The name sent in SNI and checked by [`verify_hostname`](Self::verify_hostname),
    /// instead of the `host` given to [`connect`](Self::connect) (Open vSwitch's
    /// `--ssl-server-name`).
    #[must_use]
    pub fn server_name(mut self, name: Option<String>) -> Self {
        self.server_name = name;
        self
    }

    /// Whether a client certificate is configured.
    pub fn has_client_cert(&self) -> bool {
        self.identity.is_some()
    }

    /// Reads the key, certificate and CA files again, keeping the options: call it before a
    /// reconnect to pick up rotated certificates.
    ///
    /// # Errors
    ///
    /// As [`from_files`](Self::from_files).
    pub fn reload(&self) -> Result<TlsConfig, TlsError> {
        let mut fresh = Self::without_client_cert(&self.ca_path)?;
        if let Some(identity) = &self.identity {
            fresh.identity = Some(Identity::load(
                &fresh.provider,
                &identity.key_path,
                &identity.cert_path,
            )?);
        }
        fresh.verify_hostname = self.verify_hostname;
        fresh.expect_common_name = self.expect_common_name.clone();
        fresh.server_name = self.server_name.clone();
        Ok(fresh)
    }

    /// The rustls client configuration these settings describe, for use with another
    /// transport.
    ///
    /// # Errors
    ///
    /// [`TlsError::Verifier`] or [`TlsError::Config`] if rustls refuses the settings, which
    /// does not happen with the built-in provider.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let inner = WebPkiServerVerifier::builder_with_provider(
            Arc::clone(&self.roots),
            Arc::clone(&self.provider),
        )
        .build()?;
        let verifier = Arc::new(OvsServerVerifier {
            inner,
            verify_hostname: self.verify_hostname,
            expect_common_name: self.expect_common_name.clone(),
        });
        let builder = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(PROTOCOL_VERSIONS)
            .map_err(TlsError::Config)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &self.identity {
            Some(identity) => builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
                Arc::clone(&identity.key),
            ))),
            None => builder.with_no_client_auth(),
        };
        config.resumption = Resumption::disabled();
        Ok(Arc::new(config))
    }

    /// Runs the TLS handshake over `stream`, a TCP connection to the server `host`.
    ///
    /// `host` (or the [`server_name`](Self::server_name) override) is sent in SNI unless it
    /// is an IP address, and checked against the certificate only with
    /// [`verify_hostname`](Self::verify_hostname). Brackets around an IPv6 address
    /// (`[::1]`) are removed.
    ///
    /// With TLS 1.3 the server checks our certificate after this returns, so a server that
    /// refuses it is only noticed on the first read; [`TlsError::from_stream_error`]
    /// classifies that error.
    ///
    /// # Errors
    ///
    /// [`TlsError::InvalidServerName`] for a name that is neither a DNS name nor an IP
    /// address, [`TlsError::Handshake`] when the server's certificate is refused or the
    /// server refuses us, [`TlsError::Io`] for network errors.
    pub async fn connect(&self, stream: TcpStream, host: &str) -> Result<TlsStream, TlsError> {
        let name = self
            .server_name
            .as_deref()
            .unwrap_or(host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let server_name =
            ServerName::try_from(name.to_owned()).map_err(|_| TlsError::InvalidServerName {
                name: name.to_owned(),
            })?;
        let peer = stream
            .peer_addr()
            .map_or_else(|_| host.to_owned(), |addr| addr.to_string());
        let connector = TlsConnector::from(self.client_config()?);
        tracing::debug!(%peer, server_name = name, "starting TLS handshake");
        connector
            .connect(server_name, stream)
            .await
            .map_err(|err| TlsError::from_handshake_error(PeerRole::Server, peer, err))
    }
}

/// Server-side TLS settings: our key and certificate, and the CA that must have signed every
/// client's certificate (Open vSwitch's `pssl:` with `--ca-cert`).
#[derive(Clone)]
pub struct TlsServerConfig {
    acceptor: TlsAcceptor,
    config: Arc<ServerConfig>,
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// Loads our private key and certificate (chain) and the CA bundle that client
    /// certificates must chain to; clients without a certificate are refused.
    ///
    /// # Errors
    ///
    /// As [`TlsConfig::from_files`].
    pub fn from_files(
        private_key: &Path,
        certificate: &Path,
        ca_cert: &Path,
    ) -> Result<TlsServerConfig, TlsError> {
        let provider = default_provider();
        let identity = Identity::load(&provider, private_key, certificate)?;
        let roots = Arc::new(read_roots(ca_cert)?);
        let verifier =
            WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(&provider)).build()?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(PROTOCOL_VERSIONS)
            .map_err(TlsError::Config)?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(identity.key)));
        // Open vSwitch disables session tickets.
        config.send_tls13_tickets = 0;
        let config = Arc::new(config);
        Ok(TlsServerConfig {
            acceptor: TlsAcceptor::from(Arc::clone(&config)),
            config,
        })
    }

    /// The rustls server configuration, for use with another transport.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    /// Runs the server side of the TLS handshake over an accepted TCP connection. The
    /// client's identity is then [`peer_common_name`] of the returned stream.
    ///
    /// # Errors
    ///
    /// [`TlsError::Handshake`] when the client presents no certificate or one not signed by
    /// the CA, or refuses ours; [`TlsError::Io`] for network errors.
    pub async fn accept(&self, stream: TcpStream) -> Result<ServerTlsStream, TlsError> {
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "(unknown address)".to_owned(), |addr| addr.to_string());
        self.acceptor
            .accept(stream)
            .await
            .map_err(|err| TlsError::from_handshake_error(PeerRole::Client, peer, err))
    }
}

mod sealed {
    /// Keeps [`super::PeerCertificates`] implemented by this module's stream types only.
    pub trait Sealed {}
}

/// A TLS stream whose peer certificates can be read: [`TlsStream`] and [`ServerTlsStream`].
pub trait PeerCertificates: sealed::Sealed {
    /// The certificates the peer presented, end-entity first; `None` before the handshake or
    /// when the peer presented none.
    fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]>;
}

impl sealed::Sealed for TlsStream {}

impl PeerCertificates for TlsStream {
    fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.get_ref().1.peer_certificates()
    }
}

impl sealed::Sealed for ServerTlsStream {}

impl PeerCertificates for ServerTlsStream {
    fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.get_ref().1.peer_certificates()
    }
}

/// The Common Name of the peer's end-entity certificate: the server's CN on a [`TlsStream`];
/// on a [`ServerTlsStream`] the client's CN, which Open vSwitch takes as the client's
/// identity for role-based access control.
///
/// `None` when the peer presented no certificate or its subject has no CN (or one that is
/// not a string). With several CNs, the first is returned, as Open vSwitch does.
pub fn peer_common_name<S: PeerCertificates + ?Sized>(stream: &S) -> Option<String> {
    stream
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|cert| common_name(cert))
}

/// The first Common Name of a DER certificate's subject.
fn common_name(cert: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

/// The server certificate CN did not match [`TlsConfig::expect_common_name`]; travels inside
/// rustls as `CertificateError::Other`.
#[derive(Debug)]
struct CommonNameMismatch {
    expected: String,
    presented: Option<String>,
}

impl fmt::Display for CommonNameMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate common name {:?} differs from the expected {:?}",
            self.presented, self.expected
        )
    }
}

impl std::error::Error for CommonNameMismatch {}

/// Verifies a server certificate as Open vSwitch does: the chain must lead to the CA (full
/// webpki checks: issuer, validity period, signatures, key usage); a name mismatch is ignored
/// unless host name checking is on; an expected CN is compared last.
#[derive(Debug)]
struct OvsServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verify_hostname: bool,
    expect_common_name: Option<String>,
}

impl ServerCertVerifier for OvsServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // WebPkiServerVerifier checks the name last, after the chain, so a name error means
        // everything else passed.
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(_) => {}
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.verify_hostname => {
                tracing::trace!(
                    "server certificate not valid for the name; accepted as Open vSwitch does"
                );
            }
            Err(err) => return Err(err),
        }
        if let Some(expected) = &self.expect_common_name {
            let presented = common_name(end_entity);
            if presented.as_deref() != Some(expected.as_str()) {
                return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                    OtherError(Arc::new(CommonNameMismatch {
                        expected: expected.clone(),
                        presented,
                    })),
                )));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The ring provider, named explicitly so that no process-wide default is needed.
fn default_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Every `CERTIFICATE` section of a PEM file, in order; at least one.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, io::Error>>()
        .map_err(|source| TlsError::InvalidPem {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first PKCS#1, PKCS#8 or SEC1 private key of a PEM file.
fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file(path)?;
    let key = rustls_pemfile::private_key(&mut pem.as_slice()).map_err(|source| {
        TlsError::InvalidPem {
            path: path.to_path_buf(),
            source,
        }
    })?;
    if let Some(key) = key {
        return Ok(key);
    }
    let text = String::from_utf8_lossy(&pem);
    let unsupported = if text.contains("-----BEGIN DSA PRIVATE KEY-----") {
        Some(
            "DSA keys are not supported by rustls; issue an RSA key (ovs-pki's default, \
             `--key=rsa`) or an ECDSA key",
        )
    } else if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        Some("encrypted private keys are not supported; decrypt it first (openssl pkey)")
    } else {
        None
    };
    Err(match unsupported {
        Some(reason) => TlsError::UnsupportedKey {
            path: path.to_path_buf(),
            reason,
        },
        None => TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        },
    })
}

/// A trust store holding every certificate of a CA file.
fn read_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certificates(path)? {
        roots.add(cert).map_err(|source| TlsError::InvalidCaCert {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests;
