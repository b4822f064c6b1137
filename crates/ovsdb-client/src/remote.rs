//! Open vSwitch connection methods: `tcp:IP:PORT`, `ssl:IP:PORT`, `unix:PATH`, and
//! comma-separated lists of them for clusters (ovsdb(7) "Connection Methods").

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use ovsdb_proto::Uuid;

use crate::error::ClientError;

/// The IANA-assigned OVSDB port, used when a remote omits its port.
pub const DEFAULT_PORT: u16 = 6640;

/// One active connection method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Remote {
    /// `tcp:HOST:PORT` (IPv6 addresses in brackets).
    Tcp {
        /// Host name or address, without brackets.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// `ssl:HOST:PORT`: TCP with TLS.
    Ssl {
        /// Host name or address, without brackets.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// `unix:PATH`.
    Unix(PathBuf),
}

impl Remote {
    /// Whether this remote needs TLS.
    pub fn is_ssl(&self) -> bool {
        matches!(self, Remote::Ssl { .. })
    }
}

fn parse_host_port(rest: &str, text: &str) -> Result<(String, u16), ClientError> {
    let bad = |why: &str| ClientError::InvalidRemote(format!("{text}: {why}"));
    let (host, port) = if let Some(after) = rest.strip_prefix('[') {
        let end = after
            .find(']')
            .ok_or_else(|| bad("unterminated '[' in IPv6 address"))?;
        let host = &after[..end];
        let tail = &after[end + 1..];
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p),
            None if tail.is_empty() => None,
            None => return Err(bad("expected ':' after ']'")),
        };
        (host, port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return Err(bad("IPv6 addresses must be in brackets")),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(bad("missing host"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p.parse().map_err(|_| bad("invalid port"))?,
    };
    Ok((host.to_owned(), port))
}

impl FromStr for Remote {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("tcp:") {
            let (host, port) = parse_host_port(rest, s)?;
            Ok(Remote::Tcp { host, port })
        } else if let Some(rest) = s.strip_prefix("ssl:") {
            let (host, port) = parse_host_port(rest, s)?;
            Ok(Remote::Ssl { host, port })
        } else if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ClientError::InvalidRemote(format!("{s}: missing path")));
            }
            Ok(Remote::Unix(PathBuf::from(path)))
        } else if s.starts_with("ptcp:") || s.starts_with("pssl:") || s.starts_with("punix:") {
            Err(ClientError::InvalidRemote(format!(
                "{s}: passive remotes are for servers; a client needs tcp:, ssl: or unix:"
            )))
        } else {
            Err(ClientError::InvalidRemote(format!(
                "{s}: expected tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH"
            )))
        }
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = |h: &str| {
            if h.contains(':') {
                format!("[{h}]")
            } else {
                h.to_owned()
            }
        };
        match self {
            Remote::Tcp { host: h, port } => write!(f, "tcp:{}:{port}", host(h)),
            Remote::Ssl { host: h, port } => write!(f, "ssl:{}:{port}", host(h)),
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// A comma-separated list of remotes, as given to OVN daemons for a clustered database
/// (`tcp:10.0.0.1:6641,tcp:10.0.0.2:6641,…`), with the optional `cid:UUID` entry that pins
/// the cluster id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteList {
    /// The remotes, in the order given.
    pub remotes: Vec<Remote>,
    /// The cluster id every server must report, if pinned.
    pub cid: Option<Uuid>,
}

impl FromStr for RemoteList {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut list = RemoteList {
            remotes: Vec::new(),
            cid: None,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(cid) = part.strip_prefix("cid:") {
                list.cid = Some(ovsdb_proto::parse_uuid(cid).ok_or_else(|| {
                    ClientError::InvalidRemote(format!("{part}: invalid cluster id"))
                })?);
            } else {
                list.remotes.push(part.parse()?);
            }
        }
        if list.remotes.is_empty() {
            return Err(ClientError::InvalidRemote(format!("{s:?}: no remote")));
        }
        Ok(list)
    }
}

impl fmt::Display for RemoteList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for r in &self.remotes {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{r}")?;
        }
        if let Some(cid) = self.cid {
            write!(f, ",cid:{cid}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_open_vswitch_syntax() {
        assert_eq!(
            "tcp:127.0.0.1:6641".parse::<Remote>().unwrap(),
            Remote::Tcp {
                host: "127.0.0.1".into(),
                port: 6641
            }
        );
        assert_eq!(
            "ssl:[::1]:6642".parse::<Remote>().unwrap(),
            Remote::Ssl {
                host: "::1".into(),
                port: 6642
            }
        );
        assert_eq!(
            "tcp:[fe80::1%eth0]".parse::<Remote>().unwrap(),
            Remote::Tcp {
                host: "fe80::1%eth0".into(),
                port: 6640
            }
        );
        assert_eq!(
            "tcp:localhost".parse::<Remote>().unwrap(),
            Remote::Tcp {
                host: "localhost".into(),
                port: 6640
            }
        );
        assert_eq!(
            "unix:/run/ovn/ovnnb_db.sock".parse::<Remote>().unwrap(),
            Remote::Unix("/run/ovn/ovnnb_db.sock".into())
        );
        for r in ["tcp:127.0.0.1:6641", "ssl:[::1]:6642", "unix:/x/y.sock"] {
            assert_eq!(r.parse::<Remote>().unwrap().to_string(), r);
        }
        for bad in [
            "tcp:",
            "tcp:1.2.3.4:99999",
            "tcp:::1:6641",
            "ptcp:6641",
            "http://x",
            "unix:",
            "ssl:[::1",
        ] {
            let e = bad.parse::<Remote>().unwrap_err();
            assert!(
                matches!(e, ClientError::InvalidRemote(ref m) if m.starts_with(bad)),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn parses_cluster_lists() {
        let l: RemoteList =
            "tcp:127.0.0.1:6641, unix:/a.sock,ssl:[::1]:6641,cid:0f0e0d0c-0b0a-4908-8706-050403020100".parse().unwrap();
        assert_eq!(l.remotes.len(), 3);
        assert_eq!(
            l.cid,
            Some(ovsdb_proto::parse_uuid("0f0e0d0c-0b0a-4908-8706-050403020100").unwrap())
        );
        assert_eq!(l.to_string(), "tcp:127.0.0.1:6641,unix:/a.sock,ssl:[::1]:6641,cid:0f0e0d0c-0b0a-4908-8706-050403020100");
        assert!("".parse::<RemoteList>().is_err());
        assert!("cid:nope".parse::<RemoteList>().is_err());
    }
}
