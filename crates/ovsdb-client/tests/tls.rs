//! TLS against the real `ovsdb-server`, with certificates made by `ovs-pki` in each test.
//!
//! Every test builds two independent PKIs in a temporary directory (`ovs-pki init`): the
//! "good" one signs the server's and the client's certificates (`req+sign NAME switch`); the
//! "other" one stands for a wrong CA. `ovs-pki` puts `NAME id:<uuid>` in the CN. The server
//! listens on `pssl:0:127.0.0.1` with the OVN northbound schema.
//!
//! The tests need `ovs-pki`, `ovsdb-server` and `ovsdb-tool`; without them they are skipped,
//! or fail when `OVNLINK_REAL_TESTS=1` (see `ovnlink_testkit::server::require_binaries`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ovnlink_testkit::pki::{self, Pki};
use ovnlink_testkit::server::{self, OvsdbServer, OVN_NB_SCHEMA};
use ovsdb_client::tls::{
    peer_common_name, HandshakeCause, PeerRole, TlsConfig, TlsError, TlsServerConfig, TlsStream,
};
use ovsdb_proto::Framer;
use rustls::AlertDescription;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Upper bound for any single network step.
const STEP: Duration = Duration::from_secs(20);

/// The request every test sends, byte for byte.
const LIST_DBS: &[u8] = br#"{"id":0,"method":"list_dbs","params":[]}"#;

fn enabled() -> bool {
    server::require_binaries(&["ovs-pki", "ovsdb-server", "ovsdb-tool"])
        && server::require_files(&[OVN_NB_SCHEMA])
}

/// Runs `ovs-pki` in `dir`; panics with its output when it fails.
fn ovs_pki(dir: &Path, args: &[&str]) {
    pki::ovs_pki(dir, args).expect("ovs-pki");
}

/// The first CN of the certificate in a PEM file, read independently of the code under test.
fn cn_of_pem_file(path: &Path) -> String {
    let pem = fs::read(path).expect("read certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    let cert = pem.parse_x509().expect("X.509");
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .expect("subject has a CN")
        .as_str()
        .expect("CN is a string")
        .to_owned();
    cn
}

/// The subject of the certificate in a PEM file, as text.
fn subject_of_pem_file(path: &Path) -> String {
    let pem = fs::read(path).expect("read certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    let cert = pem.parse_x509().expect("X.509");
    cert.subject().to_string()
}

/// A key and certificate made by `ovs-pki req+sign`.
struct Party {
    key: PathBuf,
    cert: PathBuf,
    cn: String,
}

/// Issues a `switch` certificate for `name` from `pki`, with its CN read back.
fn issue(pki: &Pki, name: &str) -> Party {
    let issued = pki.issue(name).expect("ovs-pki req+sign");
    Party {
        cn: cn_of_pem_file(&issued.cert),
        key: issued.key,
        cert: issued.cert,
    }
}

/// Two PKIs, a server and a client from the good one, a client from the other one, and an
/// `ovsdb-server` listening on `pssl:` with the server's certificate.
struct Fixture {
    good_ca: PathBuf,
    other_ca: PathBuf,
    server: Party,
    client: Party,
    stranger: Party,
    ovsdb: Option<OvsdbServer>,
    port: u16,
    // Last, so that the server stops before the files go.
    _tmp: tempfile::TempDir,
}

impl Fixture {
    /// Makes the PKIs; starts `ovsdb-server` when `with_server`.
    fn new(with_server: bool) -> Fixture {
        Self::with_server_args(with_server, &[])
    }

    /// Like [`new`](Self::new), passing `args` to `ovsdb-server`.
    fn with_server_args(with_server: bool, args: &[&str]) -> Fixture {
        let tmp = ovnlink_testkit::release::tempdir("ovnlink-tls-").expect("tempdir");
        // Two CAs of different subjects (see `Pki::distinct_pair`, and
        // `same_named_ca_is_refused_with_bad_signature` for what the same subject does).
        let (good, other) =
            Pki::distinct_pair(tmp.path(), subject_of_pem_file).expect("ovs-pki init");
        let server = issue(&good, "server");
        let client = issue(&good, "client");
        let stranger = issue(&other, "stranger");
        let mut fixture = Fixture {
            good_ca: good.ca(),
            other_ca: other.ca(),
            server,
            client,
            stranger,
            ovsdb: None,
            port: 0,
            _tmp: tmp,
        };
        if with_server {
            fixture.start_ovsdb(args);
        }
        fixture
    }

    fn start_ovsdb(&mut self, args: &[&str]) {
        let path = |p: &Path| p.to_str().expect("UTF-8 path").to_owned();
        let mut builder = OvsdbServer::builder();
        for arg in args {
            builder = builder.arg(*arg);
        }
        let ovsdb = builder
            .database(OVN_NB_SCHEMA)
            .arg("--remote=pssl:0:127.0.0.1")
            .arg(format!("--private-key={}", path(&self.server.key)))
            .arg(format!("--certificate={}", path(&self.server.cert)))
            .arg(format!("--ca-cert={}", path(&self.good_ca)))
            .start()
            .expect("start ovsdb-server with pssl");
        let deadline = Instant::now() + STEP;
        let port = loop {
            let log = ovsdb.log();
            let port = log.lines().find_map(|line| {
                let (_, port) = line.split_once("127.0.0.1: listening on port ")?;
                port.trim().parse::<u16>().ok()
            });
            if let Some(port) = port {
                break port;
            }
            assert!(
                Instant::now() < deadline,
                "ovsdb-server logged no listening port:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.ovsdb = Some(ovsdb);
        self.port = port;
    }

    fn mutual(&self) -> TlsConfig {
        TlsConfig::from_files(&self.client.key, &self.client.cert, &self.good_ca)
            .expect("client TLS config")
    }

    async fn tcp(&self) -> TcpStream {
        timeout(STEP, TcpStream::connect(("127.0.0.1", self.port)))
            .await
            .expect("TCP connect in time")
            .expect("TCP connect")
    }

    async fn connect(&self, tls: &TlsConfig) -> Result<TlsStream, TlsError> {
        let tcp = self.tcp().await;
        timeout(STEP, tls.connect(tcp, "127.0.0.1"))
            .await
            .expect("handshake in time")
    }
}

/// Sends `list_dbs` and reads one complete JSON message back.
async fn list_dbs<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> io::Result<serde_json::Value> {
    stream.write_all(LIST_DBS).await?;
    stream.flush().await?;
    let mut framer = Framer::new();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(range) = framer
            .scan(&buf)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?
        {
            return serde_json::from_slice(&buf[range])
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a complete reply",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The database names of a `list_dbs` reply, sorted.
fn db_names(reply: &serde_json::Value) -> Vec<String> {
    assert_eq!(reply["id"], 0, "reply: {reply}");
    assert_eq!(reply["error"], serde_json::Value::Null, "reply: {reply}");
    let mut names: Vec<String> = reply["result"]
        .as_array()
        .expect("result is an array")
        .iter()
        .map(|name| name.as_str().expect("name is a string").to_owned())
        .collect();
    names.sort();
    names
}

/// Connects with `tls` and sends `list_dbs`; the error of whichever step fails first, the
/// handshake or the exchange (TLS 1.3 servers refuse client certificates after the client's
/// handshake is done).
async fn connect_and_list(fixture: &Fixture, tls: &TlsConfig) -> Result<Vec<String>, TlsError> {
    let mut stream = fixture.connect(tls).await?;
    let reply = timeout(STEP, list_dbs(&mut stream))
        .await
        .expect("exchange in time")
        .map_err(|err| {
            TlsError::from_stream_error(
                PeerRole::Server,
                format!("127.0.0.1:{}", fixture.port),
                err,
            )
        })?;
    Ok(db_names(&reply))
}

#[tokio::test]
async fn mutual_tls_with_ovsdb_server_lists_databases_and_reports_server_cn() {
    if !enabled() {
        return;
    }
    let fixture = Fixture::new(true);
    println!("server certificate CN: {:?}", fixture.server.cn);
    println!("client certificate CN: {:?}", fixture.client.cn);
    assert!(
        fixture.server.cn.starts_with("server id:"),
        "{}",
        fixture.server.cn
    );

    let mut stream = fixture
        .connect(&fixture.mutual())
        .await
        .expect("handshake with the right CA and a client certificate");
    let version = stream.get_ref().1.protocol_version();
    println!("negotiated {version:?}");
    assert_eq!(peer_common_name(&stream), Some(fixture.server.cn.clone()));

    let reply = timeout(STEP, list_dbs(&mut stream))
        .await
        .expect("reply in time")
        .expect("list_dbs over TLS");
    println!("list_dbs reply: {reply}");
    assert_eq!(db_names(&reply), ["OVN_Northbound", "_Server"]);
}

#[tokio::test]
async fn tls12_only_server_works_and_refuses_a_client_without_certificate() {
    if !enabled() {
        return;
    }
    let fixture = Fixture::with_server_args(true, &["--ssl-protocols=TLSv1.2"]);
    let mut stream = fixture
        .connect(&fixture.mutual())
        .await
        .expect("TLS 1.2 handshake");
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(peer_common_name(&stream), Some(fixture.server.cn.clone()));
    let reply = timeout(STEP, list_dbs(&mut stream))
        .await
        .expect("reply in time")
        .expect("list_dbs over TLS 1.2");
    assert_eq!(db_names(&reply), ["OVN_Northbound", "_Server"]);

    // With TLS 1.2 the server refuses a missing certificate during the handshake itself.
    let anonymous = TlsConfig::without_client_cert(&fixture.good_ca).expect("CA-only config");
    let err = fixture
        .connect(&anonymous)
        .await
        .expect_err("ovsdb-server requires a client certificate");
    println!("TLS 1.2, no client certificate: {err}");
    assert_eq!(
        err.handshake_cause(),
        Some(&HandshakeCause::AlertReceived(
            AlertDescription::HandshakeFailure
        )),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_ca_is_refused_with_unknown_issuer() {
    if !enabled() {
        return;
    }
    let fixture = Fixture::new(true);
    let tls = TlsConfig::from_files(&fixture.client.key, &fixture.client.cert, &fixture.other_ca)
        .expect("client TLS config with the other CA");
    let err = fixture
        .connect(&tls)
        .await
        .expect_err("a server from another PKI must be refused");
    println!("wrong CA: {err}");
    assert!(
        matches!(
            &err,
            TlsError::Handshake {
                role: PeerRole::Server,
                cause: HandshakeCause::UnknownIssuer,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "TLS handshake with server 127.0.0.1:{} failed: server certificate is not signed \
             by the configured CA (UnknownIssuer)",
            fixture.port
        )
    );
    assert_eq!(
        err.rustls_error(),
        Some(&rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    );
}

#[tokio::test]
async fn same_named_ca_is_refused_with_bad_signature() {
    if !enabled() {
        return;
    }
    let fixture = Fixture::new(true);
    // What `ovs-pki --force init` over an existing PKI does: new CA keys under the same
    // names, because it keeps each CA's `ca.cnf`.
    let twin = fixture._tmp.path().join("twin");
    for ca in ["controllerca", "switchca"] {
        let dir = twin.join("pki").join(ca);
        fs::create_dir_all(&dir).expect("create twin CA directory");
        let good_cnf = fixture
            .good_ca
            .parent()
            .expect("CA dir")
            .parent()
            .expect("PKI dir");
        fs::copy(good_cnf.join(ca).join("ca.cnf"), dir.join("ca.cnf")).expect("copy ca.cnf");
    }
    ovs_pki(&twin, &["--dir=pki", "--force", "init"]);
    let twin_ca = twin.join("pki/switchca/cacert.pem");
    assert_eq!(
        subject_of_pem_file(&twin_ca),
        subject_of_pem_file(&fixture.good_ca)
    );
    assert_ne!(fs::read(&twin_ca).ok(), fs::read(&fixture.good_ca).ok());

    let tls = TlsConfig::from_files(&fixture.client.key, &fixture.client.cert, &twin_ca)
        .expect("client TLS config with the twin CA");
    let err = fixture
        .connect(&tls)
        .await
        .expect_err("a server signed by another key must be refused");
    println!("same-named CA: {err}");
    assert_eq!(err.handshake_cause(), Some(&HandshakeCause::BadSignature));
    assert!(err
        .to_string()
        .contains("signed by another key than the configured CA's"));
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_refused_by_ovsdb_server() {
    if !enabled() {
        return;
    }
    let fixture = Fixture::new(true);
    let tls = TlsConfig::from_files(
        &fixture.stranger.key,
        &fixture.stranger.cert,
        &fixture.good_ca,
    )
    .expect("client TLS config with a certificate from the other PKI");
    let err = connect_and_list(&fixture, &tls)
        .await
        .expect_err("ovsdb-server must refuse a client certificate it cannot verify");
    println!("client certificate from another CA: {err}");
    assert_eq!(
        err.handshake_cause(),
        Some(&HandshakeCause::AlertReceived(AlertDescription::UnknownCA)),
        "{err:?}"
    );
}

#[tokio::test]
async fn hostname_verification_fails_on_ovs_pki_certificates_and_default_mode_succeeds() {
    if !enabled() {
        return;
    }
    let fixture = Fixture::new(true);

    let strict = fixture.mutual().verify_hostname(true);
    let err = fixture
        .connect(&strict)
        .await
        .expect_err("a CN-only ovs-pki certificate is not valid for 127.0.0.1");
    println!("verify_hostname(true): {err}");
    match err.handshake_cause() {
        Some(HandshakeCause::NameMismatch { expected, .. }) => {
            assert_eq!(expected.as_deref(), Some("127.0.0.1"));
        }
        other => panic!("expected a name mismatch, got {other:?} ({err})"),
    }

    // Open vSwitch's mode (the default) accepts the same server.
    let names = connect_and_list(&fixture, &fixture.mutual())
        .await
        .expect("default mode skips the host name check");
    assert_eq!(names, ["OVN_Northbound", "_Server"]);

    // Pinning the CN: the right one passes, another one fails.
    let pinned = fixture
        .mutual()
        .expect_common_name(Some(fixture.server.cn.clone()));
    let names = connect_and_list(&fixture, &pinned)
        .await
        .expect("the server's CN is the expected one");
    assert_eq!(names, ["OVN_Northbound", "_Server"]);

    let wrong = fixture
        .mutual()
        .expect_common_name(Some("ovn-central".to_owned()));
    let err = fixture
        .connect(&wrong)
        .await
        .expect_err("another CN is refused");
    println!("expect_common_name(\"ovn-central\"): {err}");
    assert_eq!(
        err.handshake_cause(),
        Some(&HandshakeCause::CommonNameMismatch {
            expected: "ovn-central".to_owned(),
            presented: Some(fixture.server.cn.clone()),
        })
    );

    // An SNI override changes the name that is checked.
    let renamed = fixture
        .mutual()
        .verify_hostname(true)
        .server_name(Some("ovn-central.example".to_owned()));
    let err = fixture
        .connect(&renamed)
        .await
        .expect_err("still not valid for that name");
    match err.handshake_cause() {
        Some(HandshakeCause::NameMismatch { expected, .. }) => {
            assert_eq!(expected.as_deref(), Some("ovn-central.example"));
        }
        other => panic!("expected a name mismatch, got {other:?} ({err})"),
    }
}

#[tokio::test]
async fn client_without_certificate_is_refused_by_ovsdb_server() {
    if !enabled() {
        return;
    }
    let fixture = Fixture::new(true);
    let tls = TlsConfig::without_client_cert(&fixture.good_ca).expect("CA-only config");
    assert!(!tls.has_client_cert());
    let err = connect_and_list(&fixture, &tls)
        .await
        .expect_err("ovsdb-server requires a client certificate");
    println!("no client certificate: {err}");
    assert_eq!(
        err.handshake_cause(),
        Some(&HandshakeCause::AlertReceived(
            AlertDescription::CertificateRequired
        )),
        "{err:?}"
    );
}

#[tokio::test]
async fn in_process_server_accepts_our_client_and_reports_its_cn() {
    if !enabled() {
        return;
    }
    let fixture = Fixture::new(false);
    let server_tls =
        TlsServerConfig::from_files(&fixture.server.key, &fixture.server.cert, &fixture.good_ca)
            .expect("server TLS config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");

    // The server answers one list_dbs per connection and reports the client's CN.
    let server = tokio::spawn(async move {
        let mut results = Vec::new();
        for _ in 0..3 {
            let (tcp, _) = listener.accept().await.expect("accept");
            let result = match server_tls.accept(tcp).await {
                Ok(mut stream) => {
                    let cn = peer_common_name(&stream);
                    let mut framer = Framer::new();
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while framer.scan(&buf).expect("framing").is_none() {
                        let n = stream.read(&mut chunk).await.expect("read request");
                        assert_ne!(n, 0, "client closed before its request");
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    stream
                        .write_all(
                            br#"{"id":0,"result":["OVN_Northbound","_Server"],"error":null}"#,
                        )
                        .await
                        .expect("write reply");
                    stream.shutdown().await.expect("close_notify");
                    Ok(cn)
                }
                Err(err) => Err(err),
            };
            results.push(result);
        }
        results
    });

    let tcp = || async { TcpStream::connect(addr).await.expect("connect") };

    // 1. Our client with its certificate.
    let tls = fixture.mutual();
    let mut stream = timeout(STEP, tls.connect(tcp().await, "127.0.0.1"))
        .await
        .expect("in time")
        .expect("handshake with the in-process server");
    assert_eq!(peer_common_name(&stream), Some(fixture.server.cn.clone()));
    let reply = timeout(STEP, list_dbs(&mut stream))
        .await
        .expect("in time")
        .expect("reply");
    assert_eq!(db_names(&reply), ["OVN_Northbound", "_Server"]);

    // 2. No client certificate; 3. a certificate from the other PKI. Both fail on the
    //    server; the client notices on its first read at the latest.
    let anonymous = TlsConfig::without_client_cert(&fixture.good_ca).expect("CA-only config");
    let stranger = TlsConfig::from_files(
        &fixture.stranger.key,
        &fixture.stranger.cert,
        &fixture.good_ca,
    )
    .expect("stranger config");
    for config in [&anonymous, &stranger] {
        let outcome = match timeout(STEP, config.connect(tcp().await, "127.0.0.1"))
            .await
            .expect("in time")
        {
            Ok(mut stream) => timeout(STEP, list_dbs(&mut stream))
                .await
                .expect("in time")
                .map(|_| ())
                .map_err(|err| {
                    TlsError::from_stream_error(PeerRole::Server, addr.to_string(), err)
                }),
            Err(err) => Err(err),
        };
        let err = outcome.expect_err("the in-process server refuses this client");
        println!("client side: {err}");
        assert!(matches!(err, TlsError::Handshake { .. }), "{err:?}");
    }

    let results = timeout(STEP, server)
        .await
        .expect("in time")
        .expect("server task");
    let [ours, anonymous, stranger] = <[_; 3]>::try_from(results).expect("three connections");
    let ours = ours.expect("our client is accepted");
    println!("in-process server saw client CN {ours:?}");
    assert_eq!(ours, Some(fixture.client.cn.clone()));

    let anonymous = anonymous.expect_err("a client without certificate is refused");
    println!("server side, no certificate: {anonymous}");
    assert!(
        matches!(
            &anonymous,
            TlsError::Handshake {
                role: PeerRole::Client,
                cause: HandshakeCause::NoCertificate,
                ..
            }
        ),
        "{anonymous:?}"
    );
    assert!(anonymous
        .to_string()
        .ends_with("failed: client presented no certificate, but one is required"));

    let stranger = stranger.expect_err("a client from another PKI is refused");
    println!("server side, other PKI: {stranger}");
    assert_eq!(
        stranger.handshake_cause(),
        Some(&HandshakeCause::UnknownIssuer)
    );
    assert!(stranger.to_string().ends_with(
        "failed: client certificate is not signed by the configured CA (UnknownIssuer)"
    ));
}

#[test]
fn ovs_pki_files_load_and_mismatched_key_is_refused() {
    if !server::require_binaries(&["ovs-pki"]) {
        return;
    }
    let fixture = Fixture::new(false);
    // A CA bundle with both CAs loads, and so does the reload of a config.
    let bundle = fixture._tmp.path().join("bundle.pem");
    let mut both = fs::read(&fixture.good_ca).expect("read CA");
    both.extend(fs::read(&fixture.other_ca).expect("read other CA"));
    fs::write(&bundle, both).expect("write bundle");
    let tls = TlsConfig::from_files(&fixture.client.key, &fixture.client.cert, &bundle)
        .expect("CA bundle with two certificates");
    assert!(tls.has_client_cert());
    tls.reload().expect("reload");

    // The key of one party with the certificate of another.
    let err = TlsConfig::from_files(&fixture.server.key, &fixture.client.cert, &fixture.good_ca)
        .expect_err("key does not match certificate");
    println!("mismatched key: {err}");
    assert!(matches!(err, TlsError::InvalidKeyPair { .. }), "{err:?}");

    // A key file given as the certificate.
    let err = TlsConfig::from_files(&fixture.client.key, &fixture.client.key, &fixture.good_ca)
        .expect_err("no certificate in a key file");
    assert!(
        matches!(&err, TlsError::NoCertificate { path } if *path == fixture.client.key),
        "{err:?}"
    );

    // A certificate given as the key.
    let err = TlsConfig::from_files(&fixture.client.cert, &fixture.client.cert, &fixture.good_ca)
        .expect_err("no key in a certificate file");
    assert_eq!(
        err.to_string(),
        format!(
            "no private key found in {} (expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or \
             `EC PRIVATE KEY` section)",
            fixture.client.cert.display()
        )
    );
}

/// The full client over an `ssl:` remote: connects with the right CA, monitors and writes;
/// with the wrong CA it never connects and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_over_ssl_remote() {
    if !enabled() {
        return;
    }
    use ovsdb_client::{Client, ClientConfig, MonitorSpec};
    let fixture = Fixture::new(true);
    let remote = format!("ssl:127.0.0.1:{}", fixture.port);
    let config = ClientConfig::new(&remote)
        .expect("remote")
        .tls(fixture.mutual());
    let client = Client::connect(config, STEP)
        .await
        .expect("connect over TLS");
    let cache = client
        .monitor("OVN_Northbound", MonitorSpec::tables(["Logical_Switch"]))
        .await
        .expect("monitor");
    let op = ovsdb_proto::Operation::Insert {
        table: "Logical_Switch".into(),
        row: ovsdb_proto::Row::new().with("name", ovsdb_proto::Atom::from("tls0")),
        uuid_name: None,
        uuid: None,
    };
    client
        .transact_checked("OVN_Northbound", vec![op])
        .await
        .expect("transact");
    assert_eq!(cache.read().len("Logical_Switch"), 1);
    client.shutdown();

    let wrong = TlsConfig::from_files(&fixture.client.key, &fixture.client.cert, &fixture.other_ca)
        .expect("config");
    let config = ClientConfig::new(&remote).expect("remote").tls(wrong);
    let err = Client::connect(config, Duration::from_secs(2))
        .await
        .expect_err("wrong CA must not connect");
    assert!(
        matches!(err, ovsdb_client::ClientError::Timeout(_)),
        "{err}"
    );
    assert!(
        err.to_string().contains("not signed by the configured CA"),
        "{err}"
    );
    // An ssl: remote without TLS settings is a usage error, reported on every attempt.
    let config = ClientConfig::new(&remote).expect("remote");
    assert!(Client::connect(config, Duration::from_millis(500))
        .await
        .is_err());
}
