//! The control socket `ovs-appctl`/`ovn-appctl -t` talk to: JSON-RPC over a unix socket,
//! one request per command, the reply's `result` a string (Open vSwitch's unixctl).
//!
//! Commands, as ovn-ic's: `exit`, `status` (`Status: active|standby|paused`), `pause`,
//! `resume`, `is-paused`, plus `version` and `list-commands`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::BytesMut;
use ovsdb_proto::FrameCodec;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio_util::codec::Decoder;
use tracing::{debug, warn};

use crate::daemon::Control;

/// Largest control request accepted (1 MiB; requests are a command name and a few words).
pub const MAX_REQUEST_LEN: usize = 1 << 20;

/// A listening control socket; the file is removed on drop.
#[derive(Debug)]
pub struct Unixctl {
    path: PathBuf,
}

impl Drop for Unixctl {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Unixctl {
    /// Listens on `path` (a stale socket file is replaced) and serves commands by sending
    /// them on `control`; `status` reads the daemon's state from `status`.
    pub fn start(
        path: &Path,
        control: Arc<watch::Sender<Control>>,
        status: watch::Receiver<crate::daemon::Status>,
    ) -> std::io::Result<Unixctl> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, control.clone(), status.clone()));
                    }
                    Err(e) => {
                        warn!(error = %e, "control socket accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(Unixctl {
            path: path.to_owned(),
        })
    }
}

const COMMANDS: &[&str] = &[
    "exit",
    "is-paused",
    "list-commands",
    "pause",
    "resume",
    "status",
    "version",
];

async fn serve(
    stream: UnixStream,
    control: Arc<watch::Sender<Control>>,
    status: watch::Receiver<crate::daemon::Status>,
) {
    let (mut read, mut write) = stream.into_split();
    let mut codec = FrameCodec::with_max_len(MAX_REQUEST_LEN);
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        let frame = match codec.decode(&mut buf) {
            Ok(Some(frame)) => frame,
            Ok(None) => match read.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
            Err(e) => {
                debug!(error = %e, "malformed control request; closing");
                return;
            }
        };
        let Ok(request) = serde_json::from_slice::<Value>(&frame) else {
            return;
        };
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let method = request.get("method").and_then(Value::as_str).unwrap_or("");
        let (result, error) = match method {
            "exit" => {
                control.send_replace(Control::Exit);
                (Value::String(String::new()), Value::Null)
            }
            "pause" => {
                control.send_replace(Control::Pause);
                (Value::String(String::new()), Value::Null)
            }
            "resume" => {
                control.send_replace(Control::Run);
                (Value::String(String::new()), Value::Null)
            }
            "is-paused" => {
                let paused = *control.borrow() == Control::Pause;
                (Value::String(paused.to_string()), Value::Null)
            }
            "status" => (
                Value::String(format!("Status: {}\n", *status.borrow())),
                Value::Null,
            ),
            "version" => (
                Value::String(format!("ic-routed {}\n", env!("CARGO_PKG_VERSION"))),
                Value::Null,
            ),
            "list-commands" => {
                let mut s = String::from("The available commands are:\n");
                for c in COMMANDS {
                    s.push_str("  ");
                    s.push_str(c);
                    s.push('\n');
                }
                (Value::String(s), Value::Null)
            }
            other => (
                Value::Null,
                Value::String(format!(
                    "\"{other}\" is not a valid command (use \"list-commands\" to see a list of valid commands)"
                )),
            ),
        };
        let reply = json!({"id": id, "result": result, "error": error});
        let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
        bytes.push(b'\n');
        if write.write_all(&bytes).await.is_err() {
            return;
        }
    }
}
