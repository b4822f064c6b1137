//! Running zones on embedded servers: the schemas an embedded server needs, the servers
//! themselves ([`Embedded`]), and the client-side glue of the northd stand-in
//! ([`ic_routes::northd`]): read whole tables over a client and commit what the stand-in
//! computes.
//!
//! ```no_run
//! # async fn demo(nb: &ovsdb_client::Client, sb: &ovsdb_client::Client) -> ovsdb_client::Result<()> {
//! // After each change to the NB topology, bring the SB rows ic-routed reads up to date:
//! let written = ovnlink_lab::embedded::northd_pass(nb, sb).await?;
//! println!("{written} southbound operations");
//! # Ok(()) }
//! ```

use ic_routes::northd::{northd_stand_in, NorthdRows};
use ovn_nb::{LogicalRouter, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort};
use ovn_sb as sb;
use ovsdb_client::{Client, ClientError};
use ovsdb_proto::typed::{Table, TypedStore};
use ovsdb_proto::{OperationResult, Uuid};

/// The four OVN databases as `(name, schema JSON)`: `OVN_Northbound`, `OVN_Southbound`,
/// `OVN_IC_Northbound`, `OVN_IC_Southbound`, each the newest release the typed crates pin
/// (`SCHEMA_JSON`, OVN 26.03.2). Every pinned release's schema is in the crates' `PINNED`, to
/// serve an older one.
pub const DATABASES: [(&str, &str); 4] = [
    (ovn_nb::NAME, ovn_nb::SCHEMA_JSON),
    (sb::NAME, sb::SCHEMA_JSON),
    (ovn_ic_nb::NAME, ovn_ic_nb::SCHEMA_JSON),
    (ovn_ic_sb::NAME, ovn_ic_sb::SCHEMA_JSON),
];

/// Every row of table `T` in `db`, read with one `select` over `client`.
pub async fn select_all<T: Table>(client: &Client, db: &str) -> Result<Vec<T>, ClientError> {
    let results = client
        .transact_checked(db, vec![T::select_op(Vec::new())])
        .await?;
    let mut out = Vec::new();
    for result in results {
        let OperationResult::Select { rows } = result else {
            continue;
        };
        for row in rows {
            let uuid = row
                .get("_uuid")
                .and_then(|d| d.as_atom())
                .and_then(|a| a.as_uuid())
                .unwrap_or_default();
            let decoded = T::from_row(uuid, &row).map_err(|source| ClientError::Protocol {
                remote: format!("{db}.{}", T::NAME),
                source,
            })?;
            out.push(decoded);
        }
    }
    Ok(out)
}

/// Reads the NB and SB rows [`northd_stand_in`] needs, and commits its operations to the
/// southbound database. Returns the number of operations written (0 once up to date).
pub async fn northd_pass(nb: &Client, sb_client: &Client) -> Result<usize, ClientError> {
    let (switches, switch_ports, routers, router_ports) = tokio::try_join!(
        select_all::<LogicalSwitch>(nb, ovn_nb::NAME),
        select_all::<LogicalSwitchPort>(nb, ovn_nb::NAME),
        select_all::<LogicalRouter>(nb, ovn_nb::NAME),
        select_all::<LogicalRouterPort>(nb, ovn_nb::NAME),
    )?;
    let (datapaths, port_bindings) = tokio::try_join!(
        select_all::<sb::DatapathBinding>(sb_client, sb::NAME),
        select_all::<sb::PortBinding>(sb_client, sb::NAME),
    )?;
    let mut nb_rows = TypedStore::new();
    let mut sb_rows = TypedStore::new();
    switches.into_iter().for_each(|r| nb_rows.insert(r));
    switch_ports.into_iter().for_each(|r| nb_rows.insert(r));
    routers.into_iter().for_each(|r| nb_rows.insert(r));
    router_ports.into_iter().for_each(|r| nb_rows.insert(r));
    datapaths.into_iter().for_each(|r| sb_rows.insert(r));
    port_bindings.into_iter().for_each(|r| sb_rows.insert(r));
    let rows = NorthdRows::from_sources(&nb_rows, &sb_rows);
    let ops = northd_stand_in(&rows, &mut || {
        Uuid::from_u128(uuid::Uuid::new_v4().as_u128())
    });
    let n = ops.len();
    if n > 0 {
        sb_client.transact_checked(sb::NAME, ops).await?;
    }
    Ok(n)
}

/// Embedded servers on unix sockets in a temp dir; stopped on drop.
pub struct Embedded {
    servers: Vec<ovsdb_server::Server>,
    _dir: tempfile::TempDir,
    /// Their remotes.
    pub remotes: crate::interconnect::Remotes,
}

impl Embedded {
    /// Starts IC-NB, IC-SB and, per zone name, an NB and an SB server.
    pub async fn start(zones: &[&str]) -> Result<Embedded, String> {
        let dir = tempfile::Builder::new()
            .prefix("ovnlink-interconnect")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let mut servers = Vec::new();
        let mut serve = |file: String, db: usize| {
            let (name, json) = DATABASES[db];
            let server = ovsdb_server::Server::new();
            let schema = ovsdb_proto::DatabaseSchema::from_slice(json.as_bytes())
                .map_err(|e| format!("{name} schema: {e}"))?;
            server
                .add_database(schema)
                .map_err(|e| format!("{name}: {e}"))?;
            let path = dir.path().join(file);
            servers.push(server.clone());
            Ok::<_, String>((server, format!("punix:{}", path.display())))
        };
        let mut pending = vec![
            serve("ic-nb.sock".into(), 2)?,
            serve("ic-sb.sock".into(), 3)?,
        ];
        for z in zones {
            pending.push(serve(format!("{z}-nb.sock"), 0)?);
            pending.push(serve(format!("{z}-sb.sock"), 1)?);
        }
        let mut remotes = Vec::new();
        for (server, remote) in &pending {
            remotes.push(
                server
                    .listen(remote)
                    .await
                    .map_err(|e| format!("{remote}: {e}"))?,
            );
        }
        Ok(Embedded {
            servers,
            _dir: dir,
            remotes: crate::interconnect::Remotes {
                ic_nb: remotes[0].clone(),
                ic_sb: remotes[1].clone(),
                zones: zones
                    .iter()
                    .enumerate()
                    .map(|(i, z)| crate::interconnect::ZoneRemotes {
                        name: (*z).to_owned(),
                        nb: remotes[2 + 2 * i].clone(),
                        sb: remotes[3 + 2 * i].clone(),
                    })
                    .collect(),
            },
        })
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        for s in &self.servers {
            s.shutdown();
        }
    }
}
