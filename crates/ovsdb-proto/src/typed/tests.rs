//! Unit tests of the typed runtime.

use super::*;
use crate::data::Atom;
use crate::schema::{AtomicType, BaseType};

fn ty(json: &str) -> ColumnType {
    let schema =
        format!(r#"{{"name":"T","tables":{{"t":{{"columns":{{"c":{{"type":{json}}}}}}}}}}}"#);
    let s = DatabaseSchema::from_slice(schema.as_bytes()).unwrap();
    s.tables["t"].columns["c"].type_.clone()
}

fn datum(json: &str) -> Datum {
    serde_json::from_str(json).unwrap()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
enum Action {
    Allow,
    Drop,
    Other(String),
    #[default]
    Unset,
}

impl StringEnum for Action {
    fn as_str(&self) -> &str {
        match self {
            Action::Allow => "allow",
            Action::Drop => "drop",
            Action::Other(s) => s,
            Action::Unset => "",
        }
    }
    fn from_name(name: &str) -> Self {
        match name {
            "allow" => Action::Allow,
            "drop" => Action::Drop,
            "" => Action::Unset,
            other => Action::Other(other.to_owned()),
        }
    }
}

impl Atomic for Action {
    const KIND: AtomicType = AtomicType::String;
    fn from_atom(atom: &Atom, base: &BaseType) -> Result<Self, String> {
        string_enum_from_atom(atom, base)
    }
    fn to_atom(&self) -> Atom {
        Atom::String(self.as_str().to_owned())
    }
    fn cmp_atomic(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

#[test]
fn wrong_atom_type_names_column_and_value() {
    let t = ty(r#""string""#);
    let err = decode_column::<String>("Logical_Switch", "name", &datum("5"), &t).unwrap_err();
    let Error::Schema(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.path, "Logical_Switch.name");
    assert_eq!(e.value, "5");
    assert_eq!(e.reason, "expected string, got integer 5");
}

#[test]
fn set_too_large() {
    let t = ty(r#"{"key":"string","min":0,"max":2}"#);
    let err =
        decode_column::<Vec<String>>("T", "c", &datum(r#"["set",["a","b","c"]]"#), &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"T.c: 3 elements, more than the maximum 2 (value ["set",["a","b","c"]])"#
    );
    let t = ty(r#"{"key":"integer","min":0,"max":1}"#);
    let err = decode_column::<Option<i64>>("T", "c", &datum(r#"["set",[1,2]]"#), &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"T.c: 2 elements, more than the maximum 1 (value ["set",[1,2]])"#
    );
}

#[test]
fn integer_out_of_range() {
    let t = ty(r#"{"key":{"type":"integer","minInteger":0,"maxInteger":32767}}"#);
    assert_eq!(
        decode_column::<i64>("ACL", "priority", &datum("100"), &t).unwrap(),
        100
    );
    let err = decode_column::<i64>("ACL", "priority", &datum("40000"), &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ACL.priority: 40000 is outside the allowed range (value 40000)"
    );
}

#[test]
fn non_string_enum_has_no_escape_hatch() {
    let t = ty(r#"{"key":{"type":"integer","enum":["set",[1,2]]}}"#);
    assert_eq!(decode_column::<i64>("T", "c", &datum("2"), &t).unwrap(), 2);
    let err = decode_column::<i64>("T", "c", &datum("3"), &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        "T.c: 3 is not one of the allowed values (value 3)"
    );
}

#[test]
fn string_enum_escape_hatch() {
    let t = ty(r#"{"key":{"type":"string","enum":["set",["allow","drop"]]}}"#);
    assert_eq!(
        decode_column::<Action>("ACL", "action", &datum(r#""drop""#), &t).unwrap(),
        Action::Drop
    );
    assert_eq!(
        decode_column::<Action>("ACL", "action", &datum(r#""pass""#), &t).unwrap(),
        Action::Other("pass".into())
    );
    assert_eq!(Action::Other("pass".into()).to_datum(), datum(r#""pass""#));
    let err = decode_column::<Action>("ACL", "action", &datum("true"), &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ACL.action: expected string, got boolean true (value true)"
    );
}

#[test]
fn integer_reads_as_real() {
    let t = ty(r#""real""#);
    assert_eq!(
        decode_column::<f64>("T", "c", &datum("2"), &t).unwrap(),
        2.0
    );
}

#[test]
fn named_uuid_is_not_a_row_uuid() {
    let t = ty(r#""uuid""#);
    let err = decode_column::<Uuid>("T", "c", &datum(r#"["named-uuid","x"]"#), &t).unwrap_err();
    assert!(
        err.to_string().starts_with("T.c: named UUID \"x\""),
        "{err}"
    );
}

#[test]
fn set_diffs() {
    let t = ty(r#"{"key":"string","min":0,"max":"unlimited"}"#);
    let mut v: Vec<String> = decode_column("T", "c", &datum(r#"["set",["b","a"]]"#), &t).unwrap();
    assert_eq!(v, ["a", "b"]);
    apply_column_diff(&mut v, "T", "c", &datum(r#"["set",["a","c"]]"#), &t).unwrap();
    assert_eq!(v, ["b", "c"]);
    // At most one element: the diff is the new value, as ovsdb-server sends it.
    let t = ty(r#"{"key":"integer","min":0,"max":1}"#);
    let mut o: Option<i64> = None;
    apply_column_diff(&mut o, "T", "c", &datum("5"), &t).unwrap();
    assert_eq!(o, Some(5));
    apply_column_diff(&mut o, "T", "c", &datum("6"), &t).unwrap();
    assert_eq!(o, Some(6));
    apply_column_diff(&mut o, "T", "c", &datum(r#"["set",[]]"#), &t).unwrap();
    assert_eq!(o, None);
    let err = apply_column_diff(&mut o, "T", "c", &datum(r#"["set",[1,2]]"#), &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"T.c: 2 elements, more than the maximum 1 (value ["set",[1,2]])"#
    );
}

#[test]
fn map_diffs() {
    let t = ty(r#"{"key":"string","value":"string","min":0,"max":"unlimited"}"#);
    let mut m: SortedMap<String, String> =
        decode_column("T", "c", &datum(r#"["map",[["a","1"],["b","2"]]]"#), &t).unwrap();
    let diff = datum(r#"["map",[["a","1"],["b","3"],["c","4"]]]"#);
    apply_column_diff(&mut m, "T", "c", &diff, &t).unwrap();
    let want: SortedMap<String, String> = [("b", "3"), ("c", "4")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    assert_eq!(m, want);
    assert_eq!(m.to_datum(), datum(r#"["map",[["b","3"],["c","4"]]]"#));
    let err =
        decode_column::<SortedMap<String, String>>("T", "c", &datum(r#""x""#), &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"T.c: expected a map, got a set (value "x")"#
    );
}

#[test]
fn refs_are_copy_ordered_and_display_their_uuid() {
    struct Target;
    let u = Uuid::from_u128(0x1234);
    let r: Ref<Target> = Ref::new(u);
    let s = r;
    assert_eq!(r, s);
    assert_eq!(r.to_string(), "00000000-0000-0000-0000-000000001234");
    assert!(Ref::<Target>::new(Uuid::nil()) < r);
    assert_eq!(r.to_atom(), Atom::Uuid(u));
    assert_eq!(
        format!("{r:?}"),
        "Ref(00000000-0000-0000-0000-000000001234)"
    );
}

#[test]
fn query_values() {
    assert_eq!("x".into_datum(), Datum::scalar("x"));
    assert_eq!(Some(3i64).into_datum(), Datum::scalar(3));
    assert_eq!(None::<i64>.into_datum(), Datum::empty_set());
    assert_eq!(
        vec!["b".to_owned(), "a".to_owned()].into_datum(),
        Datum::set(["a", "b"])
    );
}
