//! The sender: a remote-write queue that delivers in order and never loses quietly, as a
//! sans-I/O state machine. It does no I/O and reads no clock: the platform layer (the npm
//! package, the Worker's upstream forwarding) passes time in and carries requests out.
//!
//! Modelled on Prometheus's queue manager: series are hashed by their labels to shards; each
//! shard sends one request at a time, so the samples of a series leave in timestamp order while
//! shards send in parallel. A shard sends when it holds `max_samples_per_send` samples or its
//! oldest sample has waited `batch_send_deadline`. Failed requests are retried with exponential
//! backoff and jitter (honouring `Retry-After`) before anything newer from that shard.
//! Collections (everything from one scrape) travel whole, one request each, in order.
//!
//! ## Driving it
//! ```
//! use edgewrite::sender::{Config, Response, Sender};
//! use edgewrite::Sample;
//!
//! let mut sender = Sender::new(Config { batch_send_deadline_ms: 1000, ..Config::default() }, 42).unwrap();
//! let up = sender.series(&[("__name__", "up"), ("job", "api")]).unwrap();
//! let mut now = 0;
//! sender.push(up, Sample::new(1.0, now), now).unwrap();
//!
//! // The event loop: send what is due, sleep until the next deadline, repeat.
//! assert!(sender.poll_transmit(now).is_none()); // not due yet
//! now = sender.poll_timeout().unwrap(); // the batch deadline
//! let request = sender.poll_transmit(now).unwrap();
//! // POST request.body with request.headers() ... then report the outcome:
//! sender.handle_response(request.id, Response { status: 204, ..Response::default() }, now + 5);
//! assert_eq!(sender.stats().samples.total, 1);
//! assert!(sender.is_idle());
//! ```
//!
//! Inputs are `series`/`push*`/`write_collection`/`flush` (data) and `handle_response` /
//! `handle_error` (outcomes of requests); outputs are `poll_transmit` (a request to send
//! now), `poll_timeout` (when to call again) and `poll_event` (what the user should hear
//! about: drops with the receiver's message, protocol fallback, retries).

mod batch;
mod config;
pub mod forward;
mod lane;
pub mod retry;
mod series;
mod stats;

pub use config::{Config, ConfigError, OnFull};
pub use series::{LabelError, MAX_SERIES, SeriesRef};
pub use stats::{DURATION_BUCKETS_MS, KindStats, Stats, render as render_stats};

use crate::codec::{self as content_type, Version};
use crate::model::{Counts, Histogram, Metadata, Sample};
use batch::BatchEncoder;
use lane::{InFlight, Item, Lane, QueuedExemplar};
use retry::{Backoff, Jitter};
use series::SeriesTable;
use std::collections::VecDeque;
use std::fmt;

/// The longest part of a response body kept for an event, as Prometheus logs it.
pub const MAX_ERROR_BODY: usize = 1024;

/// A request to send now: POST `body` with [`Transmit::headers`], then report the outcome
/// with [`Sender::handle_response`] or [`Sender::handle_error`] and this `id`.
#[derive(Clone, Debug, PartialEq)]
pub struct Transmit {
    /// Identifies the request in `handle_response`.
    pub id: u64,
    /// The snappy-compressed body.
    pub body: Vec<u8>,
    /// The protocol version of the body.
    pub version: Version,
    /// 0 for a first try, then 1, 2, ... for retries.
    pub attempt: u32,
    /// What the body holds.
    pub counts: Counts,
}

impl Transmit {
    /// The request headers: content type, encoding, protocol version, and `Retry-Attempt` on
    /// retries (as Prometheus sends it). `User-Agent` is the platform layer's.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h: Vec<(&'static str, String)> =
            self.version.request_headers().iter().map(|&(k, v)| (k, v.to_string())).collect();
        if self.attempt > 0 {
            h.push(("Retry-Attempt", self.attempt.to_string()));
        }
        h
    }
}

/// The parts of a response the sender needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response<'a> {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<&'a str>,
    /// The 2.0 `X-Prometheus-Remote-Write-*-Written` headers: `None` if none of the three was
    /// present (or visible), else each value, a missing one counting 0.
    pub written: Option<Counts>,
    /// The start of the response body (only the first [`MAX_ERROR_BODY`] bytes are kept).
    pub body: &'a [u8],
}

impl Response<'_> {
    /// Reads the Written headers through `get` (a header lookup by name).
    pub fn written_from(get: impl Fn(&str) -> Option<String>) -> Option<Counts> {
        let values = [
            get(content_type::SAMPLES_WRITTEN_HEADER),
            get(content_type::HISTOGRAMS_WRITTEN_HEADER),
            get(content_type::EXEMPLARS_WRITTEN_HEADER),
        ];
        if values.iter().all(Option::is_none) {
            return None;
        }
        let n = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        Some(Counts { samples: n(&values[0]), histograms: n(&values[1]), exemplars: n(&values[2]) })
    }
}

/// Why data was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The receiver refused it for good (a 4xx other than 429, or 429 without retries).
    Rejected,
    /// Older than `sample_age_limit`.
    TooOld,
    /// The queue was full and `on_full` is `DropOldest`.
    QueueFull,
    /// A durably queued batch no longer decodes (the program's own fault, logged as such).
    Corrupt,
}

/// Something the user should hear about.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Data dropped for good.
    Dropped {
        /// Why.
        reason: DropReason,
        /// The receiver's status, when it refused.
        status: Option<u16>,
        /// What was dropped.
        counts: Counts,
        /// The receiver's message (the first KiB of the body, verbatim) or ours.
        message: String,
    },
    /// A 2.0 receiver answered 2xx but wrote less than was sent; the rest counts as failed.
    PartiallyWritten {
        /// Sent.
        sent: Counts,
        /// Written, per the receiver's headers.
        written: Counts,
    },
    /// A request failed and will be retried.
    Retrying {
        /// The status, or `None` for a network error.
        status: Option<u16>,
        /// Which retry comes next (1 for the first).
        attempt: u32,
        /// Delay before it, ms.
        delay_ms: u64,
        /// The receiver's message or the network error.
        message: String,
    },
    /// The receiver does not accept 2.0 (415, or a 2xx without Written headers); the writer
    /// sends 1.0 from now on.
    FellBackToV1 {
        /// The status that showed it.
        status: u16,
    },
}

/// Why data could not be queued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The shard (or the collections lane) holds `capacity` items and `on_full` is `Reject`.
    QueueFull {
        /// The capacity.
        capacity: usize,
    },
    /// The series handle is not registered (released, or from another sender).
    UnknownSeries(SeriesRef),
    /// An exemplar's labels are invalid.
    Label(LabelError),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::QueueFull { capacity } => write!(
                f,
                "queue full ({capacity} samples pending for this shard): the receiver is slow or down; \
                 raise capacity or shards, or choose onFull: 'drop-oldest'"
            ),
            PushError::UnknownSeries(r) => {
                write!(f, "series handle {} is not registered with this writer (released, or from another writer)", r.0)
            }
            PushError::Label(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PushError {}

/// Data written as one unit: it goes out as one request, never mixed with other data, after the
/// collections written before it.
#[derive(Clone, Debug, Default)]
pub struct Collection {
    items: Vec<(SeriesRef, Pending)>,
}

#[derive(Clone, Debug)]
enum Pending {
    Sample(Sample),
    Histogram(Box<Histogram>),
    Exemplar(Vec<(String, String)>, f64, i64),
}

impl Collection {
    /// An empty collection.
    pub fn new() -> Self {
        Collection::default()
    }

    /// Adds a sample of `series`.
    pub fn sample(&mut self, series: SeriesRef, sample: Sample) -> &mut Self {
        self.items.push((series, Pending::Sample(sample)));
        self
    }

    /// Adds a native histogram sample of `series`.
    pub fn histogram(&mut self, series: SeriesRef, histogram: Histogram) -> &mut Self {
        self.items.push((series, Pending::Histogram(Box::new(histogram))));
        self
    }

    /// Adds an exemplar of `series`.
    pub fn exemplar(&mut self, series: SeriesRef, labels: &[(&str, &str)], value: f64, timestamp: i64) -> &mut Self {
        let labels = labels.iter().map(|&(n, v)| (n.to_string(), v.to_string())).collect();
        self.items.push((series, Pending::Exemplar(labels, value, timestamp)));
        self
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The remote-write queue. See the [module docs](self) for how to drive it.
pub struct Sender {
    config: Config,
    version: Version,
    table: SeriesTable,
    /// `config.shards` shards, then the collections lane.
    lanes: Vec<Lane>,
    backoffs: Vec<Backoff>,
    /// Metadata entries in each lane's in-flight request (1.0).
    in_flight_metadata: Vec<u64>,
    encoder: BatchEncoder,
    jitter: Jitter,
    next_id: u64,
    next_lane: usize,
    stats: Stats,
    events: VecDeque<Event>,
    /// When each metric family's 1.0 metadata was last sent, by symbol id (`i64::MIN`: never).
    family_sent_at: Vec<i64>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("version", &self.version).field("series", &self.table.len()).finish()
    }
}

mod input;
mod output;
