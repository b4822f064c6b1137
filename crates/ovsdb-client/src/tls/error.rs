//! What goes wrong with TLS, split by who is at fault: the local files, the peer (a typed
//! [`HandshakeCause`] for a failed handshake) or the network.

use std::fmt;
use std::io;
use std::path::PathBuf;

use rustls::pki_types::ServerName;
use rustls::server::VerifierBuilderError;
use rustls::{AlertDescription, CertificateError, OtherError};

use super::CommonNameMismatch;
#[cfg(doc)]
use super::TlsConfig;

/// Which end of a connection the peer is, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerRole {
    /// The peer is the server; we are the client.
    Server,
    /// The peer is a client; we are the server.
    Client,
}

impl fmt::Display for PeerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerRole::Server => "server",
            PeerRole::Client => "client",
        })
    }
}

/// Why a TLS handshake failed, as far as it can be told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeCause {
    /// The peer's certificate chain does not lead to the configured CA (rustls `UnknownIssuer`):
    /// the peer's certificate comes from another PKI, or the wrong CA file is configured.
    UnknownIssuer,
    /// Host name checking is on ([`TlsConfig::verify_hostname`]) and the server's certificate
    /// is not valid for the name. `ovs-pki` certificates carry no usable host name.
    NameMismatch {
        /// The name that was checked, when rustls reports it.
        expected: Option<String>,
        /// The names the certificate presents, as rustls describes them.
        presented: Vec<String>,
    },
    /// The server's certificate CN differs from [`TlsConfig::expect_common_name`].
    CommonNameMismatch {
        /// The CN that was required.
        expected: String,
        /// The CN the certificate holds, if any.
        presented: Option<String>,
    },
    /// The peer's certificate has expired.
    Expired,
    /// The peer's certificate is not valid yet (or the clocks disagree).
    NotValidYet,
    /// A signature in the peer's certificate chain is invalid. Besides corruption, this is
    /// what a peer certificate from a different CA *with the same name* as the configured one
    /// gets (`ovs-pki init` names its CA after the second it ran in).
    BadSignature,
    /// The peer's certificate was revoked.
    Revoked,
    /// The peer presented no certificate although one is required.
    NoCertificate,
    /// The peer aborted the handshake with a TLS alert; usually it refused our certificate
    /// (`UnknownCA`, `BadCertificate`) or our lack of one (`CertificateRequired`,
    /// `HandshakeFailure`).
    AlertReceived(AlertDescription),
    /// The peer closed the connection during the handshake without saying why (some servers
    /// do this when they refuse a client certificate).
    PeerClosed,
    /// Any other TLS failure, as rustls describes it.
    Other(String),
}

impl HandshakeCause {
    /// Classifies a rustls error.
    pub fn from_rustls(err: &rustls::Error) -> Self {
        match err {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => HandshakeCause::UnknownIssuer,
                CertificateError::NotValidForName => HandshakeCause::NameMismatch {
                    expected: None,
                    presented: Vec::new(),
                },
                CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                } => HandshakeCause::NameMismatch {
                    expected: Some(server_name_text(expected)),
                    presented: presented.clone(),
                },
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    HandshakeCause::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    HandshakeCause::NotValidYet
                }
                CertificateError::BadSignature => HandshakeCause::BadSignature,
                CertificateError::Revoked => HandshakeCause::Revoked,
                CertificateError::Other(OtherError(inner)) => {
                    match inner.downcast_ref::<CommonNameMismatch>() {
                        Some(mismatch) => HandshakeCause::CommonNameMismatch {
                            expected: mismatch.expected.clone(),
                            presented: mismatch.presented.clone(),
                        },
                        None => HandshakeCause::Other(err.to_string()),
                    }
                }
                _ => HandshakeCause::Other(err.to_string()),
            },
            rustls::Error::NoCertificatesPresented => HandshakeCause::NoCertificate,
            rustls::Error::AlertReceived(alert) => HandshakeCause::AlertReceived(*alert),
            _ => HandshakeCause::Other(err.to_string()),
        }
    }

    /// A sentence describing the cause, naming the peer's role.
    fn describe(&self, role: PeerRole) -> String {
        match self {
            HandshakeCause::UnknownIssuer => {
                format!("{role} certificate is not signed by the configured CA (UnknownIssuer)")
            }
            HandshakeCause::NameMismatch {
                expected,
                presented,
            } => format!(
                "{role} certificate is not valid for the name {} (it presents {presented:?}); \
                 Open vSwitch does not check host names, leave verify_hostname off for \
                 ovs-pki certificates",
                expected.as_deref().unwrap_or("requested")
            ),
            HandshakeCause::CommonNameMismatch {
                expected,
                presented,
            } => match presented {
                Some(presented) => format!(
                    "{role} certificate common name is {presented:?}, expected {expected:?}"
                ),
                None => {
                    format!("{role} certificate has no common name, expected {expected:?}")
                }
            },
            HandshakeCause::Expired => format!("{role} certificate has expired"),
            HandshakeCause::NotValidYet => format!("{role} certificate is not valid yet"),
            HandshakeCause::BadSignature => format!(
                "{role} certificate chain has an invalid signature: it was signed by another \
                 key than the configured CA's (a different CA with the same name?) or is \
                 corrupt (BadSignature)"
            ),
            HandshakeCause::Revoked => format!("{role} certificate was revoked"),
            HandshakeCause::NoCertificate => {
                format!("{role} presented no certificate, but one is required")
            }
            HandshakeCause::AlertReceived(alert) => {
                let hint = match alert {
                    AlertDescription::UnknownCA => {
                        ": it does not trust the CA that signed our certificate"
                    }
                    AlertDescription::CertificateRequired => ": it requires a client certificate",
                    AlertDescription::HandshakeFailure => {
                        ": no common parameters, or it requires a client certificate"
                    }
                    AlertDescription::BadCertificate
                    | AlertDescription::UnsupportedCertificate
                    | AlertDescription::CertificateUnknown => ": it refused our certificate",
                    AlertDescription::CertificateExpired => ": our certificate has expired",
                    AlertDescription::ProtocolVersion => {
                        ": no common protocol version (only TLS 1.2 and 1.3 are offered)"
                    }
                    _ => "",
                };
                format!("{role} aborted the handshake with alert {alert:?}{hint}")
            }
            HandshakeCause::PeerClosed => format!(
                "{role} closed the connection during the handshake (it may have refused \
                 our certificate or our lack of one)"
            ),
            HandshakeCause::Other(text) => text.clone(),
        }
    }
}

/// Errors of this module, split by who is at fault: the local files and settings, the peer
/// (handshake), or the network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A key, certificate or CA file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: io::Error,
    },
    /// A file is not valid PEM (bad base64, unterminated section).
    #[error("{} is not valid PEM: {source}", path.display())]
    InvalidPem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser reported.
        #[source]
        source: io::Error,
    },
    /// A certificate or CA file holds no `CERTIFICATE` section.
    #[error("no certificate found in {} (expected a PEM `CERTIFICATE` section)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A private-key file holds no usable private key.
    #[error(
        "no private key found in {} (expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or \
         `EC PRIVATE KEY` section)",
        path.display()
    )]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// A private-key file holds a key rustls cannot use (DSA, encrypted).
    #[error("unsupported private key in {}: {reason}", path.display())]
    UnsupportedKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with the key.
        reason: &'static str,
    },
    /// The private key cannot be loaded or does not match the certificate.
    #[error(
        "private key {} cannot be used with certificate {} (rustls supports RSA, ECDSA and \
         Ed25519 keys; the key must match the first certificate): {source}",
        key.display(),
        cert.display()
    )]
    InvalidKeyPair {
        /// The private-key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },
    /// A certificate of the CA file cannot be used as a trust anchor.
    #[error("invalid CA certificate in {}: {source}", path.display())]
    InvalidCaCert {
        /// The CA file.
        path: PathBuf,
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },
    /// The certificate verifier cannot be built from the CA certificates.
    #[error("cannot build the certificate verifier: {0}")]
    Verifier(#[from] VerifierBuilderError),
    /// rustls refused the configuration (protocol versions, cipher suites).
    #[error("invalid TLS configuration: {0}")]
    Config(#[source] rustls::Error),
    /// The name given for SNI and verification is neither a DNS name nor an IP address.
    #[error("invalid TLS server name {name:?}")]
    InvalidServerName {
        /// The name.
        name: String,
    },
    /// The TLS handshake failed: the peer's certificate was refused, or the peer refused ours.
    #[error("TLS handshake with {role} {peer} failed: {}", cause.describe(*role))]
    Handshake {
        /// Whether the peer is the server or a client.
        role: PeerRole,
        /// The peer's address (or host name when the address is unknown).
        peer: String,
        /// Why, classified.
        cause: HandshakeCause,
        /// The error as the TLS stack reported it; when it comes from rustls,
        /// [`TlsError::rustls_error`] returns it.
        #[source]
        source: io::Error,
    },
    /// A network error outside of TLS.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl TlsError {
    /// Classifies an error from reading or writing an established TLS stream.
    ///
    /// With TLS 1.3 a server checks the client certificate after the client considers the
    /// handshake done, so a refused client certificate shows up as an alert on the first read.
    /// This turns such an error (any error that carries a rustls error) into
    /// [`TlsError::Handshake`], and anything else into [`TlsError::Io`].
    pub fn from_stream_error(role: PeerRole, peer: impl Into<String>, err: io::Error) -> Self {
        match rustls_error_of(&err) {
            Some(tls) => TlsError::Handshake {
                role,
                peer: peer.into(),
                cause: HandshakeCause::from_rustls(tls),
                source: err,
            },
            None => TlsError::Io(err),
        }
    }

    /// Classifies an error returned by a handshake.
    pub(super) fn from_handshake_error(role: PeerRole, peer: String, err: io::Error) -> Self {
        let cause = match rustls_error_of(&err) {
            Some(tls) => HandshakeCause::from_rustls(tls),
            None => match err.kind() {
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe => HandshakeCause::PeerClosed,
                _ => return TlsError::Io(err),
            },
        };
        TlsError::Handshake {
            role,
            peer,
            cause,
            source: err,
        }
    }

    /// The rustls error behind a [`TlsError::Handshake`], if it came from rustls.
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        match self {
            TlsError::Handshake { source, .. } => rustls_error_of(source),
            TlsError::InvalidKeyPair { source, .. } | TlsError::InvalidCaCert { source, .. } => {
                Some(source)
            }
            TlsError::Config(source) => Some(source),
            _ => None,
        }
    }

    /// The classified cause of a [`TlsError::Handshake`].
    pub fn handshake_cause(&self) -> Option<&HandshakeCause> {
        match self {
            TlsError::Handshake { cause, .. } => Some(cause),
            _ => None,
        }
    }
}

/// The rustls error inside an I/O error from tokio-rustls, if any.
fn rustls_error_of(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// A server name as text: the DNS name or the IP address.
fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_owned(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}
