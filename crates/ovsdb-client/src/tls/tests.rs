//! Unit tests of the TLS set-up: loading keys and certificates, and the errors that name what
//! is wrong.

use rustls::AlertDescription;

use super::*;

fn temp_file(dir: &tempfile::TempDir, name: &str, contents: &str) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, contents).expect("write test file");
    path
}

#[test]
fn missing_file_error_names_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-cacert.pem");
    let err = TlsConfig::without_client_cert(&missing).expect_err("missing file");
    assert!(matches!(&err, TlsError::ReadFile { path, .. } if *path == missing));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot read {}: ", missing.display())),
        "{text}"
    );
}

#[test]
fn file_without_key_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = temp_file(&dir, "privkey.pem", "not a key at all\n");
    let err = read_private_key(&key).expect_err("no key");
    assert!(matches!(&err, TlsError::NoPrivateKey { path } if *path == key));
    assert_eq!(
        err.to_string(),
        format!(
            "no private key found in {} (expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` \
                 or `EC PRIVATE KEY` section)",
            key.display()
        )
    );
}

#[test]
fn file_without_certificate_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = temp_file(&dir, "cacert.pem", "");
    let err = TlsConfig::without_client_cert(&ca).expect_err("no certificate");
    assert_eq!(
        err.to_string(),
        format!(
            "no certificate found in {} (expected a PEM `CERTIFICATE` section)",
            ca.display()
        )
    );
}

#[test]
fn missing_key_file_is_reported_before_anything_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("absent-privkey.pem");
    let cert = temp_file(&dir, "cert.pem", "");
    let ca = temp_file(&dir, "cacert.pem", "");
    // The certificate file is read first: it is empty.
    let err = TlsConfig::from_files(&key, &cert, &ca).expect_err("empty cert");
    assert!(matches!(&err, TlsError::NoCertificate { path } if *path == cert));
    let err = read_private_key(&key).expect_err("absent key");
    assert!(matches!(&err, TlsError::ReadFile { path, .. } if *path == key));
}

#[test]
fn dsa_key_is_unsupported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = temp_file(
        &dir,
        "dsa-privkey.pem",
        "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n",
    );
    let err = read_private_key(&key).expect_err("DSA");
    assert!(matches!(&err, TlsError::UnsupportedKey { path, .. } if *path == key));
    assert!(err
        .to_string()
        .contains("DSA keys are not supported by rustls"));
}

#[test]
fn malformed_pem_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = temp_file(
        &dir,
        "cert.pem",
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    );
    let err = read_certificates(&cert).expect_err("bad base64");
    assert!(matches!(&err, TlsError::InvalidPem { path, .. } if *path == cert));
}

#[test]
fn garbage_ca_certificate_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Valid PEM whose contents are not a certificate.
    let ca = temp_file(
        &dir,
        "cacert.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let err = TlsConfig::without_client_cert(&ca).expect_err("garbage CA");
    assert!(matches!(&err, TlsError::InvalidCaCert { path, .. } if *path == ca));
}

#[test]
fn handshake_causes_are_classified_and_described() {
    let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
    let err = TlsError::from_stream_error(
        PeerRole::Server,
        "127.0.0.1:6641",
        io::Error::new(io::ErrorKind::InvalidData, unknown.clone()),
    );
    assert_eq!(err.handshake_cause(), Some(&HandshakeCause::UnknownIssuer));
    assert_eq!(err.rustls_error(), Some(&unknown));
    assert_eq!(
        err.to_string(),
        "TLS handshake with server 127.0.0.1:6641 failed: server certificate is not \
             signed by the configured CA (UnknownIssuer)"
    );

    let alert = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
    let err = TlsError::from_stream_error(
        PeerRole::Server,
        "127.0.0.1:6641",
        io::Error::new(io::ErrorKind::InvalidData, alert),
    );
    assert_eq!(
        err.to_string(),
        "TLS handshake with server 127.0.0.1:6641 failed: server aborted the handshake \
             with alert CertificateRequired: it requires a client certificate"
    );

    let mismatch = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
        Arc::new(CommonNameMismatch {
            expected: "ovnnb".to_owned(),
            presented: Some("other".to_owned()),
        }),
    )));
    assert_eq!(
        HandshakeCause::from_rustls(&mismatch),
        HandshakeCause::CommonNameMismatch {
            expected: "ovnnb".to_owned(),
            presented: Some("other".to_owned()),
        }
    );

    let plain = TlsError::from_stream_error(
        PeerRole::Client,
        "127.0.0.1:1",
        io::Error::from(io::ErrorKind::ConnectionReset),
    );
    assert!(matches!(plain, TlsError::Io(_)));
    let closed = TlsError::from_handshake_error(
        PeerRole::Client,
        "127.0.0.1:1".to_owned(),
        io::Error::from(io::ErrorKind::UnexpectedEof),
    );
    assert_eq!(closed.handshake_cause(), Some(&HandshakeCause::PeerClosed));
}

#[test]
fn error_stays_small() {
    assert!(std::mem::size_of::<TlsError>() <= 112);
}
