//! A blocking JSON-RPC client over a unix socket that keeps payloads raw, for interop tests
//! that decode the server's bytes themselves (typed rows straight from the wire, for instance).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ovsdb_proto::{FrameCodec, Message, Operation, Payload};
use serde_json::{json, Value};
use tokio_util::codec::Decoder;

/// How long a call waits for its reply before the test fails.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A raw OVSDB client: sends calls, answers the server's `echo`, and keeps notifications that
/// arrive before a reply for later.
#[derive(Debug)]
pub struct RawClient {
    stream: UnixStream,
    codec: FrameCodec,
    buf: BytesMut,
    next_id: u64,
    notifications: VecDeque<(String, Payload)>,
}

impl RawClient {
    /// Connects to the unix socket `path`.
    pub fn connect(path: &Path) -> io::Result<RawClient> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(RawClient {
            stream,
            codec: FrameCodec::new(),
            buf: BytesMut::new(),
            next_id: 1,
            notifications: VecDeque::new(),
        })
    }

    /// Sends `method` with `params` and returns the raw `result`; notifications received on
    /// the way are kept (see [`RawClient::next_notification`]).
    ///
    /// # Panics
    ///
    /// On an error response, an unexpected message, or no reply within [`CALL_TIMEOUT`].
    pub fn call(&mut self, method: &str, params: Value) -> Payload {
        self.call_frame(method, params).1
    }

    /// Like [`RawClient::call`], and also returns the reply's complete message, byte for
    /// byte as the server sent it (benches and examples decode captured replies).
    ///
    /// # Panics
    ///
    /// As [`RawClient::call`].
    pub fn call_frame(&mut self, method: &str, params: Value) -> (Bytes, Payload) {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.stream
            .write_all(msg.to_string().as_bytes())
            .expect("write to ovsdb-server");
        loop {
            let (frame, msg) = self.next_frame();
            match msg {
                Message::Response { id: got, result } if got == json!(id) => {
                    return (frame, result)
                }
                Message::Notification { method, params } => {
                    self.notifications.push_back((method, params))
                }
                other => panic!("{method}: unexpected {other:?}"),
            }
        }
    }

    /// Runs a transaction on `db` and checks that no operation failed.
    ///
    /// # Panics
    ///
    /// When an operation or the commit failed.
    pub fn transact(&mut self, db: &str, ops: &[Operation]) {
        let mut params = vec![json!(db)];
        params.extend(
            ops.iter()
                .map(|op| serde_json::to_value(op).expect("operations serialize")),
        );
        let result = self.call("transact", Value::Array(params));
        let results: Vec<Value> = result.decode("transact reply").expect("a transact reply");
        for r in &results {
            assert!(r.get("error").is_none(), "transaction failed: {results:?}");
        }
    }

    /// Runs a transaction of operations given as JSON (`{"op": "insert", …}`) on `db`, and
    /// checks that no operation failed: for fills that build their operations as text.
    ///
    /// # Panics
    ///
    /// When an operation or the commit failed.
    pub fn transact_json(&mut self, db: &str, ops: &[Value]) {
        let mut params = Vec::with_capacity(ops.len() + 1);
        params.push(json!(db));
        params.extend_from_slice(ops);
        let result = self.call("transact", Value::Array(params));
        let results: Vec<Value> = result.decode("transact reply").expect("a transact reply");
        for r in &results {
            assert!(r.get("error").is_none(), "transaction failed: {results:?}");
        }
    }

    /// The `params` of the next notification called `method` (kept ones first); other
    /// notifications on the way are dropped.
    ///
    /// # Panics
    ///
    /// When none arrives within [`CALL_TIMEOUT`].
    pub fn next_notification(&mut self, method: &str) -> Payload {
        while let Some((m, params)) = self.notifications.pop_front() {
            if m == method {
                return params;
            }
        }
        loop {
            match self.next_frame().1 {
                Message::Notification { method: m, params } if m == method => return params,
                Message::Notification { .. } => {}
                other => panic!("waiting for {method}: unexpected {other:?}"),
            }
        }
    }

    /// Takes the kept notifications called `method`, in arrival order.
    pub fn take_notifications(&mut self, method: &str) -> Vec<Payload> {
        let (mine, rest): (VecDeque<_>, VecDeque<_>) =
            self.notifications.drain(..).partition(|(m, _)| m == method);
        self.notifications = rest;
        mine.into_iter().map(|(_, p)| p).collect()
    }

    /// The next message other than the server's `echo` requests (which it answers), with its
    /// bytes.
    fn next_frame(&mut self) -> (Bytes, Message) {
        let deadline = Instant::now() + CALL_TIMEOUT;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some(frame) = self.codec.decode(&mut self.buf).expect("valid stream") {
                let msg = Message::decode(frame.clone()).expect("valid message");
                if let Message::Request { id, method, params } = &msg {
                    assert_eq!(method, "echo", "unexpected request {msg:?}");
                    let reply = format!(
                        r#"{{"id":{id},"result":{},"error":null}}"#,
                        String::from_utf8_lossy(params.as_bytes())
                    );
                    self.stream
                        .write_all(reply.as_bytes())
                        .expect("write to ovsdb-server");
                    continue;
                }
                return (frame, msg);
            }
            assert!(
                Instant::now() < deadline,
                "nothing from ovsdb-server in {CALL_TIMEOUT:?}"
            );
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("ovsdb-server closed the connection"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}
