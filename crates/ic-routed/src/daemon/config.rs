//! The daemon's configuration: the four remotes, TLS files, pacing and options, and the
//! client configuration of each database built from them.

use super::*;

/// How the daemon connects and paces itself.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// The zone's `OVN_Northbound` (`--ovnnb-db`), Open vSwitch remote syntax.
    pub ovnnb_db: String,
    /// The zone's `OVN_Southbound` (`--ovnsb-db`).
    pub ovnsb_db: String,
    /// `OVN_IC_Northbound` (`--ic-nb-db`).
    pub ic_nb_db: String,
    /// `OVN_IC_Southbound` (`--ic-sb-db`).
    pub ic_sb_db: String,
    /// Private key, certificate and CA certificate for `ssl:` remotes.
    pub tls: Option<TlsFiles>,
    /// Delay before retrying a round whose transaction failed (default 1 s).
    pub retry_delay: Duration,
    /// Deadline of one transaction (default 30 s); its outcome is then unknown and the next
    /// round recomputes from the replicas.
    pub transact_timeout: Duration,
    /// Rounds in a row that may write something before the daemon pauses for
    /// `retry_delay` (a guard against a peer that undoes our writes; default 50).
    pub max_busy_rounds: u32,
    /// A policy the route engine consults before it advertises or learns a route (VPC
    /// isolation, crate `isolation`); `None` is ovn-ic's behaviour. Ignored when
    /// [`Config::isolation`] is set.
    pub filter: Option<Arc<dyn RouteFilter>>,
    /// VPC isolation with a live inventory and a reloadable policy: the daemon builds the
    /// route filter itself ([`isolation::live`]) and rebuilds it when VPCs or the policy
    /// change.
    pub isolation: Option<Isolation>,
    /// The ovn-ic release to behave as; `None` follows the release of the zone's
    /// `OVN_Northbound` schema (`--ovn-release`).
    pub release: Option<ic_routes::Release>,
    /// Metrics to keep (`--metrics-address`); `None`: none, and the engine counts nothing.
    pub metrics: Option<Arc<Metrics>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("ovnnb_db", &self.ovnnb_db)
            .field("ovnsb_db", &self.ovnsb_db)
            .field("ic_nb_db", &self.ic_nb_db)
            .field("ic_sb_db", &self.ic_sb_db)
            .field("tls", &self.tls)
            .field("filter", &self.filter)
            .field("isolation", &self.isolation)
            .field("release", &self.release)
            .finish_non_exhaustive()
    }
}

/// TLS key material as ovs-pki writes it (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--private-key`.
    pub private_key: PathBuf,
    /// `--certificate`.
    pub certificate: PathBuf,
    /// `--ca-cert`.
    pub ca_cert: PathBuf,
}

impl Config {
    /// A configuration with the four remotes and the defaults.
    pub fn new(
        ovnnb_db: impl Into<String>,
        ovnsb_db: impl Into<String>,
        ic_nb_db: impl Into<String>,
        ic_sb_db: impl Into<String>,
    ) -> Self {
        Config {
            ovnnb_db: ovnnb_db.into(),
            ovnsb_db: ovnsb_db.into(),
            ic_nb_db: ic_nb_db.into(),
            ic_sb_db: ic_sb_db.into(),
            tls: None,
            retry_delay: Duration::from_secs(1),
            transact_timeout: Duration::from_secs(30),
            max_busy_rounds: 50,
            filter: None,
            isolation: None,
            release: None,
            metrics: None,
        }
    }

    /// Keeps `metrics` (see [`Config::metrics`]).
    pub fn metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Sets VPC isolation with a live inventory (see [`Config::isolation`]).
    pub fn isolation(mut self, isolation: Option<Isolation>) -> Self {
        self.isolation = isolation;
        self
    }

    /// Pins the ovn-ic release to behave as (default: the zone's, from its NB schema).
    pub fn release(mut self, release: Option<ic_routes::Release>) -> Self {
        self.release = release;
        self
    }

    /// Sets the route filter.
    pub fn filter(mut self, filter: Option<Arc<dyn RouteFilter>>) -> Self {
        self.filter = filter;
        self
    }

    /// Sets the TLS files.
    pub fn tls(mut self, tls: Option<TlsFiles>) -> Self {
        self.tls = tls;
        self
    }
}

/// Whether Open vSwitch probes `remote` by default: every stream but `unix:`.
pub(super) fn needs_probes(remote: &str) -> bool {
    !remote.trim_start().starts_with("unix:")
}

/// The client configuration of one database.
#[allow(clippy::result_large_err)] // `DaemonError`, as `Daemon::start` returns it
pub(super) fn client_config(
    name: &'static str,
    remote: &str,
    config: &Config,
) -> Result<ClientConfig, DaemonError> {
    let mut cc = ClientConfig::new(remote)
        .map_err(|source| DaemonError::Config { db: name, source })?
        .probe_interval(ic_routes::zone::probe_interval(None, needs_probes(remote)))
        .transact_timeout(Some(config.transact_timeout));
    if let Some(files) = &config.tls {
        let tls = TlsConfig::from_files(&files.private_key, &files.certificate, &files.ca_cert)
            .map_err(|e| DaemonError::Config {
                db: name,
                source: ClientError::from(e),
            })?;
        cc = cc.tls(tls);
    }
    Ok(cc)
}

impl Config {
    /// Checks the four remotes and the TLS files without connecting (a daemon reports a bad
    /// flag before it detaches).
    ///
    /// # Errors
    ///
    /// [`DaemonError::Config`] naming the first database whose remote or TLS files are
    /// unusable.
    #[allow(clippy::result_large_err)] // `DaemonError`, as `Daemon::start` returns it
    pub fn check(&self) -> Result<(), DaemonError> {
        client_config("ovnnb", &self.ovnnb_db, self)?;
        client_config("ovnsb", &self.ovnsb_db, self)?;
        client_config("ic-nb", &self.ic_nb_db, self)?;
        client_config("ic-sb", &self.ic_sb_db, self)?;
        for z in self.isolation.iter().flat_map(|i| &i.zone_nbs) {
            client_config("zone-nb", &z.remote, self)?;
        }
        Ok(())
    }
}
