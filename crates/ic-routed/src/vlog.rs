//! Logging driven as Open vSwitch's `vlog` is: `-v`/`--verbose` specs naming destinations
//! and levels (`ovn-ctl` passes `-vconsole:emer -vsyslog:err -vfile:info`), `--log-file`,
//! and the control-socket commands `vlog/set`, `vlog/list`, `vlog/reopen` (what Debian's
//! logrotate configuration sends every OVN daemon after rotating `/var/log/ovn/*.log`) and
//! `vlog/close`.
//!
//! Messages go through `tracing`. Each destination has a level: `console` is standard error,
//! `file` the log file, `syslog` is accepted and listed but nothing is sent to syslog.
//! `ic-routed` logs as one module: a spec that names a module (`-vreconnect:dbg`) sets the
//! level of every module. Nothing `ic-routed` logs is an emergency, so `emer` shows nothing.
//! When `RUST_LOG` is set it decides both destinations' levels instead, and `vlog/set` says
//! so.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{fmt, reload, EnvFilter, Layer as _, Registry};

/// A vlog level, least verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing.
    Off,
    /// Emergencies only (`ic-routed` has none).
    Emer,
    /// Errors.
    Err,
    /// Warnings and errors.
    Warn,
    /// Information (the default of every destination).
    Info,
    /// Debugging.
    Dbg,
}

impl Level {
    /// The level named `word` (`off`, `emer`, `err`, `warn`, `info`, `dbg`, any case; also
    /// `error`, `warning` and `debug`).
    pub fn parse(word: &str) -> Option<Level> {
        Some(match word.to_ascii_lowercase().as_str() {
            "off" => Level::Off,
            "emer" => Level::Emer,
            "err" | "error" => Level::Err,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "dbg" | "debug" => Level::Dbg,
            _ => return None,
        })
    }

    /// The name `vlog/list` prints (`OFF`, `EMER`, `ERR`, `WARN`, `INFO`, `DBG`).
    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "OFF",
            Level::Emer => "EMER",
            Level::Err => "ERR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Dbg => "DBG",
        }
    }

    fn filter(self) -> LevelFilter {
        match self {
            Level::Off | Level::Emer => LevelFilter::OFF,
            Level::Err => LevelFilter::ERROR,
            Level::Warn => LevelFilter::WARN,
            Level::Info => LevelFilter::INFO,
            Level::Dbg => LevelFilter::DEBUG,
        }
    }
}

/// The level of each destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// Standard error.
    pub console: Level,
    /// Syslog (accepted and listed; nothing is sent).
    pub syslog: Level,
    /// The log file.
    pub file: Level,
}

impl Default for Levels {
    fn default() -> Self {
        Levels {
            console: Level::Info,
            syslog: Level::Info,
            file: Level::Info,
        }
    }
}

impl Levels {
    /// Applies one spec: words separated by `:`, `,`, spaces or tabs, each a destination
    /// (`console`, `syslog`, `file`), a level, `any`, or a module name; no destination means
    /// every destination, no level means `dbg`. `PATTERN:…` and `FACILITY:…` specs are
    /// accepted and change nothing.
    ///
    /// # Errors
    ///
    /// Two destinations or two levels in one spec.
    pub fn apply(&mut self, spec: &str) -> Result<(), String> {
        let mut words = spec
            .split([':', ',', ' ', '\t'])
            .filter(|w| !w.is_empty())
            .peekable();
        if let Some(first) = words.peek() {
            if first.eq_ignore_ascii_case("pattern") || first.eq_ignore_ascii_case("facility") {
                return Ok(());
            }
        }
        let mut destination: Option<&str> = None;
        let mut level: Option<Level> = None;
        for word in words {
            let lower = word.to_ascii_lowercase();
            if lower == "any" {
                continue;
            }
            if matches!(lower.as_str(), "console" | "syslog" | "file") {
                if destination.is_some() {
                    return Err("cannot specify multiple destinations".to_owned());
                }
                destination = Some(match lower.as_str() {
                    "console" => "console",
                    "syslog" => "syslog",
                    _ => "file",
                });
            } else if let Some(l) = Level::parse(word) {
                if level.is_some() {
                    return Err("cannot specify multiple levels".to_owned());
                }
                level = Some(l);
            }
            // Anything else names a module: ic-routed has one, so it changes nothing.
        }
        let level = level.unwrap_or(Level::Dbg);
        match destination {
            Some("console") => self.console = level,
            Some("syslog") => self.syslog = level,
            Some(_) => self.file = level,
            None => {
                self.console = level;
                self.syslog = level;
                self.file = level;
            }
        }
        Ok(())
    }
}

type Handle = reload::Handle<Targets, Registry>;

/// The log file, shared by the writer and the commands that reopen or close it.
type SharedFile = Arc<Mutex<Option<File>>>;

/// The installed logger: levels per destination and the log file.
#[derive(Debug)]
pub struct Vlog {
    levels: Mutex<Levels>,
    path: Option<PathBuf>,
    file: SharedFile,
    /// `None` when `RUST_LOG` decides.
    handles: Option<(Handle, Handle)>,
}

/// Cuts `ovsdb_client`'s debug messages (every message sent and received) down to `info`
/// unless `RUST_LOG` asks for them.
fn targets(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(level)
        .with_target("ovsdb_client", level.min(LevelFilter::INFO))
}

fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Vlog {
    /// Opens the log file (when there is one) and installs the process's `tracing`
    /// subscriber.
    ///
    /// # Errors
    ///
    /// When the log file cannot be opened, or a subscriber is installed already.
    pub fn install(levels: Levels, log_file: Option<&Path>) -> io::Result<Arc<Vlog>> {
        let file = match log_file {
            Some(p) => Some(open_log(p).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot open log file {}: {e}", p.display()),
                )
            })?),
            None => None,
        };
        let file: SharedFile = Arc::new(Mutex::new(file));
        let writer_file = file.clone();
        let make_file_writer = move || FileWriter(writer_file.clone());
        let env = std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty());
        let vlog = Vlog {
            levels: Mutex::new(levels),
            path: log_file.map(Path::to_path_buf),
            file,
            handles: None,
        };
        let result = if env {
            let console = fmt::layer()
                .with_writer(io::stderr)
                .with_ansi(false)
                .with_filter(EnvFilter::from_default_env())
                .boxed();
            let file = fmt::layer()
                .with_writer(make_file_writer)
                .with_ansi(false)
                .with_filter(EnvFilter::from_default_env())
                .boxed();
            tracing_subscriber::registry()
                .with(vec![console, file])
                .try_init()
                .map(|()| vlog)
        } else {
            let (console_filter, console_handle) =
                reload::Layer::new(targets(levels.console.filter()));
            let (file_filter, file_handle) = reload::Layer::new(targets(vlog.file_filter()));
            let console = fmt::layer()
                .with_writer(io::stderr)
                .with_ansi(false)
                .with_filter(console_filter)
                .boxed();
            let file = fmt::layer()
                .with_writer(make_file_writer)
                .with_ansi(false)
                .with_filter(file_filter)
                .boxed();
            tracing_subscriber::registry()
                .with(vec![console, file])
                .try_init()
                .map(|()| Vlog {
                    handles: Some((console_handle, file_handle)),
                    ..vlog
                })
        };
        result.map(Arc::new).map_err(io::Error::other)
    }

    fn levels(&self) -> Levels {
        *self.levels.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn file_open(&self) -> bool {
        self.file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// The file destination's filter: its level while a file is open, nothing otherwise.
    fn file_filter(&self) -> LevelFilter {
        if self.file_open() {
            self.levels().file.filter()
        } else {
            LevelFilter::OFF
        }
    }

    fn refresh(&self) {
        if let Some((console, file)) = &self.handles {
            let _ = console.reload(targets(self.levels().console.filter()));
            let _ = file.reload(targets(self.file_filter()));
        }
    }

    /// `vlog/set SPEC…`: applies each spec (see [`Levels::apply`]) at once.
    ///
    /// # Errors
    ///
    /// A spec that does not parse (no level changes then), or `RUST_LOG` in charge.
    pub fn set(&self, specs: &[&str]) -> Result<(), String> {
        if self.handles.is_none() {
            return Err("log levels are set by RUST_LOG".to_owned());
        }
        let mut levels = self.levels();
        for spec in specs {
            levels.apply(spec)?;
        }
        *self.levels.lock().unwrap_or_else(|e| e.into_inner()) = levels;
        self.refresh();
        Ok(())
    }

    /// `vlog/list`: the level of each destination, in Open vSwitch's table layout.
    pub fn list(&self) -> String {
        let l = self.levels();
        let mut s = String::from("                 console    syslog    file\n");
        s.push_str("                 -------    ------    ------\n");
        s.push_str(&format!(
            "{:<16}  {:>4}       {:>4}       {:>4}\n",
            "ic_routed",
            l.console.name(),
            l.syslog.name(),
            l.file.name()
        ));
        s
    }

    /// `vlog/reopen`: opens the log file again (after logrotate moved it).
    ///
    /// # Errors
    ///
    /// When there is no log file (`--log-file` not given) or it cannot be opened.
    pub fn reopen(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Err("Logging to file not configured".to_owned());
        };
        let file = open_log(path).map_err(|e| format!("{}: {e}", path.display()))?;
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
        self.refresh();
        Ok(())
    }

    /// `vlog/close`: stops writing to the log file until `vlog/reopen`.
    pub fn close(&self) {
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.refresh();
    }
}

/// Appends each formatted event (one `write` per line) to the log file, if open.
struct FileWriter(SharedFile);

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(f) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            f.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(specs: &[&str]) -> Result<Levels, String> {
        let mut l = Levels::default();
        for s in specs {
            l.apply(s)?;
        }
        Ok(l)
    }

    #[test]
    fn ovn_ctl_flags() {
        let l = applied(&["console:emer", "syslog:err", "file:info"]).unwrap();
        assert_eq!(
            l,
            Levels {
                console: Level::Emer,
                syslog: Level::Err,
                file: Level::Info
            }
        );
    }

    #[test]
    fn spec_forms() {
        // No destination: all; no level: dbg.
        let all_dbg = Levels {
            console: Level::Dbg,
            syslog: Level::Dbg,
            file: Level::Dbg,
        };
        assert_eq!(applied(&["dbg"]).unwrap(), all_dbg);
        assert_eq!(applied(&["file"]).unwrap().file, Level::Dbg);
        assert_eq!(applied(&["ANY:ANY:warn"]).unwrap().console, Level::Warn);
        assert_eq!(applied(&["reconnect:file:dbg"]).unwrap().file, Level::Dbg);
        assert_eq!(
            applied(&["reconnect:file:dbg"]).unwrap().console,
            Level::Info
        );
        assert_eq!(applied(&["file,err"]).unwrap().file, Level::Err);
        assert_eq!(
            applied(&["PATTERN:file:%D{%H} %m"]).unwrap(),
            Levels::default()
        );
        assert_eq!(
            applied(&["console:file:dbg"]).unwrap_err(),
            "cannot specify multiple destinations"
        );
        assert_eq!(
            applied(&["dbg:info"]).unwrap_err(),
            "cannot specify multiple levels"
        );
    }

    #[test]
    fn levels_map_to_filters() {
        assert_eq!(Level::Emer.filter(), LevelFilter::OFF);
        assert_eq!(Level::Err.filter(), LevelFilter::ERROR);
        assert_eq!(Level::Dbg.filter(), LevelFilter::DEBUG);
        assert!(Level::Off < Level::Emer && Level::Info < Level::Dbg);
    }
}
