//! The JavaScript-facing API (`WasmSender`, `encode`, `decode`) exercised through
//! wasm-bindgen, in Node and in headless Chromium. Built with `--features js-codec`.
#![cfg(all(target_arch = "wasm32", feature = "js-codec"))]

use edgewrite::js::codec::{decode, encode};
use edgewrite::js::writer::WasmSender;
use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test as test;

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap()
}

fn sender(protocol: u8) -> WasmSender {
    WasmSender::new(
        protocol, 1, 2000, 5000.0, 10_000, 0, 30.0, 5000.0, true, 0.0, true, 50_000, 60_000.0, 300_000.0, 1.0,
    )
    .unwrap()
}

#[test]
fn labels_cross_once_then_numbers_in_bulk() {
    let mut s = sender(2);
    let labels = |v: &str| vec!["__name__".to_string(), "up".to_string(), "job".to_string(), v.to_string()];
    let a = s.series(labels("a"), "gauge", "Up.", "").unwrap();
    let b = s.series(labels("b"), "", "", "").unwrap();
    assert_eq!(s.series(labels("a"), "", "", "").unwrap(), a, "same labels, same handle");
    s.push_many(&[a, b, a], &[1.0, 2.0, 3.0], &[1000.0, 1000.0, 2000.0], &[0, 0, 1], 0.0).unwrap();
    let marker = s.flush();
    assert!(!s.flushed(&marker));
    let t = s.poll_transmit(0.0).expect("a request");
    assert_eq!(t.samples(), 3);
    assert_eq!((t.version(), t.attempt()), (2, 0));
    let req = decode(&t.body(), 2).unwrap();
    let series = Array::from(&get(&req, "series"));
    assert_eq!(series.length(), 2);
    let first = series.get(0);
    let samples = Array::from(&get(&first, "samples"));
    assert_eq!(get(&samples.get(1), "stale"), JsValue::TRUE, "the stale flag crossed");
    assert_eq!(get(&get(&first, "metadata"), "help"), "Up.");
    s.handle_response(t.id(), 204, None, &[3.0, 0.0, 0.0], &[], 5.0);
    assert!(s.is_idle());
    assert!(s.flushed(&marker));
    assert_eq!(s.stats()[0], 3.0, "samples total");
}

#[test]
fn errors_and_events_reach_javascript_as_values() {
    let mut s = sender(1);
    let err = s.series(vec!["job".into(), "x".into()], "", "", "").unwrap_err();
    let err: JsValue = err.into();
    let message = get(&err, "message").as_string().unwrap();
    assert!(message.contains("__name__"), "{message}");
    let up = s.series(vec!["__name__".into(), "up".into()], "", "", "").unwrap();
    s.push(up, 1.0, 1000.0, false, 0.0).unwrap();
    s.flush();
    let t = s.poll_transmit(0.0).unwrap();
    s.handle_response(t.id(), 400, None, &[], b"bad sample", 1.0);
    let e = s.poll_event().expect("an event");
    assert_eq!(e, [0.0, 0.0, 400.0, 1.0, 0.0, 0.0], "dropped, rejected, HTTP 400, one sample");
    assert_eq!(s.event_message(), "bad sample");
    assert_eq!(s.stats()[1], 1.0, "samples failed");
    assert_eq!(s.stats()[25], 1.0, "batch duration count");
}

#[test]
fn encode_and_decode_round_trip_objects() {
    let body = {
        let req = js_sys::JSON::parse(
            r#"{"series":[{"labels":{"__name__":"x","a":"1"},"samples":[{"value":"NaN","timestamp":1},{"value":"+Inf","timestamp":2},{"value":0,"timestamp":3,"stale":true}]}]}"#,
        )
        .unwrap();
        encode(&req, 1).unwrap()
    };
    let back = decode(&body, 1).unwrap();
    let samples = Array::from(&get(&Array::from(&get(&back, "series")).get(0), "samples"));
    assert!(get(&samples.get(0), "value").as_f64().unwrap().is_nan());
    assert_eq!(get(&samples.get(1), "value").as_f64(), Some(f64::INFINITY));
    assert_eq!(get(&samples.get(2), "stale"), JsValue::TRUE);
    let bad =
        js_sys::JSON::parse(r#"{"series":[{"labels":{"__name__":"x"},"samples":[{"value":null,"timestamp":1}]}]}"#)
            .unwrap();
    let err: JsValue = encode(&bad, 1).unwrap_err().into();
    assert!(get(&err, "message").as_string().unwrap().contains("is null"));
    assert!(decode(b"garbage", 1).is_err());
}
