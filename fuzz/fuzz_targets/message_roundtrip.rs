//! Messages, calls and replies survive decode → encode → decode.
//!
//! The input is one frame. If [`Message::decode_slice`] accepts it:
//!
//! - the message is encoded, decoded again and compared field by field, payloads by their
//!   bytes (`Payload`'s derived `PartialEq` compares the whole frame a payload was sliced
//!   from, so messages decoded from frames that differ anywhere else, even in whitespace,
//!   compare unequal); encoding the decoded copy must give the same bytes again;
//! - a request or notification whose params [`Call::decode`] accepts is encoded with
//!   [`Call::encode`], framed again and decoded again; the two calls must be equal and encode
//!   to the same bytes;
//! - a response's result is decoded with [`Reply::decode`] for every method of
//!   [`Method::ALL`]; where that succeeds, [`Reply::encode_result`] → [`Reply::decode`] must
//!   succeed and give an equal reply that encodes to the same bytes.
//!
//! Why exact equality is well-defined here, floats included: serde_json is built with
//! `float_roundtrip` (ovsdb-proto's manifest asks for it), so a real is printed in the
//! shortest form that parses back to the same `f64`, and parsed exactly; JSON cannot express
//! NaN or infinities; `-0.0` prints as `-0.0`. `Atom::Real` compares by IEEE total order and
//! `serde_json::Value` by `==`, so comparing the re-encoded bytes as well catches a lost sign
//! of zero. `Reply::Other` holds a `serde_json::Value` and is written back as it was read, so
//! it compares equal too. A difference is therefore a real decode/encode asymmetry.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ovsdb_proto::{Call, Message, Method, OvsdbError, Reply};
use serde_json::Value;

fn encode_message(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out);
    out
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Field-by-field equality, comparing payloads by their JSON bytes.
fn assert_same_message(a: &Message, b: &Message) {
    match (a, b) {
        (
            Message::Request { id, method, params },
            Message::Request {
                id: id2,
                method: method2,
                params: params2,
            },
        ) => {
            assert_eq!(id, id2, "request id changed");
            assert_eq!(method, method2, "request method changed");
            assert_eq!(
                params.as_bytes(),
                params2.as_bytes(),
                "request params changed"
            );
        }
        (
            Message::Notification { method, params },
            Message::Notification {
                method: method2,
                params: params2,
            },
        ) => {
            assert_eq!(method, method2, "notification method changed");
            assert_eq!(
                params.as_bytes(),
                params2.as_bytes(),
                "notification params changed"
            );
        }
        (
            Message::Response { id, result },
            Message::Response {
                id: id2,
                result: result2,
            },
        ) => {
            assert_eq!(id, id2, "response id changed");
            assert_eq!(
                result.as_bytes(),
                result2.as_bytes(),
                "response result changed"
            );
        }
        (
            Message::Error { id, error },
            Message::Error {
                id: id2,
                error: error2,
            },
        ) => {
            assert_eq!(id, id2, "error response id changed");
            assert_eq!(error, error2, "error response error changed");
        }
        (a, b) => panic!("message kind changed on re-encoding:\n{a:?}\n{b:?}"),
    }
}

fn encode_call(call: &Call, id: Option<&Value>) -> Vec<u8> {
    let mut out = Vec::new();
    call.encode(id, &mut out);
    out
}

/// `id` is `Some` for a request, `None` for a notification.
fn check_call(id: Option<&Value>, method: &str, params: &[u8]) {
    let Ok(call) = Call::decode(method, params) else {
        return;
    };
    assert_eq!(
        call.method().as_str(),
        method,
        "Call::decode gave a call of another method"
    );
    // Must not panic; its text is the params array.
    let params_json = call.params_json();
    assert!(
        params_json.starts_with('['),
        "params_json is not an array: {params_json}"
    );

    let wire = encode_call(&call, id);
    let msg = Message::decode_slice(&wire).unwrap_or_else(|e| {
        panic!(
            "encoded call does not decode as a message: {e}\n{}",
            show(&wire)
        )
    });
    let (method2, params2) = match (&msg, id) {
        (
            Message::Request {
                id: id2,
                method,
                params,
            },
            Some(id),
        ) => {
            assert_eq!(id2, id, "encoded call has another id");
            (method, params)
        }
        (Message::Notification { method, params }, None) => (method, params),
        (other, id) => panic!("call encoded with id {id:?} decodes as {other:?}"),
    };
    assert_eq!(
        params2.as_bytes(),
        params_json.as_bytes(),
        "encode and params_json disagree"
    );
    let call2 = Call::decode(method2, params2.as_bytes())
        .unwrap_or_else(|e| panic!("encoded call does not decode: {e}\n{}", show(&wire)));
    assert_eq!(call, call2, "call changed on re-encoding\n{}", show(&wire));
    let wire2 = encode_call(&call2, id);
    assert_eq!(show(&wire), show(&wire2), "call encoding is not stable");
}

fn encode_reply(r: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    r.encode_result(&mut out);
    out
}

fn check_replies(result: &[u8]) {
    for method in Method::ALL {
        let Ok(reply) = Reply::decode(method, result) else {
            continue;
        };
        let wire = encode_reply(&reply);
        let reply2 = Reply::decode(method, &wire).unwrap_or_else(|e| {
            panic!(
                "{method} reply re-encoded does not decode: {e}\n{}",
                show(&wire)
            )
        });
        assert_eq!(
            reply,
            reply2,
            "{method} reply changed on re-encoding\n{}",
            show(&wire)
        );
        let wire2 = encode_reply(&reply2);
        assert_eq!(
            show(&wire),
            show(&wire2),
            "{method} reply encoding is not stable"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::decode_slice(data) else {
        return;
    };
    let wire = encode_message(&msg);
    let again = Message::decode_slice(&wire)
        .unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}\n{}", show(&wire)));
    assert_same_message(&msg, &again);
    let wire2 = encode_message(&again);
    assert_eq!(show(&wire), show(&wire2), "message encoding is not stable");

    match &msg {
        Message::Request { id, method, params } => check_call(Some(id), method, params.as_bytes()),
        Message::Notification { method, params } => check_call(None, method, params.as_bytes()),
        Message::Response { result, .. } => check_replies(result.as_bytes()),
        Message::Error { error, .. } => {
            // An error reply is data; reading it must not panic, and a typed error must
            // serialize back to an object that reads the same.
            if let Some(e) = OvsdbError::from_value(error) {
                let v = serde_json::to_value(&e).expect("an OvsdbError serializes");
                assert_eq!(
                    OvsdbError::from_value(&v),
                    Some(e),
                    "OvsdbError changed on re-encoding"
                );
            }
        }
    }
});
