//! The receiver's decisions, sans-I/O: what to answer a remote-write request, and which
//! batches to hand to which shard. The Cloudflare Worker (issue 4) moves bytes and time in and
//! out and stores the batches; nothing here does I/O.
//!
//! ```
//! use edgewrite::receiver::{Outcome, Receiver, Request, Settings};
//! use edgewrite::{codec::Encoder, synth, Version};
//!
//! let mut rx = Receiver::new(Settings::default());
//! let body = Encoder::new().encode(&synth::realistic_request(100, 1_700_000_000_000), Version::V1).to_vec();
//! let req = Request { method: "POST", content_type: Some("application/x-protobuf"), ..Request::default() };
//! match rx.receive(&req, &body) {
//!     Outcome::Accept(accepted) => {
//!         // Store each of accepted.batches in its shard, then answer accepted.reply.
//!         assert_eq!(accepted.reply.status, 204);
//!         assert_eq!(accepted.written.samples, 100);
//!     }
//!     Outcome::Reply(reply) => panic!("refused: {} {}", reply.status, reply.body),
//! }
//! ```

mod auth;
pub mod config;
pub mod metrics;
mod relabel;
pub mod reorder;
pub mod route;
pub mod rum;
mod settings;

pub use auth::{Auth, Token};
pub use relabel::apply as apply_label_rules;
pub use settings::{Settings, TenantPlacement};

use crate::codec::{
    self, Decoder, EXEMPLARS_WRITTEN_HEADER, Encoder, HISTOGRAMS_WRITTEN_HEADER, SAMPLES_WRITTEN_HEADER, Version,
};
use crate::error::HttpStatus;
use crate::model::{Counts, Series, WriteRequest};
use crate::validate::{self, Location};
use std::fmt::Write as _;

/// The parts of an HTTP request the receiver looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// `POST`, `OPTIONS`, ...
    pub method: &'a str,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// `Content-Encoding`.
    pub content_encoding: Option<&'a str>,
    /// `Authorization`.
    pub authorization: Option<&'a str>,
    /// `Origin` (browsers).
    pub origin: Option<&'a str>,
    /// When the request arrived, in milliseconds since the Unix epoch (only the reorder window
    /// reads it).
    pub received_ms: i64,
    /// Where the request entered the edge: the Cloudflare location (`request.cf.colo`, e.g.
    /// `FRA`) and the client's country (`request.cf.country`), for edge labels valued `$colo`
    /// and `$country`.
    pub colo: Option<&'a str>,
    /// See `colo`.
    pub country: Option<&'a str>,
    /// The URL's query string, without `?` (only RUM pushes read it, for their `push` id).
    pub query: Option<&'a str>,
}

/// An HTTP response to send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(&'static str, String)>,
    /// Body: empty on success, a message a person can act on otherwise.
    pub body: String,
}

/// The series of one shard, ready to store: a remote write 2.0 request as raw protobuf. It is
/// not compressed: snappy would cost the write path a seventh of its time, and the shard
/// decodes it anyway (it compresses only what it forwards).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardBatch {
    /// The shard.
    pub shard: u32,
    /// The batch: a remote write 2.0 request, raw protobuf (decode with
    /// [`crate::codec::v2::decode`]).
    pub body: Vec<u8>,
    /// What it holds.
    pub counts: Counts,
}

/// A request whose valid part is to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The tenant the data belongs to.
    pub tenant: String,
    /// The batches to store, one per shard that has series.
    pub batches: Vec<ShardBatch>,
    /// What is written: the valid part.
    pub written: Counts,
    /// What was refused (invalid series).
    pub refused: Counts,
    /// The answer to send once every batch is stored durably (204, or 400 for a partial
    /// write; 2.0 requests get the Written headers).
    pub reply: Reply,
}

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answer this, write nothing.
    Reply(Reply),
    /// Store the batches, then answer.
    Accept(Accepted),
}

/// Decides about remote-write requests, reusing its buffers between them.
#[derive(Debug)]
pub struct Receiver {
    settings: Settings,
    decoder: Decoder,
    encoder: Encoder,
}

impl Receiver {
    /// A receiver with `settings`.
    pub fn new(settings: Settings) -> Self {
        Receiver { decoder: Decoder::new(settings.limits.clone()), encoder: Encoder::new(), settings }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The headers that let a browser on `origin` read the response, if it may write.
    fn cors(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        match origin {
            Some(o) if self.settings.origin_allowed(o) => vec![
                ("Access-Control-Allow-Origin", o.to_string()),
                ("Vary", "Origin".into()),
                (
                    "Access-Control-Expose-Headers",
                    format!(
                        "{SAMPLES_WRITTEN_HEADER}, {HISTOGRAMS_WRITTEN_HEADER}, {EXEMPLARS_WRITTEN_HEADER}, Retry-After"
                    ),
                ),
            ],
            _ => Vec::new(),
        }
    }

    /// An answer to `req` with the CORS headers its origin gets: for refusals the platform
    /// decides itself (e.g. a `Content-Length` over the limit, before reading the body).
    pub fn reply(&self, req: &Request<'_>, status: u16, body: impl Into<String>) -> Reply {
        Reply { status, headers: self.cors(req.origin), body: body.into() }
    }

    /// The answer to a CORS preflight (`OPTIONS`): the remote-write headers are allowed for
    /// allowed origins, 403 for others.
    pub fn preflight(&self, req: &Request<'_>) -> Reply {
        match req.origin {
            Some(o) if self.settings.origin_allowed(o) => Reply {
                status: 204,
                headers: vec![
                    ("Access-Control-Allow-Origin", o.to_string()),
                    ("Vary", "Origin".into()),
                    ("Access-Control-Allow-Methods", "POST".into()),
                    (
                        "Access-Control-Allow-Headers",
                        "Content-Encoding, Content-Type, X-Prometheus-Remote-Write-Version, Authorization".into(),
                    ),
                    ("Access-Control-Max-Age", "86400".into()),
                ],
                body: String::new(),
            },
            _ => Reply { status: 403, headers: Vec::new(), body: "origin not allowed to write here".into() },
        }
    }

    /// Decides about one request: checks method, credentials, headers, body and every series,
    /// and routes the valid series to their shards.
    pub fn receive(&mut self, req: &Request<'_>, body: &[u8]) -> Outcome {
        if req.method.eq_ignore_ascii_case("OPTIONS") {
            return Outcome::Reply(self.preflight(req));
        }
        if !req.method.eq_ignore_ascii_case("POST") {
            let mut r = self.reply(req, 405, format!("method {} not allowed: remote write takes POST", req.method));
            r.headers.push(("Allow", "POST, OPTIONS".into()));
            return Outcome::Reply(r);
        }
        let Some(tenant) = self.settings.tenant_of(req.authorization) else {
            let mut r = self.reply(req, 401, "missing or invalid bearer token (Authorization: Bearer <token>)");
            r.headers.push(("WWW-Authenticate", "Bearer".into()));
            return Outcome::Reply(r);
        };
        let version = match codec::check_content_encoding(req.content_encoding)
            .and_then(|()| Version::from_content_type(req.content_type))
        {
            Ok(v) => v,
            Err(e) => return Outcome::Reply(self.reply(req, e.status(), e.to_string())),
        };
        let cors = self.cors(req.origin);
        let Receiver { settings, decoder, encoder } = self;
        let decided =
            decoder.decode_with(body, version, |request| decide(request, version, settings, &tenant, req, encoder));
        match decided {
            Ok((batches, written, refused, message)) => {
                let mut headers = cors;
                if version == Version::V2 {
                    headers.extend([
                        (SAMPLES_WRITTEN_HEADER, written.samples.to_string()),
                        (HISTOGRAMS_WRITTEN_HEADER, written.histograms.to_string()),
                        (EXEMPLARS_WRITTEN_HEADER, written.exemplars.to_string()),
                    ]);
                }
                let status = if message.is_empty() { 204 } else { 400 };
                Outcome::Accept(Accepted {
                    tenant,
                    batches,
                    written,
                    refused,
                    reply: Reply { status, headers, body: message },
                })
            }
            Err(e) => {
                let mut headers = cors;
                // (Nothing written: said so, as on a partial write, to a 2.0 sender.)
                if version == Version::V2 {
                    headers.extend(
                        [SAMPLES_WRITTEN_HEADER, HISTOGRAMS_WRITTEN_HEADER, EXEMPLARS_WRITTEN_HEADER]
                            .map(|h| (h, "0".into())),
                    );
                }
                Outcome::Reply(Reply { status: e.status(), headers, body: e.to_string() })
            }
        }
    }
}

/// The series of `request`, grouped by shard and encoded (2.0, uncompressed) straight from
/// the request's own series, and what they hold.
fn shard_batches(request: &WriteRequest<'_>, shards: u32, encoder: &mut Encoder) -> (Vec<ShardBatch>, Counts) {
    // 2.0 takes a series' floats and histograms only as two series; a 1.0 series may hold
    // both (Prometheus takes it): stored as two, the floats (with exemplars), then the
    // histograms. (Rare: copies only then.)
    let both = |s: &Series<'_>| !s.samples.is_empty() && !s.histograms.is_empty();
    let split: Vec<[Series<'_>; 2]> = (request.series.iter().filter(|s| both(s)))
        .map(|s| {
            let histograms = Series { labels: s.labels.clone(), histograms: s.histograms.clone(), ..Series::default() };
            [Series { histograms: Vec::new(), ..s.clone() }, histograms]
        })
        .collect();
    let mut all: Vec<&Series<'_>> = Vec::with_capacity(request.series.len() + split.len());
    let mut pairs = split.iter();
    for s in &request.series {
        match both(s).then(|| pairs.next()).flatten() {
            Some(pair) => all.extend(pair),
            None => all.push(s),
        }
    }
    let mut by_shard: Vec<Vec<usize>> = vec![Vec::new(); shards.max(1) as usize];
    for (i, s) in all.iter().enumerate() {
        by_shard[route::shard_of(route::series_hash(&s.labels), shards) as usize].push(i);
    }
    let mut written = Counts::default();
    let mut batches = Vec::new();
    for (shard, indices) in by_shard.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
        let part = indices.iter().map(|&i| all[i]);
        let counts = part.clone().fold(Counts::default(), |mut c, s| {
            c += s.counts();
            c
        });
        written += counts;
        batches.push(ShardBatch {
            shard: shard as u32,
            body: encoder.encode_v2_series_uncompressed(part).to_vec(),
            counts,
        });
    }
    (batches, written)
}

impl Receiver {
    /// Routes series the Worker made itself (the RUM aggregators' cumulative series) to the
    /// tenant's shards: the tenant label set (as on every write), validated, grouped by shard.
    /// The edge's other label rules are not applied: RUM pushes have their own
    /// (`RUM_EDGE_LABELS`, the schema's label lists). Returns the batches and what validation refused (the Worker's own fault
    /// if anything: it logs it).
    pub fn route_own(&mut self, request: &mut WriteRequest<'_>, tenant: &str) -> (Vec<ShardBatch>, String) {
        if let TenantPlacement::Label(name) = &self.settings.tenant {
            for s in &mut request.series {
                s.labels.retain(|l| l.name != *name);
                s.labels.push(crate::model::Label::new(name.clone(), tenant.to_string()));
                s.labels.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
        let report = validate::validate(request, Version::V2, &self.settings.limits);
        let message = if report.is_valid() { String::new() } else { report.message(request, 20) };
        report.retain_valid(request);
        (shard_batches(request, self.settings.shards, &mut self.encoder).0, message)
    }
}

/// The reorder window's rule: samples older than `window` when the request arrived cannot be
/// put in order any more, so they are refused (the rest of their series is written); a series
/// left with nothing goes. Returns what was refused, and says so in `message`.
fn refuse_too_old(request: &mut WriteRequest<'_>, window: u64, now: i64, message: &mut String) -> Counts {
    let mut refused = Counts::default();
    let oldest = now.saturating_sub(window as i64);
    let mut notes = 0;
    request.series.retain_mut(|s| {
        let before = s.samples.len();
        s.samples.retain(|x| !reorder::too_old(x.timestamp, window, now));
        let dropped = (before - s.samples.len()) as u64;
        if dropped > 0 {
            refused.samples += dropped;
            if message.is_empty() {
                let _ = writeln!(message, "some samples refused; the rest were accepted:");
            }
            if notes < 20 {
                let name = s.label("__name__").unwrap_or_default();
                let _ = writeln!(
                    message,
                    "{name}: {dropped} samples older than the reorder window (oldest accepted timestamp {oldest})"
                );
            }
            notes += 1;
        }
        // (A series sent with metadata alone keeps going.)
        dropped == 0 || !(s.samples.is_empty() && s.histograms.is_empty() && s.exemplars.is_empty())
    });
    refused
}

/// Label rules, validation and routing for a decoded request: the batches per shard, what is
/// written, what is refused, and the message for the refused part (empty if none).
fn decide(
    request: &mut WriteRequest<'_>,
    version: Version,
    settings: &Settings,
    tenant: &str,
    req: &Request<'_>,
    encoder: &mut Encoder,
) -> (Vec<ShardBatch>, Counts, Counts, String) {
    let mut refused_labels = Vec::new();
    for (i, s) in request.series.iter_mut().enumerate() {
        // Sorted here, as Prometheus does on receipt: the spec asks senders to sort, and some
        // do not (the compliance suite's 2.0 requests among them). Repeated names stay next
        // to each other, for validation to refuse.
        if !s.labels.is_sorted_by(|a, b| a.name <= b.name) {
            s.labels.sort_by(|a, b| a.name.cmp(&b.name));
        }
        if let Err(name) = relabel::apply(&mut s.labels, settings, tenant, (req.colo, req.country)) {
            refused_labels.push((i, name));
        }
    }
    let report = validate::validate(request, version, &settings.limits);
    let mut message = String::new();
    if !report.is_valid() {
        message = report.message(request, 20);
    }
    for (i, name) in &refused_labels {
        if message.is_empty() {
            let _ = writeln!(message, "some series refused; the rest were accepted:");
        }
        let _ = writeln!(message, "series {i}: label {name:?} is not accepted by this receiver");
    }
    let mut bad: Vec<usize> = report
        .problems()
        .iter()
        .filter_map(|p| match p.location {
            Location::Series(i) => Some(i),
            Location::Metadata(_) => None,
        })
        .chain(refused_labels.iter().map(|(i, _)| *i))
        .collect();
    bad.sort_unstable();
    bad.dedup();
    let mut refused = Counts::default();
    let bad_metadata: Vec<usize> = report
        .problems()
        .iter()
        .filter_map(|p| match p.location {
            Location::Metadata(i) => Some(i),
            Location::Series(_) => None,
        })
        .collect();
    let mut m = 0;
    request.metadata.retain(|_| {
        m += 1;
        !bad_metadata.contains(&(m - 1))
    });
    // 1.0 family metadata rides on the series of its family; what no series of this request
    // takes (Prometheus sends metadata in requests of its own) travels as a series of its own:
    // the family name and the edge's labels, metadata and no samples. The embedded store keeps
    // it for /api/v1/metadata; a 1.0 upstream gets it back as family metadata.
    let unused = crate::convert::to_v2_keeping_unused(request);
    // Invalid series out; then each shard's batch is encoded straight from the request's own
    // series (no copies, and the decoder gets every vector back for the next request).
    let mut i = 0;
    request.series.retain(|s| {
        let keep = bad.binary_search(&i).is_err();
        if !keep {
            refused += s.counts();
        }
        i += 1;
        keep
    });
    if let Some(window) = settings.reorder_window_ms {
        refused += refuse_too_old(request, window, req.received_ms, &mut message);
    }
    for family in unused {
        let mut labels = vec![crate::model::Label::new(crate::model::METRIC_NAME_LABEL, family.metric_family_name)];
        if relabel::apply(&mut labels, settings, tenant, (req.colo, req.country)).is_ok() {
            request.series.push(Series { labels, metadata: family.metadata, ..Series::default() });
        }
    }
    let (batches, written) = shard_batches(request, settings.shards, encoder);
    (batches, written, refused, message)
}
