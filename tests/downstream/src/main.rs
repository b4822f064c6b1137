//! An embedder's first program, built from the published packages only: an embedded
//! `ovsdb-server` serving OVN's northbound and interconnection databases, typed replicas of
//! them through `ovsdb-client`, a router inserted and seen in the typed cache, the route
//! engine of `ic-routes` run on a snapshot of the replicas and its plan applied, and a VPC
//! policy of `isolation` checked on the same rows. Exits 0 and prints `downstream: ok`.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use ic_routes::Snapshot;
use isolation::{verify, IcRows, Inventory, Policy, VpcFilter, World, ZoneNb};
use ovn_ic_nb::TransitSwitch;
use ovn_ic_sb::{AvailabilityZone, PortBinding, Route};
use ovn_nb::{
    LogicalRouter, LogicalRouterPort, LogicalRouterStaticRoute, LogicalSwitch, LogicalSwitchPort,
    NbGlobal,
};
use ovsdb_client::{Cache, Client, ClientConfig, MonitorSpec};
use ovsdb_proto::typed::{Ref, StringMap, Table};
use ovsdb_proto::{DatabaseSchema, Operation, OperationResult, Uuid};
use ovsdb_server::Server;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const WAIT: Duration = Duration::from_secs(10);

/// Commits `ops` and returns the UUIDs of the rows they inserted, in order.
async fn commit(client: &Client, db: &str, ops: Vec<Operation>) -> Result<Vec<Uuid>> {
    let results = client.transact_checked(db, ops).await?;
    Ok(results
        .into_iter()
        .filter_map(|r| match r {
            OperationResult::Insert { uuid } => Some(uuid),
            _ => None,
        })
        .collect())
}

fn check(what: &str, ok: bool) -> Result<()> {
    if ok {
        println!("downstream: {what}");
        Ok(())
    } else {
        Err(format!("downstream: failed: {what}").into())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    // 1. An embedded server with the three databases one zone's route exchange reads.
    let server = Server::new();
    for schema in [
        ovn_nb::SCHEMA_JSON,
        ovn_ic_nb::SCHEMA_JSON,
        ovn_ic_sb::SCHEMA_JSON,
    ] {
        server.add_database(DatabaseSchema::from_slice(schema.as_bytes())?)?;
    }
    let remote = server.listen("ptcp:0:127.0.0.1").await?;

    // 2. Typed replicas through ovsdb-client.
    let client = Client::connect(ClientConfig::new(&remote)?, WAIT).await?;
    let nb: Arc<Cache> = client
        .monitor(
            ovn_nb::NAME,
            MonitorSpec::all().typed_database::<ovn_nb::Database>(),
        )
        .await?;
    let ic_nb = client
        .monitor(
            ovn_ic_nb::NAME,
            MonitorSpec::all().typed_database::<ovn_ic_nb::Database>(),
        )
        .await?;
    let ic_sb = client
        .monitor(
            ovn_ic_sb::NAME,
            MonitorSpec::all().typed_database::<ovn_ic_sb::Database>(),
        )
        .await?;

    // 3. Zone az1: a Kube-OVN VPC router `vpc-a` with a subnet, a port on transit switch
    //    ts1 and a static route, written with the generated rows in one transaction (rows
    //    given a UUID are inserted with it, so the router can refer to its ports).
    let id = Uuid::from_u128;
    let mut global = NbGlobal::default();
    global.name = "az1".into();
    global.options = StringMap::from([("ic-route-adv", "true"), ("ic-route-learn", "true")]);
    let mut subnet = LogicalRouterPort::default();
    (subnet.uuid, subnet.name, subnet.mac) =
        (id(1), "vpc-a-subnet1".into(), "aa:aa:aa:aa:aa:10".into());
    subnet.networks = vec!["10.20.0.1/24".into()];
    let mut ts_port = LogicalRouterPort::default();
    (ts_port.uuid, ts_port.name, ts_port.mac) =
        (id(2), "vpc-a-ts1".into(), "aa:aa:aa:aa:aa:01".into());
    ts_port.networks = vec!["169.254.100.1/24".into()];
    let mut static_route = LogicalRouterStaticRoute::default();
    (
        static_route.uuid,
        static_route.ip_prefix,
        static_route.nexthop,
    ) = (id(3), "10.21.0.0/24".into(), "10.20.0.254".into());
    let mut lsp = LogicalSwitchPort::default();
    (lsp.uuid, lsp.name, lsp.type_) = (id(5), "ts1-vpc-a".into(), "router".into());
    lsp.options = StringMap::from([("router-port", "vpc-a-ts1")]);
    // The zone's copy of the transit switch (ovn-ic creates it), holding the router's port.
    let mut ts_copy = LogicalSwitch::default();
    (ts_copy.name, ts_copy.ports) = ("ts1".into(), vec![Ref::new(lsp.uuid)]);
    ts_copy.other_config = StringMap::from([("interconn-ts", "ts1")]);
    let mut router = LogicalRouter::default();
    (router.uuid, router.name) = (id(4), "vpc-a".into());
    router.external_ids = StringMap::from([("vendor", "kube-ovn")]);
    router.ports = vec![Ref::new(subnet.uuid), Ref::new(ts_port.uuid)];
    router.static_routes = vec![Ref::new(static_route.uuid)];
    let lr = router.uuid;
    commit(
        &client,
        ovn_nb::NAME,
        vec![
            global.insert_op(),
            subnet.insert_op(),
            ts_port.insert_op(),
            static_route.insert_op(),
            lsp.insert_op(),
            ts_copy.insert_op(),
            router.insert_op(),
        ],
    )
    .await?;

    // Read-your-writes: the typed cache holds the router as soon as the transaction returns.
    check(
        "the inserted router is in the typed cache",
        nb.read().typed::<LogicalRouter>().is_some_and(|t| {
            t.get(&lr)
                .is_some_and(|r| r.name == "vpc-a" && r.ports.len() == 2)
        }),
    )?;

    // 4. The interconnection databases: ts1, two zones, az1's port binding, and a route
    //    zone az2 advertised on ts1.
    let mut ts1 = TransitSwitch::default();
    ts1.name = "ts1".into();
    commit(&client, ovn_ic_nb::NAME, vec![ts1.insert_op()]).await?;
    let mut azs = Vec::new();
    for name in ["az1", "az2"] {
        let mut az = AvailabilityZone::default();
        az.name = name.into();
        azs.push(commit(&client, ovn_ic_sb::NAME, vec![az.insert_op()]).await?[0]);
    }
    let mut pb = PortBinding::default();
    (pb.logical_port, pb.transit_switch) = ("ts1-vpc-a".into(), "ts1".into());
    (pb.availability_zone, pb.address) = (
        Ref::new(azs[0]),
        "aa:aa:aa:aa:aa:01 169.254.100.1/24".into(),
    );
    pb.external_ids = StringMap::from([("router-id", lr.to_string())]);
    let mut theirs = Route::default();
    (theirs.availability_zone, theirs.transit_switch) = (Ref::new(azs[1]), "ts1".into());
    (theirs.ip_prefix, theirs.nexthop) = ("10.30.0.0/24".into(), "169.254.100.2".into());
    commit(
        &client,
        ovn_ic_sb::NAME,
        vec![pb.insert_op(), theirs.insert_op()],
    )
    .await?;

    // 5. The route engine on a snapshot of the replicas.
    let snapshot = || {
        Snapshot::from_sources("az1", &*nb.read(), &*ic_nb.read(), &*ic_sb.read())
            .ok_or("a replica lacks one of the engine's tables")
    };
    let plan = snapshot()?.plan();
    let mut advertised: Vec<_> = plan
        .advertisements_to_insert
        .iter()
        .map(|r| (r.ip_prefix.as_str(), r.nexthop.as_str()))
        .collect();
    advertised.sort();
    check(
        "the engine advertises the VPC's subnet and static route",
        // A connected network keeps its host bits, as ovn-ic advertises it.
        advertised
            == [
                ("10.20.0.1/24", "169.254.100.1"),
                ("10.21.0.0/24", "169.254.100.1"),
            ],
    )?;
    let learned: Vec<_> = plan
        .learned_to_insert
        .iter()
        .map(|l| (l.router, l.route.ip_prefix.as_str()))
        .collect();
    check(
        "the engine learns az2's route on vpc-a",
        learned == [(lr, "10.30.0.0/24")],
    )?;
    let ops = plan.operations();
    commit(&client, ovn_nb::NAME, ops.nb).await?;
    commit(&client, ovn_ic_sb::NAME, ops.ic_sb).await?;
    check(
        "applied, the next plan is empty",
        snapshot()?.plan().is_empty(),
    )?;

    // 6. A VPC policy on the same rows: vpc-a is known, and with no pair declared a route
    //    whose source VPC is unknown is not learned.
    let mut world = World::default();
    world.zones = vec![ZoneNb::from_sources("az1", &*nb.read())?];
    let mut ic = IcRows::default();
    ic.transit_switches = snapshot()?.ic_nb.transit_switches;
    let sb = snapshot()?.ic_sb;
    (ic.availability_zones, ic.port_bindings, ic.routes) =
        (sb.availability_zones, sb.port_bindings, sb.routes);
    world.ic = ic;
    let policy = Policy::from_json(r#"{"pairs": []}"#)?;
    let inventory = Inventory::from_world(&world);
    check(
        "the inventory finds the Kube-OVN VPC",
        inventory.by_router_name("az1", "vpc-a").is_some(),
    )?;
    let report = verify(&world, &inventory, &policy);
    check("the verifier finds no leak", report.leaks.is_empty())?;
    let filter = VpcFilter::new(inventory, policy);
    let filtered = world
        .route_snapshot("az1")
        .ok_or("no zone az1")?
        .plan_filtered(&filter);
    check(
        "the VPC filter withdraws the route of an unknown source",
        filtered.learned_to_insert.is_empty() && filtered.learned_to_delete.len() == 1,
    )?;

    client.shutdown();
    server.shutdown();
    println!("downstream: ok");
    Ok(())
}
