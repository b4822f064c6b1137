//! Conformance: each case runs against the real `ovsdb-server` (skipped when its binaries are
//! missing, unless `OVNLINK_REAL_TESTS=1`) and the embedded server, and the replies and
//! notifications must be equal modulo UUIDs (renamed by order of first appearance), error
//! `details`, and transaction ids (standalone ovsdb-server reports the zero UUID).

mod common;

use std::path::Path;

use common::{conform, conform_with, schema_path, Script, NB_SCHEMA};
use serde_json::{json, Value};

const DB: &str = "Conformance";

fn conf(conns: usize, script: impl Fn(&mut Script)) -> Vec<Value> {
    let p = schema_path();
    conform(&[p.as_path()], conns, script)
}

fn nb(conns: usize, script: impl Fn(&mut Script)) -> Vec<Value> {
    if !ovnlink_testkit::release::release()
        .host_path(NB_SCHEMA)
        .exists()
    {
        assert!(
            std::env::var_os("OVNLINK_REAL_TESTS").is_none_or(|v| v != "1"),
            "{NB_SCHEMA} missing"
        );
        eprintln!("skipped: {NB_SCHEMA} missing");
        return Vec::new();
    }
    conform(&[Path::new(NB_SCHEMA)], conns, script)
}

fn error_of(v: &Value) -> Option<&str> {
    v["result"]
        .as_array()?
        .iter()
        .find_map(|r| r.get("error").and_then(Value::as_str))
}

#[test]
fn insert_and_select() {
    let t = conf(1, |s| {
        s.transact(
            0,
            DB,
            json!([
                {"op": "insert", "table": "Root", "row": {
                    "name": "a", "count": 3, "ratio": 0.5, "color": "red", "short": "abcd",
                    "flag": true, "tags": ["set", ["x", "y"]], "nums": ["set", [1, 2, 3]],
                    "opts": ["map", [["k1", "v1"], ["k2", "v2"]]], "fixed": "f", "scratch": "s"}},
                {"op": "insert", "table": "Root", "row": {"name": "b", "count": 7, "ratio": 1}},
                {"op": "select", "table": "Root", "where": []},
                {"op": "select", "table": "Root", "where": [["name", "==", "a"]], "columns": ["name", "tags", "_uuid"]},
                {"op": "select", "table": "Root", "where": [["name", "!=", "a"]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["count", "<", 5]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["count", ">=", 5]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["ratio", "<=", 0.5], ["count", ">", 0]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["tags", "includes", "x"]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["tags", "excludes", "x"]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["opts", "includes", ["map", [["k1", "v1"]]]]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["opts", "excludes", ["map", [["k1", "zz"]]]]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["color", "==", ["set", []]]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["nums", "==", ["set", [3, 2, 1]]]], "columns": ["name"]},
                {"op": "select", "table": "Root", "where": [["color", "==", "pink"]], "columns": ["name"]}
            ]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Root", "where": [], "columns": ["name", "count", "ratio", "scratch"]}]),
        );
    });
    assert!(t.len() == 2);
}

#[test]
fn update_mutate_delete() {
    conf(1, |s| {
        s.transact(
            0,
            DB,
            json!([
                {"op": "insert", "table": "Root", "row": {"name": "a", "tags": ["set", ["x"]], "nums": ["set", [1, 5]], "opts": ["map", [["k", "v"]]], "ratio": 0.25}},
                {"op": "insert", "table": "Root", "row": {"name": "b", "count": 10}}
            ]),
        );
        s.transact(
            0,
            DB,
            json!([
                {"op": "update", "table": "Root", "where": [["name", "==", "a"]], "row": {"count": 4, "color": "green", "tags": ["set", ["p", "q"]]}},
                {"op": "update", "table": "Root", "where": [["name", "==", "zz"]], "row": {"count": 4}},
                {"op": "mutate", "table": "Root", "where": [], "mutations": [["count", "+=", 2]]},
                {"op": "mutate", "table": "Root", "where": [["name", "==", "a"]], "mutations": [
                    ["count", "*=", 3], ["count", "-=", 1], ["count", "/=", 2], ["count", "%=", 4],
                    ["ratio", "*=", 2], ["nums", "+=", 10],
                    ["tags", "insert", "r"], ["tags", "delete", ["set", ["p", "zz"]]],
                    ["opts", "insert", ["map", [["k", "ignored"], ["k2", "v2"]]]],
                    ["opts", "delete", ["set", ["zz"]]],
                    ["color", "delete", "green"]]},
                {"op": "mutate", "table": "Root", "where": [["name", "==", "a"]], "mutations": [
                    ["opts", "delete", ["map", [["k2", "v2"], ["k", "other"]]]]]},
                {"op": "select", "table": "Root", "where": [], "columns": ["name", "count", "ratio", "nums", "tags", "opts", "color"]},
                {"op": "delete", "table": "Root", "where": [["name", "==", "b"]]},
                {"op": "delete", "table": "Root", "where": [["name", "==", "b"]]},
                {"op": "select", "table": "Root", "where": [], "columns": ["name"]}
            ]),
        );
    });
}

#[test]
fn named_and_explicit_uuids() {
    conf(1, |s| {
        s.transact(
            0,
            DB,
            json!([
                // A forward reference to a uuid-name.
                {"op": "insert", "table": "Root", "row": {"name": "p", "kids": ["named-uuid", "kid"], "target": ["named-uuid", "t"]}},
                {"op": "insert", "table": "Child", "uuid-name": "kid", "row": {"name": "c1", "peer": ["named-uuid", "kid"]}},
                {"op": "insert", "table": "Target", "uuid-name": "t", "row": {"name": "t1"}},
                {"op": "select", "table": "Child", "where": [["_uuid", "==", ["named-uuid", "kid"]]], "columns": ["name", "peer"]}
            ]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "uuid": "11111111-2222-3333-4444-555555555555", "row": {"name": "fixed"}},
                   {"op": "select", "table": "Target", "where": [["_uuid", "==", ["uuid", "11111111-2222-3333-4444-555555555555"]]], "columns": ["name", "_uuid"]}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "uuid": "11111111-2222-3333-4444-555555555555", "row": {"name": "again"}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "uuid-name": "x", "row": {"name": "x1"}},
                   {"op": "insert", "table": "Target", "uuid-name": "x", "row": {"name": "x2"}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Target", "where": [], "columns": ["name"]}]),
        );
    });
}

#[test]
fn syntax_and_type_errors() {
    let t = conf(1, |s| {
        let cases = [
            json!([{"op": "insert", "table": "Nope", "row": {}}]),
            json!([{"op": "comment", "comment": "c"}, {"op": "frob", "table": "Root"}, {"op": "comment", "comment": "d"}]),
            json!([{"op": "insert", "table": "Root", "row": {"bogus": 1}}]),
            json!([{"op": "insert", "table": "Root", "row": {"count": "x"}}]),
            json!([{"op": "insert", "table": "Root", "row": {"count": 101}}]),
            json!([{"op": "insert", "table": "Root", "row": {"count": -1}}]),
            json!([{"op": "insert", "table": "Root", "row": {"ratio": 1.5}}]),
            json!([{"op": "insert", "table": "Root", "row": {"color": "pink"}}]),
            json!([{"op": "insert", "table": "Root", "row": {"short": "toolong"}}]),
            json!([{"op": "insert", "table": "Root", "row": {"tags": ["set", ["a", "b", "c", "d"]]}}]),
            json!([{"op": "insert", "table": "Root", "row": {"opts": ["set", ["a"]]}}]),
            json!([{"op": "select", "table": "Root", "where": [["nope", "==", 1]]}]),
            json!([{"op": "select", "table": "Root", "where": [["name", "==", 1]]}]),
            json!([{"op": "select", "table": "Root", "where": [["name", "<", "a"]]}]),
            json!([{"op": "select", "table": "Root", "where": [], "columns": ["nope"]}]),
            json!([{"op": "update", "table": "Root", "where": [], "row": {"fixed": "z"}}]),
            json!([{"op": "update", "table": "Root", "where": [], "row": {"_uuid": ["uuid", "11111111-2222-3333-4444-555555555555"]}}]),
            json!([{"op": "update", "table": "Root", "where": [], "row": {"nope": 1}}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["name", "+=", "x"]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["name", "insert", "x"]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["fixed", "insert", "x"]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["_uuid", "+=", 1]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["nope", "+=", 1]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["count", "/=", 0]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["count", "%=", 0]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["ratio", "%=", 2]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["count", "+=", 1000]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["nums", "+=", 9223372036854775807_i64]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["tags", "insert", ["set", ["a", "b", "c", "d"]]]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["tags", "insert", ["set", ["p", "q"]]]]}]),
            json!([{"op": "mutate", "table": "Root", "where": [], "mutations": [["color", "insert", "pink"]]}]),
            json!([{"op": "insert", "table": "Root", "row": {"name": "dup", "tags": ["set", ["a", "a"]]}}]),
            json!([{"op": "insert", "table": "Root", "row": {"name": "dup", "opts": ["map", [["k", "1"], ["k", "2"]]]}}]),
            json!([{"op": "insert", "table": "Root"}]),
            json!([{"op": "select", "table": "Root"}]),
            json!([{"op": "delete", "table": "Root", "where": [["name", "==", "zz"]], "extra": 1}]),
            json!([{"op": "wait", "table": "Root", "where": [], "columns": ["nope"], "until": "==", "rows": []}]),
            json!([{"op": "wait", "table": "Root", "where": [], "columns": ["name"], "until": "<", "rows": []}]),
        ];
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "r", "tags": ["set", ["x", "y"]], "nums": ["set", [1]]}}]),
        );
        for c in cases {
            s.transact(0, DB, c);
        }
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Root", "where": [], "columns": ["name", "count", "tags", "nums"]}]),
        );
    });
    let errors: Vec<Option<&str>> = t.iter().map(|e| error_of(&e["response"])).collect();
    assert!(errors.contains(&Some("syntax error")));
    assert!(errors.contains(&Some("constraint violation")));
    assert!(errors.contains(&Some("domain error")));
    assert!(errors.contains(&Some("range error")));
    assert!(errors.contains(&Some("unknown column")));
}

#[test]
fn index_and_max_rows() {
    conf(1, |s| {
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "a"}}]),
        );
        // Against an existing row, then within one transaction.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "a"}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "b"}},
                   {"op": "insert", "table": "Root", "row": {"name": "b"}}]),
        );
        // Swapping names inside one transaction is fine.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "c"}},
                   {"op": "update", "table": "Root", "where": [["name", "==", "a"]], "row": {"name": "tmp"}},
                   {"op": "update", "table": "Root", "where": [["name", "==", "c"]], "row": {"name": "a"}},
                   {"op": "update", "table": "Root", "where": [["name", "==", "tmp"]], "row": {"name": "c"}}]),
        );
        // Two-column index.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Limited", "row": {"a": "x", "b": 1}},
                   {"op": "insert", "table": "Limited", "row": {"a": "x", "b": 2}}]),
        );
        s.transact(0, DB, json!([{"op": "update", "table": "Limited", "where": [["b", "==", 2]], "row": {"b": 1}}]));
        // maxRows 2.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Limited", "row": {"a": "y"}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Limited", "where": [["b", "==", 2]]},
                   {"op": "insert", "table": "Limited", "row": {"a": "y"}}]),
        );
        s.transact(0, DB, json!([{"op": "select", "table": "Limited", "where": [], "columns": ["a", "b"]},
                                {"op": "select", "table": "Root", "where": [], "columns": ["name"]}]));
    });
}

#[test]
fn references_and_garbage_collection() {
    conf(1, |s| {
        // Strong reference to a row that does not exist.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "bad", "target": ["uuid", "11111111-2222-3333-4444-555555555555"]}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "bad", "kids": ["named-uuid", "never"]}}]),
        );
        // An unreferenced non-root row is collected at once.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Child", "row": {"name": "orphan"}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Child", "where": [], "columns": ["name"]}]),
        );
        // Referenced children live.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "uuid-name": "t", "row": {"name": "t1"}},
                   {"op": "insert", "table": "Child", "uuid-name": "c1", "row": {"name": "c1"}},
                   {"op": "insert", "table": "Child", "uuid-name": "c2", "row": {"name": "c2", "peer": ["named-uuid", "c1"]}},
                   {"op": "insert", "table": "Root", "row": {"name": "p", "target": ["named-uuid", "t"], "kids": ["set", [["named-uuid", "c1"], ["named-uuid", "c2"]]]}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Child", "where": [], "columns": ["name", "peer"]}]),
        );
        // Deleting a strongly referenced row fails, root or not.
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Target", "where": []}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Child", "where": [["name", "==", "c1"]]}]),
        );
        // Dropping the reference collects the child; the weak peer reference to it goes too.
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Child", "where": [["name", "==", "c1"]], "columns": ["_uuid"]}]),
        );
        let c1 = s.log.last().and_then(|e| {
            e["response"]["result"][0]["rows"][0]["_uuid"]
                .as_array()
                .cloned()
        });
        let c1 = Value::Array(c1.unwrap_or_default());
        s.transact(
            0,
            DB,
            json!([{"op": "mutate", "table": "Root", "where": [["name", "==", "p"]], "mutations": [["kids", "delete", c1]]},
                   {"op": "select", "table": "Child", "where": [], "columns": ["name", "peer"]}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Child", "where": [], "columns": ["name", "peer"]}]),
        );
        // Deleting the parent collects the rest.
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Root", "where": [["name", "==", "p"]]}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Child", "where": [], "columns": ["name"]}]),
        );
    });
}

#[test]
fn weak_references() {
    conf(1, |s| {
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "uuid-name": "t1", "row": {"name": "t1"}},
                   {"op": "insert", "table": "Target", "uuid-name": "t2", "row": {"name": "t2"}},
                   {"op": "insert", "table": "Root", "row": {"name": "w", "weak": ["set", [["named-uuid", "t1"], ["named-uuid", "t2"], ["uuid", "11111111-2222-3333-4444-555555555555"]]]}},
                   {"op": "insert", "table": "Holder", "row": {"name": "h", "must": ["named-uuid", "t1"]}},
                   {"op": "insert", "table": "Holder", "row": {"name": "h2", "must": ["set", [["named-uuid", "t1"], ["named-uuid", "t2"]]]}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Root", "where": [], "columns": ["name", "weak"]}]),
        );
        // Deleting t2 drops it from the weak sets.
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Target", "where": [["name", "==", "t2"]]},
                   {"op": "select", "table": "Root", "where": [], "columns": ["weak"]}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Root", "where": [], "columns": ["weak"]},
                   {"op": "select", "table": "Holder", "where": [], "columns": ["name", "must"]}]),
        );
        // Deleting t1 would leave Holder h with no element in a min-1 column.
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Target", "where": [["name", "==", "t1"]]}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Holder", "where": [["name", "==", "h"]]},
                   {"op": "delete", "table": "Target", "where": [["name", "==", "t1"]]}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Holder", "where": [], "columns": ["name"]}]),
        );
    });
}

#[test]
fn wait_commit_abort_comment() {
    conf(2, |s| {
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "a"}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "wait", "table": "Target", "where": [], "columns": ["name"], "until": "==", "rows": [{"name": "a"}], "timeout": 0},
                   {"op": "wait", "table": "Target", "where": [["name", "==", "b"]], "columns": ["name"], "until": "==", "rows": []},
                   {"op": "wait", "table": "Target", "where": [], "columns": ["name"], "until": "!=", "rows": [], "timeout": 0},
                   {"op": "comment", "comment": "hello"},
                   {"op": "commit", "durable": false},
                   {"op": "insert", "table": "Target", "row": {"name": "b"}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "wait", "table": "Target", "where": [], "columns": ["name"], "until": "==", "rows": [{"name": "a"}], "timeout": 0}]),
        );
        // Without `columns`: every column (as the C IDL sends it).
        s.transact(
            0,
            DB,
            json!([{"op": "wait", "table": "Target", "where": [["name", "==", "zz"]], "until": "==", "rows": [], "timeout": 0},
                   {"op": "wait", "table": "Target", "where": [["name", "==", "a"]], "until": "==", "rows": [{"name": "a"}], "timeout": 0}]),
        );
        // A wait with a timeout that never holds.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "never"}},
                   {"op": "wait", "table": "Target", "where": [["name", "==", "zz"]], "columns": ["name"], "until": "!=", "rows": [], "timeout": 200}]),
        );
        // A wait that another client's commit satisfies.
        let id = s.conns[0].send(
            "transact",
            json!([DB, {"op": "wait", "table": "Target", "where": [["name", "==", "later"]], "columns": ["name"], "until": "==", "rows": [{"name": "later"}], "timeout": 10000},
                   {"op": "insert", "table": "Target", "row": {"name": "after-wait"}}]),
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        s.transact(
            1,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "later"}}]),
        );
        let r = s.conns[0].wait_reply(id);
        s.log.push(json!({"blocked": r}));
        // A blocked wait canceled by the client.
        let id = s.conns[0].send(
            "transact",
            json!([DB, {"op": "wait", "table": "Target", "where": [["name", "==", "never"]], "columns": ["name"], "until": "!=", "rows": []}]),
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
        s.conns[0]
            .send_raw(
                json!({"id": null, "method": "cancel", "params": [id.clone()]})
                    .to_string()
                    .as_bytes(),
            )
            .expect("write");
        // ovsdb-server 3.1 sends no reply for a canceled transaction.
        s.call(0, "echo", json!(["after cancel"]));
        s.call(0, "cancel", json!([id]));
        s.transact(
            1,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "never"}}]),
        );
        s.call(0, "echo", json!(["still no reply"]));
        s.transact(
            0,
            DB,
            json!([{"op": "abort"}, {"op": "insert", "table": "Target", "row": {"name": "x"}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "y"}}, {"op": "abort"}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "select", "table": "Target", "where": [], "columns": ["name"]}]),
        );
    });
}

#[test]
fn locks_and_assert() {
    conf(2, |s| {
        s.call(0, "lock", json!(["L"]));
        s.call(0, "lock", json!(["L"]));
        s.call(1, "lock", json!(["L"]));
        s.transact(0, DB, json!([{"op": "assert", "lock": "L"}, {"op": "insert", "table": "Target", "row": {"name": "owner"}}]));
        s.transact(1, DB, json!([{"op": "assert", "lock": "L"}, {"op": "insert", "table": "Target", "row": {"name": "waiter"}}]));
        s.call(0, "unlock", json!(["L"]));
        s.expect_notifications(1, 1);
        s.transact(1, DB, json!([{"op": "assert", "lock": "L"}]));
        s.call(0, "steal", json!(["L"]));
        s.expect_notifications(1, 1);
        s.transact(1, DB, json!([{"op": "assert", "lock": "L"}]));
        s.call(1, "unlock", json!(["L"]));
        s.call(1, "unlock", json!(["L"]));
        s.call(1, "lock", json!(["M"]));
        s.call(0, "lock", json!(["M"]));
        s.expect_quiet(0);
    });
}

#[test]
fn rpc_methods() {
    conf(1, |s| {
        s.call(0, "list_dbs", json!([]));
        s.call(0, "echo", json!(["a", 1, {"b": [true]}]));
        s.call(0, "echo", json!([]));
        s.call(0, "get_schema", json!([DB]));
        s.call(0, "get_schema", json!(["_Server"]));
        s.call(0, "get_schema", json!(["Nope"]));
        s.call(0, "get_schema", json!([]));
        s.call(
            0,
            "transact",
            json!(["Nope", {"op": "comment", "comment": "x"}]),
        );
        s.call(0, "transact", json!([]));
        s.call(0, "frobnicate", json!([]));
        s.call(0, "set_db_change_aware", json!([true]));
        s.call(0, "monitor_cancel", json!(["nope"]));
        s.call(0, "monitor_cond_change", json!(["nope", "nope", {}]));
        s.call(0, "monitor", json!([DB, "m", {"Nope": {}}]));
        s.call(0, "monitor", json!([DB, "m", {"Target": {}}]));
        s.call(0, "monitor", json!([DB, "m", {"Target": {}}]));
        s.call(0, "monitor_cancel", json!(["m"]));
        s.call(0, "monitor_cancel", json!(["m"]));
        s.transact(
            0,
            "_Server",
            json!([{"op": "select", "table": "Database", "where": [], "columns": ["name", "model", "connected", "leader", "cid", "sid", "index"]}]),
        );
        s.transact(
            0,
            "_Server",
            json!([{"op": "delete", "table": "Database", "where": []}]),
        );
        s.call(0, "monitor_cond", json!(["_Server", "srv", {"Database": [{"columns": ["name", "model", "connected", "leader"]}]}]));
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "uuid": "11111111-2222-3333-4444-555555555599", "uuid-name": "a", "row": {"name": "x"}},
                   {"op": "select", "table": "Target", "where": [["_uuid", "==", ["named-uuid", "a"]]], "columns": ["_uuid"]}]),
        );
    });
}

#[test]
fn monitor_v1() {
    conf(2, |s| {
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "a", "tags": ["set", ["x"]]}},
                                 {"op": "insert", "table": "Target", "row": {"name": "t"}}]),
        );
        s.call(
            0,
            "monitor",
            json!([DB, "m1", {
            "Root": {"columns": ["name", "count", "tags", "opts"]},
            "Target": [{"select": {"initial": false, "modify": false}}]}]),
        );
        s.transact(
            1,
            DB,
            json!([{"op": "update", "table": "Root", "where": [], "row": {"count": 2, "tags": ["set", ["y"]], "opts": ["map", [["k", "v"]]]}},
                   {"op": "insert", "table": "Target", "row": {"name": "t2"}},
                   {"op": "update", "table": "Target", "where": [], "row": {"name": "renamed"}}]),
        );
        s.expect_notifications(0, 1);
        // A change to an unmonitored column only: no notification.
        s.transact(
            1,
            DB,
            json!([{"op": "update", "table": "Root", "where": [], "row": {"flag": true}}]),
        );
        s.expect_quiet(0);
        // The committing client gets the update before the reply.
        s.transact(0, DB, json!([{"op": "insert", "table": "Root", "row": {"name": "b"}},
                                 {"op": "delete", "table": "Root", "where": [["name", "==", "a"]]}]));
        s.expect_notifications(0, 1);
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Target", "where": []}]),
        );
        s.expect_notifications(0, 1);
        s.call(0, "monitor_cancel", json!(["m1"]));
        s.transact(
            1,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "c"}}]),
        );
        s.expect_quiet(0);
    });
}

#[test]
fn monitor_cond_and_change() {
    conf(2, |s| {
        s.transact(0, DB, json!([{"op": "insert", "table": "Root", "row": {"name": "a", "count": 1}},
                                 {"op": "insert", "table": "Root", "row": {"name": "b", "count": 2, "opts": ["map", [["k", "v"]]]}}]));
        s.call(0, "monitor_cond", json!([DB, ["m", 2], {
            "Root": [{"columns": ["name", "count", "tags", "opts"], "where": [["count", ">=", 2]]}]}]));
        s.transact(
            1,
            DB,
            json!([{"op": "update", "table": "Root", "where": [["name", "==", "b"]], "row": {"count": 3, "tags": ["set", ["p", "q"]], "opts": ["map", [["k", "w"], ["k2", "v2"]]]}}]),
        );
        s.expect_notifications(0, 1);
        s.transact(1, DB, json!([{"op": "update", "table": "Root", "where": [["name", "==", "b"]], "row": {"tags": ["set", ["q", "r"]]}}]));
        s.expect_notifications(0, 1);
        // Rows entering and leaving the condition.
        s.transact(1, DB, json!([{"op": "update", "table": "Root", "where": [["name", "==", "a"]], "row": {"count": 5}},
                                 {"op": "update", "table": "Root", "where": [["name", "==", "b"]], "row": {"count": 0}}]));
        s.expect_notifications(0, 1);
        // A row inserted outside the condition: nothing.
        s.transact(
            1,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "c", "count": 0}}]),
        );
        s.expect_quiet(0);
        s.transact(
            1,
            DB,
            json!([{"op": "insert", "table": "Root", "row": {"name": "d", "count": 9}}]),
        );
        s.expect_notifications(0, 1);
        // Changing the condition: the updates come before the reply.
        s.call(
            0,
            "monitor_cond_change",
            json!([["m", 2], "m2", {"Root": [{"where": [["name", "==", "c"]]}]}]),
        );
        s.expect_notifications(0, 1);
        s.call(
            0,
            "monitor_cond_change",
            json!(["m2", "m3", {"Root": [{"where": [true]}]}]),
        );
        s.expect_notifications(0, 1);
        s.transact(
            1,
            DB,
            json!([{"op": "delete", "table": "Root", "where": [["name", "==", "a"]]}]),
        );
        s.expect_notifications(0, 1);
        s.call(
            0,
            "monitor_cond_change",
            json!(["m3", "m4", {"Root": [{"where": [false]}]}]),
        );
        s.expect_notifications(0, 1);
        s.transact(
            1,
            DB,
            json!([{"op": "delete", "table": "Root", "where": []}]),
        );
        s.expect_quiet(0);
    });
}

#[test]
fn monitor_cond_since_not_found() {
    conf(2, |s| {
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "a"}}]),
        );
        s.call(0, "monitor_cond_since", json!([DB, "s", {"Target": [{"columns": ["name"]}]}, "00000000-0000-0000-0000-000000000000"]));
        s.call(1, "monitor_cond_since", json!([DB, "s", {"Target": [{"columns": ["name"], "where": [["name", "!=", "b"]]}]}, "11111111-2222-3333-4444-555555555555"]));
        s.transact(0, DB, json!([{"op": "insert", "table": "Target", "row": {"name": "b"}},
                                 {"op": "update", "table": "Target", "where": [["name", "==", "a"]], "row": {"name": "a2"}}]));
        s.expect_notifications(0, 1);
        s.expect_notifications(1, 1);
    });
}

#[test]
fn nb_logical_switches_and_ports() {
    nb(2, |s| {
        s.call(
            1,
            "monitor_cond",
            json!(["OVN_Northbound", "nb", {
            "Logical_Switch": [{"columns": ["name", "ports", "other_config"]}],
            "Logical_Switch_Port": [{"columns": ["name", "addresses", "type", "enabled"]}]}]),
        );
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "insert", "table": "Logical_Switch", "uuid-name": "ls", "row": {"name": "ls0", "ports": ["set", [["named-uuid", "p1"], ["named-uuid", "p2"]]]}},
                   {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p1", "row": {"name": "p1", "addresses": ["set", ["00:00:00:00:00:01 10.0.0.1"]]}},
                   {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p2", "row": {"name": "p2", "type": "router", "enabled": true}},
                   {"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "orphan"}}]),
        );
        s.expect_notifications(1, 1);
        s.transact(0, "OVN_Northbound", json!([{"op": "select", "table": "Logical_Switch_Port", "where": [], "columns": ["name", "type"]}]));
        // A duplicate port name (index on name).
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p3", "row": {"name": "p1"}},
                   {"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "ls0"]], "mutations": [["ports", "insert", ["set", [["named-uuid", "p3"]]]]]}]),
        );
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "bad", "type": "router", "dhcpv4_options": ["uuid", "11111111-2222-3333-4444-555555555555"]}}]),
        );
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "ls0"]], "mutations": [["other_config", "insert", ["map", [["subnet", "10.0.0.0/24"]]]]]},
                   {"op": "delete", "table": "Logical_Switch_Port", "where": [["name", "==", "p2"]]}]),
        );
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "update", "table": "Logical_Switch", "where": [["name", "==", "ls0"]], "row": {"ports": ["set", []]}}]),
        );
        s.expect_notifications(1, 1);
        s.transact(0, "OVN_Northbound", json!([{"op": "select", "table": "Logical_Switch_Port", "where": [], "columns": ["name"]}]));
    });
}

#[test]
fn nb_routers_and_acl_errors() {
    nb(1, |s| {
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "insert", "table": "Logical_Router", "uuid-name": "lr", "row": {"name": "lr0", "static_routes": ["named-uuid", "r1"]}},
                   {"op": "insert", "table": "Logical_Router_Static_Route", "uuid-name": "r1", "row": {"ip_prefix": "10.0.0.0/24", "nexthop": "192.168.0.1"}},
                   {"op": "insert", "table": "ACL", "row": {"priority": 100, "direction": "from-lport", "match": "ip4", "action": "allow"}}]),
        );
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "insert", "table": "ACL", "row": {"priority": 100000, "direction": "from-lport", "match": "ip4", "action": "allow"}}]),
        );
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "insert", "table": "ACL", "row": {"priority": 1, "direction": "sideways", "match": "ip4", "action": "allow"}}]),
        );
        s.transact(0, "OVN_Northbound", json!([{"op": "select", "table": "Logical_Router_Static_Route", "where": [], "columns": ["ip_prefix", "nexthop", "policy"]},
                                               {"op": "select", "table": "ACL", "where": [], "columns": ["priority"]}]));
        s.transact(
            0,
            "OVN_Northbound",
            json!([{"op": "insert", "table": "NB_Global", "row": {}}, {"op": "insert", "table": "NB_Global", "row": {}}]),
        );
    });
}

/// `monitor_cond_since` resume: a standalone ovsdb-server keeps no history, so the real side
/// is a one-member Raft cluster.
#[test]
fn monitor_cond_since_resume() {
    let p = schema_path();
    conform_with(&[p.as_path()], 3, true, |s| {
        let req = json!({"Target": [{"columns": ["name"]}]});
        // ovsdb-server drops history larger than the database: make the database big.
        let bulk: Vec<Value> = (0..50)
            .map(|i| json!({"op": "insert", "table": "Root", "row": {"name": format!("r{i}"), "opts": ["map", [["k", "v"]]]}}))
            .collect();
        s.transact(1, DB, Value::Array(bulk));
        s.transact(
            1,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "before"}}]),
        );
        s.call(
            0,
            "monitor_cond_since",
            json!([DB, "m", req, "00000000-0000-0000-0000-000000000000"]),
        );
        s.transact(
            1,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "a"}}]),
        );
        let txn1 = s.take_txn_id(0);
        s.transact(1, DB, json!([{"op": "insert", "table": "Target", "row": {"name": "b"}},
                                 {"op": "update", "table": "Target", "where": [["name", "==", "a"]], "row": {"name": "a2"}},
                                 {"op": "delete", "table": "Target", "where": [["name", "==", "before"]]}]));
        let txn2 = s.take_txn_id(0);
        s.call(2, "monitor_cond_since", json!([DB, "r1", req, txn1]));
        s.call(2, "monitor_cond_since", json!([DB, "r1b", {"Target": [{"columns": ["name"], "where": [["name", "!=", "b"]]}]}, txn1]));
        s.call(2, "monitor_cond_since", json!([DB, "r2", req, txn2]));
        s.call(
            2,
            "monitor_cond_since",
            json!([DB, "r3", req, "11111111-2222-3333-4444-555555555555"]),
        );
        s.transact(
            1,
            DB,
            json!([{"op": "delete", "table": "Target", "where": [["name", "==", "b"]]}]),
        );
        s.expect_notifications(0, 1);
        s.expect_notifications(2, 3);
    });
}

#[test]
fn monitors_see_cascades() {
    conf(2, |s| {
        s.call(0, "monitor_cond", json!([DB, "all", {"Root": [{"columns": ["name", "kids", "weak"]}], "Child": [{}], "Target": [{}]}]));
        s.call(
            1,
            "monitor",
            json!([DB, "v1", {"Root": {}, "Child": {"columns": ["name"]}}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "uuid-name": "t", "row": {"name": "t"}},
                   {"op": "insert", "table": "Child", "uuid-name": "c", "row": {"name": "c"}},
                   {"op": "insert", "table": "Child", "row": {"name": "garbage"}},
                   {"op": "insert", "table": "Root", "row": {"name": "r", "kids": ["named-uuid", "c"], "weak": ["named-uuid", "t"]}}]),
        );
        s.expect_notifications(0, 1);
        s.expect_notifications(1, 1);
        // Deleting the weakly referenced row changes the referrer; deleting the parent
        // collects the child.
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Target", "where": []}]),
        );
        s.expect_notifications(0, 1);
        s.expect_notifications(1, 1);
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Root", "where": []}]),
        );
        s.expect_notifications(0, 1);
        s.expect_notifications(1, 1);
        // A failed transaction sends nothing.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "x"}}, {"op": "abort"}]),
        );
        s.expect_quiet(0);
        s.expect_quiet(1);
        // A no-op update sends nothing either.
        s.transact(
            0,
            DB,
            json!([{"op": "insert", "table": "Target", "row": {"name": "y"}}]),
        );
        s.expect_notifications(0, 1);
        s.transact(
            0,
            DB,
            json!([{"op": "update", "table": "Target", "where": [], "row": {"name": "y"}}]),
        );
        s.expect_quiet(0);
    });
}

#[test]
fn monitor_cond_options() {
    conf(2, |s| {
        s.transact(0, DB, json!([]));
        s.transact(
            0,
            DB,
            json!([{"op": "comment", "comment": "only a comment"}]),
        );
        let r = s.transact(0, DB, json!([{"op": "insert", "table": "Target", "row": {"name": "a"}},
                                         {"op": "insert", "table": "Target", "row": {"name": "b"}}]));
        let a = r["result"][0]["uuid"].clone();
        s.call(0, "monitor_cond", json!([DB, "sel", {"Target": [{"columns": ["name"], "select": {"initial": false, "insert": true, "delete": false, "modify": true}}]}]));
        s.call(
            1,
            "monitor_cond",
            json!([DB, "uuid", {"Target": [{"columns": ["name"], "where": [["_uuid", "==", a]]}]}]),
        );
        s.transact(
            0,
            DB,
            json!([{"op": "update", "table": "Target", "where": [], "row": {"name": "z"}},
                                 {"op": "insert", "table": "Target", "row": {"name": "c"}}]),
        );
        s.expect_notifications(0, 1);
        s.expect_notifications(1, 1);
        s.transact(
            0,
            DB,
            json!([{"op": "delete", "table": "Target", "where": [["_uuid", "==", a]]}]),
        );
        s.expect_quiet(0);
        s.expect_notifications(1, 1);
    });
}

#[test]
fn monitor_cond_two_requests_one_table() {
    conf(2, |s| {
        s.transact(0, DB, json!([{"op": "insert", "table": "Root", "row": {"name": "a", "count": 1}},
                                 {"op": "insert", "table": "Root", "row": {"name": "b", "count": 2}}]));
        // Overlapping columns are refused.
        s.call(
            0,
            "monitor_cond",
            json!([DB, "bad", {"Root": [
            {"columns": ["name"], "where": [["count", "==", 1]]},
            {"columns": ["name", "count"], "where": [["count", "==", 2]]}]}]),
        );
        s.call(
            0,
            "monitor",
            json!([DB, "bad1", {"Root": [{"columns": ["name"]}, {"columns": ["name"]}]}]),
        );
        // Each column keeps the select of its request.
        s.call(
            0,
            "monitor_cond",
            json!([DB, "two", {"Root": [
            {"columns": ["name"]},
            {"columns": ["count", "tags"], "select": {"initial": false, "insert": false}}]}]),
        );
        s.call(
            1,
            "monitor",
            json!([DB, "v1", {"Root": [
            {"columns": ["name"], "select": {"modify": false}},
            {"columns": ["count"], "select": {"initial": false}}]}]),
        );
        s.transact(0, DB, json!([{"op": "update", "table": "Root", "where": [], "row": {"flag": true}},
                                 {"op": "mutate", "table": "Root", "where": [], "mutations": [["count", "+=", 1]]}]));
        s.expect_notifications(0, 1);
        s.expect_notifications(1, 1);
        s.transact(0, DB, json!([{"op": "insert", "table": "Root", "row": {"name": "c", "count": 7, "tags": "t"}}]));
        s.expect_notifications(0, 1);
        s.expect_notifications(1, 1);
        s.transact(0, DB, json!([{"op": "update", "table": "Root", "where": [["name", "==", "c"]], "row": {"name": "c2"}}]));
        s.expect_notifications(0, 1);
        s.expect_quiet(1);
    });
}
