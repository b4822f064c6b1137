//! A tour of `ovsdb-proto`, with no server and nothing installed: a client connection state
//! machine talks to a scripted peer, holds a replica of `Logical_Switch_Port`, and applies
//! `update2` changes to it.
//!
//! ```text
//! cargo run --release --example tour [ROWS]
//! ```
//!
//! It prints each step and the replica afterwards, and exits non-zero if anything disagrees.

use std::collections::HashMap;
use std::time::Instant;

use ovsdb_proto::{
    apply_update2, Call, Connection, ConnectionConfig, DatabaseSchema, Event, MonitorRequest,
    MonitorRequests, Reply, Row, Uuid,
};

/// The OVN_Northbound columns this tour monitors, in the schema's own notation.
const SCHEMA: &str = r#"{"name":"OVN_Northbound","version":"7.0.0","tables":{"Logical_Switch_Port":{"columns":{
  "name":{"type":"string"},
  "addresses":{"type":{"key":"string","min":0,"max":"unlimited"}},
  "port_security":{"type":{"key":"string","min":0,"max":"unlimited"}},
  "external_ids":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
  "options":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
  "up":{"type":{"key":"boolean","min":0,"max":1}},
  "enabled":{"type":{"key":"boolean","min":0,"max":1}}},"indexes":[["name"]],"isRoot":false}}}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let schema = DatabaseSchema::from_slice(SCHEMA.as_bytes())?;
    let table = schema
        .table("Logical_Switch_Port")
        .ok_or("schema lacks the table")?;

    let now = Instant::now();
    let mut conn = Connection::new(ConnectionConfig::default(), now);
    let requests =
        MonitorRequests::default().with("Logical_Switch_Port", MonitorRequest::default());
    let id = conn.call(Call::MonitorCond {
        db: schema.name.clone(),
        monitor_id: "lsp".into(),
        requests,
    });
    let request = conn.poll_transmit().ok_or("nothing to send")?;
    println!("client → server: {}", String::from_utf8_lossy(&request));

    // The scripted server answers with a monitor_cond reply shaped like ovsdb-server's, then
    // an update2 that modifies and deletes rows. The reply arrives in 64 KiB reads.
    let mut reply = ovnlink_testkit::gen::lsp_monitor_cond_reply(rows, 7);
    let reply_id = format!("{{\"id\":{id},");
    reply.splice(0..r#"{"id":1,"#.len(), reply_id.bytes());
    let started = Instant::now();
    for chunk in reply.chunks(64 * 1024) {
        conn.handle_input(chunk, now)?;
    }
    let mut replica: HashMap<Uuid, Row> = HashMap::new();
    match conn.poll_event() {
        Some(Event::Reply {
            result: Ok(Reply::MonitorCond(updates)),
            ..
        }) => {
            for (uuid, update) in updates.0.into_values().flatten() {
                apply_update2(&mut replica, "Logical_Switch_Port", table, uuid, update)?;
            }
        }
        other => return Err(format!("expected the monitor_cond reply, got {other:?}").into()),
    }
    let elapsed = started.elapsed();
    println!(
        "server → client: monitor_cond reply, {:.1} MB, {} rows framed, decoded and applied in {:.0} ms ({:.0} MB/s)",
        reply.len() as f64 / 1e6,
        replica.len(),
        elapsed.as_secs_f64() * 1e3,
        reply.len() as f64 / 1e6 / elapsed.as_secs_f64()
    );
    if replica.len() != rows {
        return Err(format!("replica has {} rows, expected {rows}", replica.len()).into());
    }

    let mut uuids: Vec<Uuid> = replica.keys().copied().collect();
    uuids.sort();
    let (first, second) = (uuids[0], uuids[1]);
    let update = format!(
        r#"{{"id":null,"method":"update2","params":["lsp",{{"Logical_Switch_Port":{{
          "{first}":{{"modify":{{"up":true,"external_ids":["map",[["tour","yes"]]]}}}},
          "{second}":{{"delete":null}}}}}}]}}"#
    );
    conn.handle_input(update.as_bytes(), now)?;
    let Some(Event::Notification(Call::Update2 { updates, .. })) = conn.poll_event() else {
        return Err("expected an update2 notification".into());
    };
    for (uuid, change) in updates.0.into_values().flatten() {
        let applied = apply_update2(&mut replica, "Logical_Switch_Port", table, uuid, change)?;
        println!("update2: {uuid} {applied:?}");
    }
    let row = &replica[&first];
    println!("row {first} now:");
    for (column, value) in row.iter() {
        println!("  {column:<14} {}", serde_json::to_string(value)?);
    }
    if replica.contains_key(&second)
        || row
            .get("external_ids")
            .and_then(|d| d.as_map()?.get_str("tour"))
            != Some("yes")
    {
        return Err("update2 was not applied as expected".into());
    }
    println!("replica: {} rows", replica.len());
    Ok(())
}
