//! The connection state machine: request ids, pending calls, echo and inactivity probes.
//!
//! [`Connection`] is driven by its owner. Methods come in four groups, in this order:
//! getters; `handle_*` for input (bytes read, time passing); commands that queue work
//! ([`Connection::call`], [`Connection::notify`]); and `poll_*` for output (bytes to write,
//! events, the next deadline). It never reads a clock: every `now` is passed in.
//!
//! Probing follows Open vSwitch's `reconnect` state machine: after `probe_interval` without
//! receiving anything, send an `echo`; if still nothing arrives within another
//! `probe_interval`, the connection is dead ([`Event::ProbeTimeout`]). Any byte received
//! counts as life, so a large reply that takes long to arrive never trips the probe.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::framing::Framer;
use crate::message::{Call, Message, Method, Payload, Reply};
use crate::operation::OvsdbError;

/// Open vSwitch's default inactivity probe interval (`lib/reconnect.h`): 5 s.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(5000);

/// Shortest probe interval; shorter ones are raised to it, as in Open vSwitch.
pub const MIN_PROBE_INTERVAL: Duration = Duration::from_millis(1000);

/// Input buffer capacity kept between messages; a larger one is released once empty.
const RETAINED_INPUT: usize = 1 << 20;

/// The id of the probes this state machine sends (as `ovsdb-server` and the C IDL do).
const PROBE_ID: &str = "echo";

/// Settings of a [`Connection`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// Largest message accepted, in bytes (see [`crate::DEFAULT_MAX_MESSAGE_LEN`]).
    pub max_message_len: usize,
    /// Inactivity probe interval; `None` disables probing. Values under one second are
    /// raised to one second.
    pub probe_interval: Option<Duration>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_message_len: crate::framing::DEFAULT_MAX_MESSAGE_LEN,
            probe_interval: Some(DEFAULT_PROBE_INTERVAL),
        }
    }
}

impl ConnectionConfig {
    /// Sets the probe interval (`None` disables probing).
    pub fn probe_interval(mut self, interval: Option<Duration>) -> Self {
        self.probe_interval = interval.map(|i| i.max(MIN_PROBE_INTERVAL));
        self
    }

    /// Sets the largest message accepted.
    pub fn max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }
}

/// Identifies a request sent with [`Connection::call`].
pub type RequestId = u64;

/// Why a call did not produce a [`Reply`].
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError {
    /// The server answered with a JSON-RPC error (data, not a library failure).
    Server(OvsdbError),
    /// The server's result did not decode as the method's reply.
    Malformed(Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Server(e) => write!(f, "server error: {e}"),
            CallError::Malformed(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CallError {}

/// Something the owner of a [`Connection`] must know about.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The response to a call.
    Reply {
        /// The id [`Connection::call`] returned.
        id: RequestId,
        /// The method called.
        method: Method,
        /// The typed reply, or why there is none.
        result: std::result::Result<Reply, CallError>,
    },
    /// A notification from the server (`update`, `update2`, `update3`, `locked`, `stolen`,
    /// `monitor_canceled`, …).
    Notification(Call),
    /// A request from the server other than `echo` (which is answered automatically); answer
    /// it with [`Connection::respond`].
    Request {
        /// The server's request id.
        id: Value,
        /// What it asks.
        call: Call,
    },
    /// A well-framed message that could not be understood (bad JSON, unknown method, reply
    /// to no pending request). The stream stays usable.
    Malformed(Error),
    /// Nothing arrived within two probe intervals: the peer is gone and the connection
    /// should be closed.
    ProbeTimeout,
}

/// The sans-IO OVSDB connection state machine.
#[derive(Debug)]
pub struct Connection {
    config: ConnectionConfig,
    framer: Framer,
    inbuf: BytesMut,
    outbuf: Vec<u8>,
    events: VecDeque<Event>,
    pending: HashMap<RequestId, Method>,
    /// Pending calls whose result is handed over undecoded ([`Reply::Raw`]).
    raw: HashSet<RequestId>,
    next_id: RequestId,
    last_received: Instant,
    probe_sent: Option<Instant>,
    dead: bool,
}

impl Connection {
    /// A connection that has just been established at `now`.
    pub fn new(config: ConnectionConfig, now: Instant) -> Self {
        let config = config.clone().probe_interval(config.probe_interval);
        Connection {
            framer: Framer::with_max_len(config.max_message_len),
            config,
            inbuf: BytesMut::new(),
            outbuf: Vec::new(),
            events: VecDeque::new(),
            pending: HashMap::new(),
            raw: HashSet::new(),
            next_id: 0,
            last_received: now,
            probe_sent: None,
            dead: false,
        }
    }

    // --- getters -------------------------------------------------------------------------

    /// The settings in force.
    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// Number of calls awaiting a reply.
    pub fn pending_calls(&self) -> usize {
        self.pending.len()
    }

    /// The method of a pending call.
    pub fn pending_method(&self, id: RequestId) -> Option<Method> {
        self.pending.get(&id).copied()
    }

    /// Whether the probe declared the peer dead, or the stream broke.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Bytes received but not yet forming a complete message.
    pub fn buffered_input(&self) -> usize {
        self.inbuf.len()
    }

    // --- input ---------------------------------------------------------------------------

    /// Feeds bytes read from the transport. Complete messages become events; a partial one
    /// waits for more bytes. An `Err` means the stream is unusable (bad framing or an
    /// oversize message) and must be closed.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) -> Result<()> {
        if !bytes.is_empty() {
            self.alive(now);
        }
        self.inbuf.extend_from_slice(bytes);
        loop {
            match self.framer.scan(&self.inbuf) {
                Ok(Some(range)) => {
                    let mut frame = self.inbuf.split_to(range.end);
                    let frame = frame.split_off(range.start).freeze();
                    self.handle_frame(frame, now);
                }
                Ok(None) => {
                    // After a large message, give its buffer back instead of keeping its
                    // capacity for the life of the connection.
                    if self.inbuf.is_empty() && self.inbuf.capacity() > RETAINED_INPUT {
                        self.inbuf = BytesMut::new();
                    }
                    return Ok(());
                }
                Err(e) => {
                    self.dead = true;
                    return Err(e);
                }
            }
        }
    }

    /// Feeds one complete message, already framed (e.g. by [`crate::FrameCodec`]).
    pub fn handle_frame(&mut self, frame: Bytes, now: Instant) {
        self.alive(now);
        match Message::decode(frame) {
            Ok(msg) => self.handle_message(msg),
            Err(e) => self.events.push_back(Event::Malformed(e)),
        }
    }

    /// Changes the inactivity probe interval of a live connection (`None` disables probing;
    /// intervals under one second are raised to one second, as Open vSwitch does). A
    /// probe already in flight is forgotten: the next one is due one new interval after the
    /// last byte received.
    pub fn set_probe_interval(&mut self, interval: Option<Duration>) {
        self.config = self.config.clone().probe_interval(interval);
        self.probe_sent = None;
    }

    /// Lets time pass: sends a probe after `probe_interval` of silence, and declares the
    /// peer dead after another interval without an answer.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(interval) = self.config.probe_interval else {
            return;
        };
        if self.dead {
            return;
        }
        match self.probe_sent {
            None if now >= self.last_received + interval => {
                Call::Echo(Vec::new()).encode(Some(&Value::from(PROBE_ID)), &mut self.outbuf);
                self.probe_sent = Some(now);
            }
            Some(sent) if now >= sent + interval => {
                self.dead = true;
                self.events.push_back(Event::ProbeTimeout);
            }
            _ => {}
        }
    }

    fn alive(&mut self, now: Instant) {
        self.last_received = now;
        self.probe_sent = None;
    }

    fn handle_message(&mut self, msg: Message) {
        match msg {
            Message::Request { id, method, params } => {
                if method == "echo" {
                    // Answer at once, with the same params, as RFC 7047 §4.1.11 requires.
                    let params = params.to_value().unwrap_or(Value::Array(Vec::new()));
                    crate::message::encode_response(&id, &params, &mut self.outbuf);
                    return;
                }
                match Call::decode(&method, params.as_bytes()) {
                    Ok(call) => self.events.push_back(Event::Request { id, call }),
                    Err(e) => {
                        let err = serde_json::json!({"error": "unknown method", "details": e.to_string()});
                        crate::message::encode_error(&id, &err, &mut self.outbuf);
                        self.events.push_back(Event::Malformed(e));
                    }
                }
            }
            Message::Notification { method, params } => {
                match Call::decode(&method, params.as_bytes()) {
                    Ok(call) => self.events.push_back(Event::Notification(call)),
                    Err(e) => self.events.push_back(Event::Malformed(e)),
                }
            }
            Message::Response { id, result } => self.complete(id, Ok(result)),
            Message::Error { id, error } => self.complete(id, Err(error)),
        }
    }

    fn complete(&mut self, id: Value, outcome: std::result::Result<Payload, Value>) {
        if id.as_str() == Some(PROBE_ID) {
            return; // our probe came back; `alive` already ran
        }
        let Some((rid, method)) = id
            .as_u64()
            .and_then(|n| self.pending.remove(&n).map(|m| (n, m)))
        else {
            self.events
                .push_back(Event::Malformed(Error::Protocol(format!(
                    "response to unknown request id {id}"
                ))));
            return;
        };
        let raw = self.raw.remove(&rid);
        let result = match outcome {
            Ok(payload) if raw => Ok(Reply::Raw(payload)),
            Ok(payload) => Reply::decode(method, payload.as_bytes()).map_err(CallError::Malformed),
            Err(error) => Err(CallError::Server(match &error {
                Value::String(s) => OvsdbError::new(s.clone(), None),
                other => OvsdbError::from_value(other)
                    .unwrap_or_else(|| OvsdbError::new(other.to_string(), None)),
            })),
        };
        self.events.push_back(Event::Reply {
            id: rid,
            method,
            result,
        });
    }

    // --- commands ------------------------------------------------------------------------

    /// Queues a request and returns its id; the reply arrives as [`Event::Reply`].
    pub fn call(&mut self, call: Call) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        call.encode(Some(&Value::from(id)), &mut self.outbuf);
        self.pending.insert(id, call.method());
        id
    }

    /// Like [`Connection::call`], but the successful result arrives undecoded as
    /// [`Reply::Raw`]; errors arrive as usual.
    pub fn call_raw(&mut self, call: Call) -> RequestId {
        let id = self.call(call);
        self.raw.insert(id);
        id
    }

    /// Queues a notification (`cancel`, for instance); nothing answers it.
    pub fn notify(&mut self, call: &Call) {
        call.encode(None, &mut self.outbuf);
    }

    /// Queues a `cancel` of the pending call `id` (RFC 7047 §4.1.4); its reply will be the
    /// error `canceled`.
    pub fn cancel(&mut self, id: RequestId) {
        self.notify(&Call::Cancel {
            id: Value::from(id),
        });
    }

    /// Queues the response to a server request received as [`Event::Request`].
    pub fn respond(&mut self, id: &Value, result: std::result::Result<&Value, &Value>) {
        match result {
            Ok(r) => crate::message::encode_response(id, r, &mut self.outbuf),
            Err(e) => crate::message::encode_error(id, e, &mut self.outbuf),
        }
    }

    /// Forgets all pending calls (after the transport was lost) and returns their ids and
    /// methods, so that the owner can fail or retry them.
    pub fn abandon_pending(&mut self) -> Vec<(RequestId, Method)> {
        self.raw.clear();
        let mut v: Vec<_> = self.pending.drain().collect();
        v.sort_unstable_by_key(|(id, _)| *id);
        v
    }

    // --- output --------------------------------------------------------------------------

    /// Takes the bytes to write to the transport, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.outbuf.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.outbuf))
        }
    }

    /// Takes the next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Connection::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let interval = self.config.probe_interval?;
        if self.dead {
            return None;
        }
        Some(match self.probe_sent {
            None => self.last_received + interval,
            Some(sent) => sent + interval,
        })
    }
}
