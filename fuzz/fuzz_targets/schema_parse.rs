//! Schemas survive parse → `to_json` → parse.
//!
//! The input is schema JSON text (an `.ovsschema` file or a `get_schema` result). If
//! [`DatabaseSchema::from_slice`] accepts it, [`DatabaseSchema::to_json`] must produce JSON
//! that [`DatabaseSchema::from_json`] accepts and that parses to an equal schema, and writing
//! that schema again must give the same JSON. The getters are called on every table and
//! column too, for panics.
//!
//! Reals in schemas (`minReal`, `maxReal`, real enums) compare with `f64`'s `==`; serde_json
//! is built with `float_roundtrip`, so printing and parsing them is exact (see the
//! `message_roundtrip` target).

#![no_main]

use libfuzzer_sys::fuzz_target;
use ovsdb_proto::{DatabaseSchema, Datum};

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = DatabaseSchema::from_slice(data) else {
        return;
    };
    let json = schema.to_json();
    let again = DatabaseSchema::from_json(&json)
        .unwrap_or_else(|e| panic!("to_json output does not parse: {e}\n{json}"));
    assert_eq!(schema, again, "schema changed on re-encoding\n{json}");
    assert_eq!(json, again.to_json(), "to_json is not stable");

    // From text, too: what ovsdb-server would be sent.
    let text = serde_json::to_vec(&json).expect("a Value serializes");
    let from_text = DatabaseSchema::from_slice(&text)
        .unwrap_or_else(|e| panic!("to_json text does not parse: {e}\n{json}"));
    assert_eq!(
        schema, from_text,
        "schema changed on re-encoding as text\n{json}"
    );

    let _ = schema.version_triple();
    for (name, table) in &schema.tables {
        let _ = schema.is_root(name);
        assert!(schema.table(name).is_some());
        for (col, c) in &table.columns {
            assert!(table.column(col).is_some());
            let ty = &c.type_;
            let _ = (ty.is_scalar(), ty.is_optional(), ty.is_map(), ty.is_set());
            // The default value has the column's shape (its atoms may lie outside an enum or
            // range: ovsdb-server uses the same defaults), so conform can only object to that.
            let default = Datum::default_of(ty);
            assert_eq!(
                default.len() as u64,
                ty.min,
                "{name}.{col}: default has the wrong size"
            );
            let _ = default.conform(ty);
        }
    }
});
