//! Benchmark entry points for Node: each call does one unit of work on the realistic payload
//! (2000 series, ten labels each) and returns a number so nothing is optimised away.

use edgewrite::codec::{Decoder, Encoder};
use edgewrite::proto::v1 as pb1;
use edgewrite::{Limits, Version, WriteRequest, convert, synth, validate};
use prost::Message;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

struct State {
    decoder: Decoder,
    encoder: Encoder,
    request: WriteRequest<'static>,
    out: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State {
        decoder: Decoder::new(Limits::default()),
        encoder: Encoder::new(),
        request: {
            let mut r = synth::realistic_request(2000, 1_764_000_000_000);
            convert::to_v2(&mut r);
            r
        },
        out: Vec::new(),
    });
}

fn version(v: u8) -> Version {
    if v == 2 { Version::V2 } else { Version::V1 }
}

/// The realistic request as a snappy body of version 1 or 2.
#[wasm_bindgen]
pub fn payload(v: u8) -> Vec<u8> {
    STATE.with_borrow_mut(|s| s.encoder.encode(&s.request, version(v)).to_vec())
}

/// Decodes (and optionally validates) a body; returns the number of series.
#[wasm_bindgen]
pub fn decode(body: &[u8], v: u8, check: bool) -> u32 {
    let version = version(v);
    STATE.with_borrow_mut(|s| {
        s.decoder
            .decode_with(body, version, |req| {
                if check {
                    assert!(validate::validate(req, version, &Limits::default()).is_valid());
                }
                req.series.len() as u32
            })
            .unwrap()
    })
}

/// The naive baseline: snappy + prost into owned strings.
#[wasm_bindgen]
pub fn decode_naive_prost(body: &[u8]) -> u32 {
    let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
    pb1::WriteRequest::decode(&raw[..]).unwrap().timeseries.len() as u32
}

/// Snappy decompression alone: the floor of any decoder.
#[wasm_bindgen]
pub fn snappy_only(body: &[u8]) -> u32 {
    STATE.with_borrow_mut(|s| {
        edgewrite::codec::snappy::decompress_into(body, 32 << 20, &mut s.out).unwrap();
        s.out.len() as u32
    })
}

/// Encodes the realistic request as version 1 or 2 (with snappy); returns the body size.
#[wasm_bindgen]
pub fn encode(v: u8) -> u32 {
    STATE.with_borrow_mut(|s| s.encoder.encode(&s.request, version(v)).len() as u32)
}

/// The Worker's Rust work per write: `Receiver::receive` (decode, validate, label rules, route
/// to 4 shards, encode each shard's batch as 2.0) on a 1.0 body; returns the batches' bytes.
#[wasm_bindgen]
pub fn receive(body: &[u8]) -> u32 {
    use edgewrite::receiver::{Outcome, Receiver, Request, Settings};
    thread_local! {
        static RECEIVER: RefCell<Receiver> = RefCell::new(Receiver::new(Settings::default()));
    }
    let req = Request { method: "POST", ..Request::default() };
    RECEIVER.with_borrow_mut(|rx| match rx.receive(&req, body) {
        Outcome::Accept(a) => a.batches.iter().map(|b| b.body.len() as u32).sum(),
        Outcome::Reply(r) => panic!("{}", r.body),
    })
}
