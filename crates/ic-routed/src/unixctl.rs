//! The control socket `ovs-appctl`/`ovn-appctl -t` talk to: JSON-RPC over a unix socket,
//! one request per command, the reply's `result` a string (Open vSwitch's unixctl).
//!
//! Commands, with ovn-ic's replies (compared with Debian's ovn-ic 23.03.1 and 25.03.0):
//!
//! | command | reply |
//! |---|---|
//! | `status` | `Status: active`, `Status: standby` or `Status: paused` |
//! | `pause`, `resume`, `exit` | empty |
//! | `is-paused` | `true` or `false` |
//! | `nb-connection-status`, `sb-connection-status`, `ic-nb-connection-status`, `ic-sb-connection-status` | `connected` or `not connected` (ovn-ic 24.03 and later) |
//! | `version` | `ovn-ic RELEASE` (the release whose rules the daemon follows), then `ic-routed VERSION` |
//! | `list-commands` | the commands, as Open vSwitch lists them |
//! | `vlog/set SPEC…`, `vlog/list`, `vlog/reopen`, `vlog/close` | see [`crate::vlog`] |
//! | `isolation/reload` (with `--isolation-policy`) | `isolation policy FILE loaded: N pairs, M peerings`, or the error that refused the file (the running policy stays); see [`crate::policy`] |
//!
//! Every non-empty reply ends with a newline, as Open vSwitch 3.1's server makes it (3.5's
//! leaves it out; both releases' `ovs-appctl` print either alike). Errors are Open vSwitch's:
//! an unknown command, too many or too few arguments, a non-string argument.
//!
//! `version`'s first line is what `ovn-ctl stop_ic` reads (`ovs-lib`'s `stop_daemon` takes
//! its last field): a release of at least 2.5.90 tells it that `exit` is safe, so it stops
//! the daemon with `exit` before it resorts to SIGTERM.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::BytesMut;
use ovsdb_proto::FrameCodec;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::Decoder;
use tracing::{debug, warn};

use crate::controls::{Control, Controls, Query, Status};
use crate::policy::PolicySource;
use crate::vlog::Vlog;
use ic_routes::{Database, Prefix};

/// Largest control request accepted (1 MiB; requests are a command name and a few words).
pub const MAX_REQUEST_LEN: usize = 1 << 20;

/// What the control socket serves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Context {
    /// The daemon's commands and reports.
    pub controls: Controls,
    /// The logger, for the `vlog/*` commands (`None`: they are not offered).
    pub vlog: Option<Arc<Vlog>>,
    /// The isolation policy, for `isolation/reload` (`None`: not offered).
    pub isolation: Option<Arc<PolicySource>>,
}

impl Context {
    /// A context for `controls`, without `vlog/*` commands.
    pub fn new(controls: Controls) -> Context {
        Context {
            controls,
            vlog: None,
            isolation: None,
        }
    }

    /// Serves `isolation/reload` with `policy`.
    pub fn isolation(mut self, policy: Option<Arc<PolicySource>>) -> Context {
        self.isolation = policy;
        self
    }

    /// Serves the `vlog/*` commands with `vlog`.
    pub fn vlog(mut self, vlog: Option<Arc<Vlog>>) -> Context {
        self.vlog = vlog;
        self
    }
}

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
    /// Listens on `path` (a stale socket file is replaced) and serves commands from
    /// `context`. Must be called within a tokio runtime.
    ///
    /// # Errors
    ///
    /// When the socket cannot be bound.
    pub fn start(path: &Path, context: Context) -> std::io::Result<Unixctl> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        // Owner and group only, as Open vSwitch's control sockets.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750))?;
        let context = Arc::new(context);
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, context.clone()));
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

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A command: name, usage as `list-commands` shows it, argument counts.
struct Command {
    name: &'static str,
    usage: &'static str,
    min: usize,
    max: usize,
    needs: Needs,
}

/// What a command needs to be offered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    Vlog,
    Isolation,
}

const fn cmd(name: &'static str, usage: &'static str, min: usize, max: usize) -> Command {
    Command {
        name,
        usage,
        min,
        max,
        needs: Needs::Nothing,
    }
}

const fn vlog_cmd(name: &'static str, usage: &'static str, min: usize, max: usize) -> Command {
    Command {
        name,
        usage,
        min,
        max,
        needs: Needs::Vlog,
    }
}

/// Sorted by name, as `list-commands` prints them.
const COMMANDS: &[Command] = &[
    cmd("exit", "", 0, 0),
    cmd("ic-nb-connection-status", "", 0, 0),
    cmd("ic-sb-connection-status", "", 0, 0),
    cmd("is-paused", "", 0, 0),
    Command {
        name: "isolation/reload",
        usage: "",
        min: 0,
        max: 0,
        needs: Needs::Isolation,
    },
    cmd("list-commands", "", 0, 0),
    cmd("nb-connection-status", "", 0, 0),
    cmd("pause", "", 0, 0),
    cmd("resume", "", 0, 0),
    cmd("routes/explain", "PREFIX [ROUTER]", 1, 2),
    cmd("routes/list", "[ROUTER]", 0, 1),
    cmd("sb-connection-status", "", 0, 0),
    cmd("status", "", 0, 0),
    cmd("version", "", 0, 0),
    vlog_cmd("vlog/close", "", 0, 0),
    vlog_cmd("vlog/list", "", 0, 0),
    vlog_cmd("vlog/reopen", "", 0, 0),
    vlog_cmd(
        "vlog/set",
        "{spec | PATTERN:destination:pattern}",
        0,
        usize::MAX,
    ),
];

/// A command's outcome, and what to do once the reply is sent.
struct Outcome {
    reply: Result<String, String>,
    then: Option<Control>,
    /// A question only the daemon can answer: the reply is its answer.
    ask: Option<Query>,
}

impl From<Result<String, String>> for Outcome {
    fn from(reply: Result<String, String>) -> Self {
        Outcome {
            reply,
            then: None,
            ask: None,
        }
    }
}

fn execute(context: &Context, method: &str, params: &Value) -> Outcome {
    let offered = |c: &&Command| match c.needs {
        Needs::Nothing => true,
        Needs::Vlog => context.vlog.is_some(),
        Needs::Isolation => context.isolation.is_some(),
    };
    let Some(command) = COMMANDS.iter().filter(offered).find(|c| c.name == method) else {
        return Err(format!(
            "\"{method}\" is not a valid command (use \"list-commands\" to see a list of valid commands)"
        ))
        .into();
    };
    let empty = Vec::new();
    let args: Vec<&str> = match params {
        Value::Array(items) => {
            let strings: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if strings.len() != items.len() {
                return Err(format!("\"{method}\" command has non-string argument")).into();
            }
            strings
        }
        Value::Null => empty,
        _ => return Err("expected array of parameters".to_owned()).into(),
    };
    if args.len() < command.min {
        return Err(format!(
            "\"{method}\" command requires at least {} arguments",
            command.min
        ))
        .into();
    }
    if args.len() > command.max {
        return Err(format!(
            "\"{method}\" command takes at most {} arguments",
            command.max
        ))
        .into();
    }
    let controls = &context.controls;
    let connection = |db| {
        Ok(if controls.is_connected(db) {
            "connected".to_owned()
        } else {
            "not connected".to_owned()
        })
        .into()
    };
    match method {
        "exit" => Outcome {
            reply: Ok(String::new()),
            then: Some(Control::Exit),
            ask: None,
        },
        "pause" => Outcome {
            reply: Ok(String::new()),
            then: Some(Control::Pause),
            ask: None,
        },
        "resume" => Outcome {
            reply: Ok(String::new()),
            then: Some(Control::Run),
            ask: None,
        },
        "is-paused" => Ok((controls.control() == Control::Pause).to_string()).into(),
        "status" => {
            // As ovn-ic: paused as soon as asked, else whether this instance holds the lock
            // (just after `resume`, before the daemon asks for the lock again: standby).
            let status = match (controls.control(), *controls.status().borrow()) {
                (Control::Pause, _) => Status::Paused,
                (_, Status::Paused) => Status::Standby,
                (_, status) => status,
            };
            Ok(format!("Status: {status}")).into()
        }
        "nb-connection-status" => connection(Database::Nb),
        "sb-connection-status" => connection(Database::Sb),
        "ic-nb-connection-status" => connection(Database::IcNb),
        "ic-sb-connection-status" => connection(Database::IcSb),
        "version" => Ok(format!(
            "{}\nic-routed {}",
            controls.semantics(),
            env!("CARGO_PKG_VERSION")
        ))
        .into(),
        "routes/explain" | "routes/list" => match routes_query(method, &args) {
            Ok(query) => Outcome {
                reply: Ok(String::new()),
                then: None,
                ask: Some(query),
            },
            Err(e) => Err(e).into(),
        },
        "list-commands" => {
            let mut s = String::from("The available commands are:\n");
            for c in COMMANDS.iter().filter(offered) {
                s.push_str(&format!("  {:<23} {}\n", c.name, c.usage));
            }
            Ok(s).into()
        }
        "isolation/reload" => match &context.isolation {
            Some(policy) => {
                let reply = policy.reload();
                match &reply {
                    Ok(text) => tracing::info!("{text}"),
                    Err(e) => warn!("isolation/reload refused: {e}"),
                }
                reply.into()
            }
            None => Err(format!("\"{method}\" is not a valid command")).into(),
        },
        _ => {
            let Some(vlog) = &context.vlog else {
                return Err(format!("\"{method}\" is not a valid command")).into();
            };
            match method {
                "vlog/set" => vlog.set(&args).map(|()| String::new()).into(),
                "vlog/list" => Ok(vlog.list()).into(),
                "vlog/reopen" => vlog.reopen().map(|()| String::new()).into(),
                _ => {
                    vlog.close();
                    Ok(String::new()).into()
                }
            }
        }
    }
}

/// The daemon's question for a `routes/*` command (arguments already counted).
fn routes_query(method: &str, args: &[&str]) -> Result<Query, String> {
    let router = |i: usize| args.get(i).map(|r| (*r).to_owned());
    if method == "routes/list" {
        return Ok(Query::List { router: router(0) });
    }
    let p = args.first().copied().unwrap_or_default();
    match Prefix::parse(p) {
        Some(prefix) => Ok(Query::Explain {
            prefix,
            router: router(1),
        }),
        None => Err(format!("{p}: not a prefix (expected ADDRESS/LENGTH)")),
    }
}

/// A reply body as Open vSwitch 3.1 sends it: non-empty text ends with a newline.
fn body(mut text: String) -> String {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

async fn serve(stream: UnixStream, context: Arc<Context>) {
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
        let params = request.get("params").unwrap_or(&Value::Null);
        let mut outcome = execute(&context, method, params);
        if let Some(query) = outcome.ask.take() {
            outcome.reply = context.controls.ask(query).await;
        }
        let reply = match outcome.reply {
            Ok(text) => json!({"id": id, "result": body(text), "error": null}),
            Err(text) => json!({"id": id, "error": body(text)}),
        };
        let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
        bytes.push(b'\n');
        let sent = write.write_all(&bytes).await.is_ok();
        // After the reply: `exit` must not stop the process before `ovs-appctl` hears back.
        if let Some(control) = outcome.then {
            context.controls.send(control);
        }
        if !sent {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(context: &Context, method: &str, params: Value) -> Result<String, String> {
        let o = execute(context, method, &params);
        if let Some(c) = o.then {
            context.controls.send(c);
        }
        o.reply.map(body).map_err(body)
    }

    #[test]
    fn replies_match_ovn_ic() {
        let c = Context::new(Controls::new());
        let none = json!([]);
        assert_eq!(
            run(&c, "status", none.clone()).unwrap(),
            "Status: standby\n"
        );
        assert_eq!(run(&c, "is-paused", none.clone()).unwrap(), "false\n");
        assert_eq!(run(&c, "pause", none.clone()).unwrap(), "");
        assert_eq!(run(&c, "is-paused", none.clone()).unwrap(), "true\n");
        assert_eq!(run(&c, "status", none.clone()).unwrap(), "Status: paused\n");
        assert_eq!(run(&c, "resume", none.clone()).unwrap(), "");
        assert_eq!(
            run(&c, "status", none.clone()).unwrap(),
            "Status: standby\n"
        );
        assert_eq!(
            run(&c, "nb-connection-status", none.clone()).unwrap(),
            "not connected\n"
        );
        let version = run(&c, "version", none.clone()).unwrap();
        assert!(
            version.starts_with("ovn-ic 26.03.0\nic-routed "),
            "{version}"
        );
        assert_eq!(
            run(&c, "status", json!(["x"])).unwrap_err(),
            "\"status\" command takes at most 0 arguments\n"
        );
        assert_eq!(
            run(&c, "nosuch", none.clone()).unwrap_err(),
            "\"nosuch\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n"
        );
        assert_eq!(
            run(&c, "status", json!([1])).unwrap_err(),
            "\"status\" command has non-string argument\n"
        );
        // Without a logger the vlog commands are not offered.
        assert!(run(&c, "vlog/list", none.clone()).is_err());
        assert_eq!(run(&c, "exit", none).unwrap(), "");
        assert_eq!(c.controls.control(), Control::Exit);
    }

    #[test]
    fn list_commands_as_open_vswitch_lays_it_out() {
        let c = Context::new(Controls::new());
        let list = run(&c, "list-commands", json!([])).unwrap();
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines[0], "The available commands are:");
        assert_eq!(lines[1], "  exit                    ");
        assert_eq!(lines[2], "  ic-nb-connection-status ");
        assert!(lines.contains(&"  status                  "));
        assert!(!list.contains("vlog/"));
        assert!(!list.contains("isolation/"));
    }

    #[test]
    fn isolation_reload_replies_with_the_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, r#"{"pairs": []}"#).unwrap();
        let policy = Arc::new(PolicySource::load(&path, None).unwrap());
        let c = Context::new(Controls::new()).isolation(Some(policy.clone()));
        assert!(run(&c, "list-commands", json!([]))
            .unwrap()
            .contains("  isolation/reload "));
        std::fs::write(&path, r#"{"pairs": [}"#).unwrap();
        let err = run(&c, "isolation/reload", json!([])).unwrap_err();
        assert!(
            err.starts_with(&format!("{}: invalid policy: ", path.display()))
                && err.ends_with("; the running policy stays\n")
                && err.lines().count() == 1,
            "{err}"
        );
        std::fs::write(&path, r#"{"pairs": [], "unknown_source": "allow"}"#).unwrap();
        assert_eq!(
            run(&c, "isolation/reload", json!([])).unwrap(),
            format!(
                "isolation policy {} loaded: 0 pairs, 0 peerings\n",
                path.display()
            )
        );
        assert!(policy.policy().unknown_source.allows());
        assert_eq!(
            run(&c, "isolation/reload", json!(["x"])).unwrap_err(),
            "\"isolation/reload\" command takes at most 0 arguments\n"
        );
    }
}
