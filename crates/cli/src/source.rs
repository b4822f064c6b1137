//! Where the rows come from: a live database (an OVSDB remote in ovn-ic's syntax) or a dump
//! file, read once into crate `isolation`'s [`World`].

use std::path::PathBuf;
use std::time::Duration;

use isolation::{IcRows, World, ZoneNb};
use ovsdb_client::tls::TlsConfig;
use ovsdb_client::{Client, ClientConfig};
use ovsdb_proto::dump::Dump;
use ovsdb_proto::typed::Table;
use ovsdb_proto::{Operation, OperationResult};

use crate::error::CliError;

/// A database given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `tcp:IP:PORT`, `ssl:IP:PORT`, `unix:PATH`, or a comma-separated cluster list.
    Live(String),
    /// A file holding `ovsdb-client -f json dump` output (or the object form of
    /// `isolation::World::from_inventory_json`'s databases).
    File(PathBuf),
}

impl Source {
    /// A remote when the text starts like one (`tcp:`, `ssl:`, `unix:`), else a file.
    pub fn parse(text: &str) -> Source {
        let live = ["tcp:", "ssl:", "unix:"]
            .iter()
            .any(|p| text.trim_start().starts_with(p));
        if live {
            Source::Live(text.to_owned())
        } else {
            Source::File(PathBuf::from(text))
        }
    }

    /// The remote, if live.
    pub fn remote(&self) -> Option<&str> {
        match self {
            Source::Live(r) => Some(r),
            Source::File(_) => None,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Live(r) => f.write_str(r),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The key, certificate and CA files for `ssl:` remotes.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// `--private-key`.
    pub private_key: Option<PathBuf>,
    /// `--certificate`.
    pub certificate: Option<PathBuf>,
    /// `--ca-cert`.
    pub ca_cert: Option<PathBuf>,
}

/// How to reach the databases.
#[derive(Debug, Clone)]
pub struct Connect {
    /// TLS files.
    pub tls: Tls,
    /// How long to try to connect to one database.
    pub timeout: Duration,
}

impl Connect {
    /// Connects to `remote` (for database `db`, named in errors).
    pub async fn client(&self, db: &str, remote: &str) -> Result<Client, CliError> {
        let mut config = ClientConfig::new(remote)
            .map_err(|e| CliError::Input(format!("{db} remote {remote}: {e}")))?
            .connect_timeout(self.timeout)
            .backoff(Duration::from_millis(200), Duration::from_secs(1));
        if remote.contains("ssl:") {
            let (Some(k), Some(c), Some(ca)) = (
                &self.tls.private_key,
                &self.tls.certificate,
                &self.tls.ca_cert,
            ) else {
                return Err(CliError::Input(format!(
                    "{db} remote {remote}: ssl: needs --private-key, --certificate and --ca-cert"
                )));
            };
            let tls = TlsConfig::from_files(k, c, ca)
                .map_err(|e| CliError::Input(format!("{db} remote {remote}: {e}")))?;
            config = config.tls(tls);
        }
        Client::connect(config, self.timeout)
            .await
            .map_err(|e| CliError::Unreachable(format!("{db} at {remote}: {e}")))
    }
}

/// Every row of the tables of `tables` that the server has, as a dump.
pub async fn read_live(client: &Client, db: &str, tables: &[&str]) -> Result<Dump, CliError> {
    let schema = client
        .get_schema(db)
        .await
        .map_err(|e| CliError::Unreachable(format!("{db}: {e}")))?;
    let present: Vec<&str> = tables
        .iter()
        .copied()
        .filter(|t| schema.table(t).is_some())
        .collect();
    let ops = present
        .iter()
        .map(|t| Operation::Select {
            table: (*t).to_owned(),
            conditions: Vec::new(),
            columns: None,
        })
        .collect();
    let results = client
        .transact_checked(db, ops)
        .await
        .map_err(|e| CliError::Unreachable(format!("{db}: reading: {e}")))?;
    let mut dump = Dump::new();
    for (table, result) in present.iter().zip(results) {
        let OperationResult::Select { rows } = result else {
            continue;
        };
        for mut row in rows {
            let uuid = row
                .remove("_uuid")
                .and_then(|d| d.as_atom().and_then(|a| a.as_uuid()))
                .unwrap_or_default();
            row.remove("_version");
            dump.insert(table, uuid, row);
        }
    }
    Ok(dump)
}

/// Reads a dump file.
pub fn read_file(path: &std::path::Path) -> Result<Dump, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    Dump::parse(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// The NB tables crate `isolation` reads.
pub const NB_TABLES: [&str; 10] = [
    ovn_nb::NbGlobal::NAME,
    ovn_nb::LogicalRouter::NAME,
    ovn_nb::LogicalRouterPort::NAME,
    ovn_nb::LogicalRouterStaticRoute::NAME,
    ovn_nb::LogicalSwitch::NAME,
    ovn_nb::LogicalSwitchPort::NAME,
    ovn_nb::Acl::NAME,
    ovn_nb::PortGroup::NAME,
    ovn_nb::AddressSet::NAME,
    ovn_nb::GatewayChassis::NAME,
];
/// The IC-NB tables crate `isolation` reads.
pub const IC_NB_TABLES: [&str; 1] = [ovn_ic_nb::TransitSwitch::NAME];
/// The IC-SB tables crate `isolation` reads.
pub const IC_SB_TABLES: [&str; 3] = [
    ovn_ic_sb::AvailabilityZone::NAME,
    ovn_ic_sb::PortBinding::NAME,
    ovn_ic_sb::Route::NAME,
];

/// The databases of a deployment as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// `--zone NAME=NB`, in order.
    pub zones: Vec<(String, Source)>,
    /// `--ic-nb-db`.
    pub ic_nb: Option<Source>,
    /// `--ic-sb-db`.
    pub ic_sb: Option<Source>,
    /// `--inventory FILE`: a whole world, offline.
    pub inventory: Option<PathBuf>,
}

/// Open clients of the live databases of a [`Deployment`], to read it again and write.
pub struct Live {
    /// Per zone, its NB client (live zones only).
    pub zones: Vec<(String, Option<Client>)>,
    /// IC-NB client, when live.
    pub ic_nb: Option<Client>,
    /// IC-SB client, when live.
    pub ic_sb: Option<Client>,
}

impl Deployment {
    /// Whether every database is live (apply needs that).
    pub fn all_live(&self) -> bool {
        self.inventory.is_none()
            && self.zones.iter().all(|(_, s)| s.remote().is_some())
            && self.ic_nb.as_ref().is_none_or(|s| s.remote().is_some())
            && self.ic_sb.as_ref().is_none_or(|s| s.remote().is_some())
    }

    /// Connects to every live database.
    pub async fn connect(&self, how: &Connect) -> Result<Live, CliError> {
        let mut zones = Vec::new();
        for (name, s) in &self.zones {
            let client = match s.remote() {
                Some(r) => Some(how.client(&format!("zone {name} NB"), r).await?),
                None => None,
            };
            zones.push((name.clone(), client));
        }
        let ic = |s: &Option<Source>| s.as_ref().and_then(|s| s.remote().map(str::to_owned));
        let ic_nb = match ic(&self.ic_nb) {
            Some(r) => Some(how.client("IC-NB", &r).await?),
            None => None,
        };
        let ic_sb = match ic(&self.ic_sb) {
            Some(r) => Some(how.client("IC-SB", &r).await?),
            None => None,
        };
        Ok(Live {
            zones,
            ic_nb,
            ic_sb,
        })
    }

    /// Reads the whole world: live databases through `live`, files from disk.
    pub async fn read(&self, live: &Live) -> Result<World, CliError> {
        let mut world = match &self.inventory {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
                World::from_inventory_json(&text)
                    .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
            }
            None => World::default(),
        };
        for ((name, source), (_, client)) in self.zones.iter().zip(&live.zones) {
            let dump = match client {
                Some(c) => read_live(c, ovn_nb::NAME, &NB_TABLES).await?,
                None => match source {
                    Source::File(p) => read_file(p)?,
                    Source::Live(_) => unreachable!("connected above"),
                },
            };
            let zone = ZoneNb::from_dump(Some(name), &dump)
                .map_err(|e| CliError::Input(format!("zone {name} ({source}): {e}")))?;
            world.zones.retain(|z| z.zone != *name);
            world.zones.push(zone);
        }
        let ic_nb = match (&live.ic_nb, &self.ic_nb) {
            (Some(c), _) => Some(read_live(c, ovn_ic_nb::NAME, &IC_NB_TABLES).await?),
            (None, Some(Source::File(p))) => Some(read_file(p)?),
            _ => None,
        };
        let ic_sb = match (&live.ic_sb, &self.ic_sb) {
            (Some(c), _) => Some(read_live(c, ovn_ic_sb::NAME, &IC_SB_TABLES).await?),
            (None, Some(Source::File(p))) => Some(read_file(p)?),
            _ => None,
        };
        if ic_nb.is_some() || ic_sb.is_some() {
            world.ic = IcRows::from_dumps(&ic_nb.unwrap_or_default(), &ic_sb.unwrap_or_default())
                .map_err(|e| CliError::Input(format!("IC databases: {e}")))?;
        }
        Ok(world)
    }
}
