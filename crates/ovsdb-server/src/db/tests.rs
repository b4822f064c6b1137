//! Unit tests of the transaction engine: atomic failure, garbage collection, weak references,
//! history, indexes and arithmetic.

use super::value::arith;
use super::*;

fn db() -> Db {
    let schema = DatabaseSchema::from_slice(
        br#"{"name": "T", "tables": {
                "P": {"columns": {"n": {"type": "integer"},
                                  "kids": {"type": {"key": {"type": "uuid", "refTable": "C"}, "min": 0, "max": "unlimited"}},
                                  "w": {"type": {"key": {"type": "uuid", "refTable": "C", "refType": "weak"}, "min": 0, "max": "unlimited"}}},
                      "isRoot": true},
                "C": {"columns": {"s": {"type": "string"}}}}}"#,
    )
    .unwrap();
    Db::new(schema)
}

fn run(db: &mut Db, ops: Value) -> Vec<Value> {
    let ops: Vec<Box<RawValue>> = ops
        .as_array()
        .unwrap()
        .iter()
        .map(|o| serde_json::value::to_raw_value(o).unwrap())
        .collect();
    let no_locks = |_: &str| false;
    let ctx = TxnContext {
        holds_lock: &no_locks,
        expired: false,
        read_only: false,
    };
    match db.transact(&ops, &ctx) {
        Outcome::Done { results, .. } => results,
        Outcome::Blocked { .. } => panic!("blocked"),
    }
}

#[test]
fn failed_transactions_change_nothing() {
    let mut d = db();
    let r = run(
        &mut d,
        json!([{"op": "insert", "table": "P", "row": {"n": 1}},
               {"op": "mutate", "table": "P", "where": [], "mutations": [["n", "/=", 0]]}]),
    );
    assert_eq!(r[1]["error"], "domain error");
    assert!(d.tables["P"].is_empty());
    assert!(d.history.is_empty());
    assert!(d.last_txn.is_nil());
}

#[test]
fn garbage_collection_and_weak_references() {
    let mut d = db();
    let r = run(
        &mut d,
        json!([{"op": "insert", "table": "C", "uuid-name": "a", "row": {"s": "a"}},
               {"op": "insert", "table": "C", "uuid-name": "b", "row": {"s": "b"}},
               {"op": "insert", "table": "C", "row": {"s": "garbage"}},
               {"op": "insert", "table": "P", "row": {"kids": ["named-uuid", "a"], "w": ["set", [["named-uuid", "a"], ["named-uuid", "b"]]]}}]),
    );
    assert!(r.iter().all(|r| r.get("error").is_none()), "{r:?}");
    // Only the referenced child survives; the weak reference to the collected one goes.
    assert_eq!(d.tables["C"].len(), 1);
    let p = d.tables["P"].values().next().unwrap();
    assert_eq!(p.row.get("w").unwrap().len(), 1);
    // Dropping the strong reference collects the last child and empties the weak set.
    run(
        &mut d,
        json!([{"op": "update", "table": "P", "where": [], "row": {"kids": ["set", []]}}]),
    );
    assert!(d.tables["C"].is_empty());
    let p = d.tables["P"].values().next().unwrap();
    assert!(p.row.get("w").unwrap().is_empty());
    assert_eq!(d.history.len(), 2);
}

#[test]
fn history_is_bounded() {
    let mut d = db();
    let mut ids = Vec::new();
    for i in 0..(HISTORY_LIMIT + 2) {
        run(
            &mut d,
            json!([{"op": "insert", "table": "P", "row": {"n": i}}]),
        );
        ids.push(d.last_txn);
    }
    assert_eq!(d.history.len(), HISTORY_LIMIT);
    assert!(d.history_since(ids[0]).is_none());
    assert_eq!(
        d.history_since(ids[2]).map(|c| c.len()),
        Some(HISTORY_LIMIT - 1)
    );
    assert_eq!(d.history_since(d.last_txn).map(|c| c.len()), Some(0));
    assert!(d.history_since(Uuid::nil()).is_none());
}

#[test]
fn index_lookups_see_the_transaction() {
    let schema = DatabaseSchema::from_slice(
        br#"{"name": "I", "tables": {"T": {"columns": {"k": {"type": "string"}}, "indexes": [["k"]], "isRoot": true}}}"#,
    )
    .unwrap();
    let mut d = Db::new(schema);
    run(
        &mut d,
        json!([{"op": "insert", "table": "T", "row": {"k": "a"}}]),
    );
    let r = run(
        &mut d,
        json!([{"op": "update", "table": "T", "where": [["k", "==", "a"]], "row": {"k": "b"}},
               {"op": "select", "table": "T", "where": [["k", "==", "a"]], "columns": ["k"]},
               {"op": "select", "table": "T", "where": [["k", "==", "b"]], "columns": ["k"]},
               {"op": "insert", "table": "T", "row": {"k": "a"}},
               {"op": "select", "table": "T", "where": [["k", "==", "a"]], "columns": ["k"]}]),
    );
    assert_eq!(r[0], json!({"count": 1}));
    assert_eq!(r[1], json!({"rows": []}));
    assert_eq!(r[2], json!({"rows": [{"k": "b"}]}));
    assert_eq!(r[4], json!({"rows": [{"k": "a"}]}));
    assert_eq!(r.len(), 5, "{r:?}");
    let r = run(
        &mut d,
        json!([{"op": "insert", "table": "T", "row": {"k": "b"}}]),
    );
    assert_eq!(r[1]["error"], "constraint violation");
    let r = run(
        &mut d,
        json!([{"op": "delete", "table": "T", "where": [["k", "==", "b"]]}]),
    );
    assert_eq!(r[0], json!({"count": 1}));
    assert_eq!(d.indexes["T"][0].len(), 1);
}

#[test]
fn arithmetic_errors() {
    assert_eq!(
        arith(&Atom::Integer(i64::MAX), Mutator::Add, &Atom::Integer(1))
            .unwrap_err()
            .error,
        "range error"
    );
    assert_eq!(
        arith(&Atom::Real(f64::MAX), Mutator::Mul, &Atom::Real(2.0))
            .unwrap_err()
            .error,
        "range error"
    );
    assert_eq!(
        arith(&Atom::Integer(7), Mutator::Mod, &Atom::Integer(4)).unwrap(),
        Atom::Integer(3)
    );
}

#[test]
fn random_uuids_are_version_4() {
    let u = random_uuid();
    assert_eq!(u.get_version_num(), 4);
    assert_ne!(u, random_uuid());
}
