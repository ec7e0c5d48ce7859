//! Forwarding a durable queue upstream: the sender's rules over batches that someone else keeps.
//!
//! The Worker's shards keep the batches they acknowledged in SQLite; a [`Forwarder`] decides
//! what to send next from the head of that queue, how to join batches into one request, when
//! to retry, what to drop and why, and what to count. It does no I/O: the shard reads the
//! queue's head, POSTs [`Outgoing::transmit`], reports the outcome, and applies the
//! [`Decision`] (removing rows only once the upstream has answered for them). Nothing leaves
//! the queue before that, so a restart resumes where it was.
//!
//! The rules are the sender's own ([`super::retry::Policy::judge`]): 5xx, 429 and network
//! errors retried with exponential backoff and jitter, `Retry-After` honoured up to
//! `max_retry_after_ms`; a 415 to 2.0, or a 2xx without Written headers, switches to 1.0 and
//! sends the same batches again; other 4xx drop what was refused, counted with the
//! upstream's message. A joined request the upstream refuses whole is sent again batch by
//! batch, so that only the batch it refuses is dropped. Counters are the sender's
//! [`Stats`], so `/metrics` shows them under the same `prometheus_remote_storage_*` names.
//!
//! ```
//! use edgewrite::sender::forward::{Config, Decision, Forwarder, Next, Queued};
//! use edgewrite::sender::Response;
//! use edgewrite::{codec::Encoder, synth};
//!
//! let body = Encoder::new().encode_v2_series_uncompressed(synth::realistic_request(3, 0).series.iter()).to_vec();
//! let queue = [Queued { seq: 1, tenant: "a", body: &body, raw: true, points: 3, attempts: 0 }];
//! let mut fwd = Forwarder::new(Config::default(), 7);
//! let Next::Send(out) = fwd.next(&queue[..fwd.batches_wanted().min(queue.len())], 0) else { panic!() };
//! // POST out.transmit.body with out.transmit.headers() ... then:
//! let handled = fwd.handle_response(Response { status: 204, ..Response::default() }, 20).unwrap();
//! assert_eq!(handled.decision, Decision::Remove { first: 1, last: 1 });
//! assert_eq!(handled.stats.samples.total, 3);
//! ```

use super::output::minus;
use super::retry::{Backoff, Jitter, Policy, Verdict};
use super::{DropReason, Event, MAX_ERROR_BODY, Response, Stats, Transmit};
use crate::codec::{self, Encoder, Version};
use crate::model::{Counts, WriteRequest};
use crate::{Limits, convert};
use std::fmt;

/// How a queue is forwarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The protocol to send (a 2.0 upstream that turns out to take only 1.0 gets 1.0 from then
    /// on). Default 1.0.
    pub protocol: Version,
    /// The retry rules.
    pub policy: Policy,
    /// First retry delay, ms. Default 30.
    pub min_backoff_ms: u64,
    /// Longest retry delay, ms. Default 5000.
    pub max_backoff_ms: u64,
    /// Most queued batches joined into one request. Default 16.
    pub max_batches_per_send: usize,
    /// Most samples, histograms and exemplars in one joined request (a single batch may hold
    /// more, and goes alone). Default 10,000.
    pub max_points_per_send: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protocol: Version::V1,
            policy: Policy::default(),
            min_backoff_ms: 30,
            max_backoff_ms: 5000,
            max_batches_per_send: 16,
            max_points_per_send: 10_000,
        }
    }
}

/// One batch at the head of the durable queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued<'a> {
    /// Its place in the queue (increasing).
    pub seq: i64,
    /// The tenant it belongs to (sent as `X-Scope-OrgID` where the tenant travels as a header).
    pub tenant: &'a str,
    /// A remote write 2.0 request: raw protobuf, or snappy-compressed when `raw` is false.
    pub body: &'a [u8],
    /// Whether `body` is raw protobuf.
    pub raw: bool,
    /// Samples, histograms and exemplars it holds.
    pub points: u64,
    /// Failed attempts so far (kept with the batch, so a restart keeps counting).
    pub attempts: u32,
}

/// A request to send: the queue's batches `first..=last`, joined.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The request: POST its body with its headers (and `User-Agent`, `Authorization`,
    /// `X-Scope-OrgID` as the platform sets them).
    pub transmit: Transmit,
    /// The first batch it carries.
    pub first: i64,
    /// The last batch it carries.
    pub last: i64,
    /// The tenant of the first batch.
    pub tenant: String,
}

/// What to send next.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Nothing is queued.
    Idle,
    /// Send this, then report the outcome.
    Send(Outgoing),
    /// Apply this at once (nothing to send for these batches: metadata a 2.0 upstream cannot
    /// carry, or a batch that no longer decodes), with the counters and event of `Handled`.
    Settle(Box<Handled>),
}

/// What the platform does with the queue after an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Remove batches `first..=last` from the queue: delivered, or dropped for good.
    Remove {
        /// The first batch.
        first: i64,
        /// The last batch.
        last: i64,
    },
    /// Keep everything; count one more attempt on batch `seq` (the head); call
    /// [`Forwarder::next`] again after `delay_ms`.
    RetryLater {
        /// The head of the queue.
        seq: i64,
        /// How long to wait.
        delay_ms: u64,
    },
    /// Keep everything and call [`Forwarder::next`] again now (the protocol changed, or a
    /// refused joined request goes again batch by batch).
    SendAgain,
}

/// An outcome, handled.
#[derive(Clone, Debug, PartialEq)]
pub struct Handled {
    /// What to do with the queue.
    pub decision: Decision,
    /// What to add to the durable counters, in the same step as the decision.
    pub stats: Stats,
    /// What to log, if anything.
    pub event: Option<Event>,
}

/// Why a queue could not be forwarded: a fault of the program's own data, never of a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardError {
    /// An outcome was reported with no request outstanding.
    NothingInFlight,
}

impl fmt::Display for ForwardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardError::NothingInFlight => f.write_str("an upstream outcome was reported with no request in flight"),
        }
    }
}

impl std::error::Error for ForwardError {}

#[derive(Clone, Debug)]
struct InFlight {
    first: i64,
    last: i64,
    batches: usize,
    counts: Counts,
    metadata: u64,
    version: Version,
    sent_at: i64,
    attempt: u32,
    bytes: u64,
}

/// Forwards a durable queue. See the [module docs](self).
#[derive(Debug)]
pub struct Forwarder {
    config: Config,
    version: Version,
    backoff: Backoff,
    jitter: Jitter,
    /// After a joined request was refused whole: how many batches still go one at a time.
    one_by_one: usize,
    in_flight: Option<InFlight>,
    encoder: Encoder,
}

impl Forwarder {
    /// A forwarder; `seed` seeds the backoff jitter.
    pub fn new(config: Config, seed: u64) -> Self {
        Forwarder {
            version: config.protocol,
            backoff: Backoff::new(config.min_backoff_ms, config.max_backoff_ms),
            jitter: Jitter::new(seed),
            one_by_one: 0,
            in_flight: None,
            encoder: Encoder::new(),
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The protocol sent now (1.0 after a fallback).
    pub fn version(&self) -> Version {
        self.version
    }

    /// How many batches from the head of the queue [`Forwarder::next`] wants to see.
    pub fn batches_wanted(&self) -> usize {
        if self.one_by_one > 0 { 1 } else { self.config.max_batches_per_send.max(1) }
    }

    /// What to send next, from the head of the queue (oldest first; at most
    /// [`Forwarder::batches_wanted`] are looked at).
    pub fn next(&mut self, head: &[Queued<'_>], now: i64) -> Next {
        let Some(first) = head.first() else { return Next::Idle };
        let mut points = first.points;
        let take = 1 + head[1..self.batches_wanted().min(head.len())]
            .iter()
            .take_while(|q| {
                points += q.points;
                points <= self.config.max_points_per_send
            })
            .count();
        let mut all = WriteRequest::default();
        let mut joined = 0;
        for q in &head[..take] {
            let decoded = if q.raw {
                codec::v2::decode(q.body, &Limits::unlimited())
            } else {
                codec::decode_owned(q.body, Version::V2, &Limits::unlimited())
            };
            match decoded {
                Ok(req) => all.series.extend(req.series.into_iter().map(|s| s.into_owned())),
                // The batches before it go as usual; then it is dropped alone.
                Err(_) if joined > 0 => break,
                Err(e) => {
                    // Its kinds are unknown: its points count as failed samples.
                    let mut stats = Stats::default();
                    stats.samples.failed += q.points;
                    self.one_by_one = self.one_by_one.saturating_sub(1);
                    let message = format!("queued batch {} does not decode ({e}); dropped", q.seq);
                    return Next::Settle(Box::new(Handled {
                        decision: Decision::Remove { first: q.seq, last: q.seq },
                        stats,
                        event: Some(Event::Dropped {
                            reason: DropReason::Corrupt,
                            status: None,
                            counts: Counts { samples: q.points, ..Counts::default() },
                            message,
                        }),
                    }));
                }
            }
            joined += 1;
        }
        let (first, last) = (head[0].seq, head[joined - 1].seq);
        // Series that carry only 1.0 family metadata (no data) become family metadata for a
        // 1.0 upstream; 2.0 has no way to send metadata without data, so they stay behind.
        if self.version == Version::V1 {
            convert::to_v1(&mut all);
        }
        all.series.retain(|s| !(s.samples.is_empty() && s.histograms.is_empty() && s.exemplars.is_empty()));
        if all.series.is_empty() && all.metadata.is_empty() {
            self.one_by_one = self.one_by_one.saturating_sub(joined);
            return Next::Settle(Box::new(Handled {
                decision: Decision::Remove { first, last },
                stats: Stats::default(),
                event: None,
            }));
        }
        let counts = all.counts();
        let body = self.encoder.encode(&all, self.version).to_vec();
        let attempt = head[0].attempts;
        // Failures before a restart still count: the backoff goes on from where they left it.
        self.backoff.resume(attempt);
        self.in_flight = Some(InFlight {
            first,
            last,
            batches: joined,
            counts,
            metadata: all.metadata.len() as u64,
            version: self.version,
            sent_at: now,
            attempt,
            bytes: body.len() as u64,
        });
        let transmit = Transmit { id: first as u64, body, version: self.version, attempt, counts };
        Next::Send(Outgoing { transmit, first, last, tenant: head[0].tenant.to_string() })
    }

    /// Reports the upstream's response to the request [`Forwarder::next`] gave.
    ///
    /// # Errors
    /// [`ForwardError::NothingInFlight`] if no request is outstanding.
    pub fn handle_response(&mut self, response: Response<'_>, now: i64) -> Result<Handled, ForwardError> {
        let f = self.in_flight.take().ok_or(ForwardError::NothingInFlight)?;
        let mut stats = self.sent_stats(&f, now);
        let message = || {
            let body = &response.body[..response.body.len().min(MAX_ERROR_BODY)];
            String::from_utf8_lossy(body).into_owned()
        };
        let verdict =
            self.config.policy.judge(f.version, f.counts, &response, now, &mut self.backoff, &mut self.jitter);
        let (decision, event) = match verdict {
            Verdict::Delivered { written } => {
                self.backoff.reset();
                self.one_by_one = self.one_by_one.saturating_sub(f.batches);
                stats.kind_mut(|k, n| k.total += n, written);
                stats.metadata_total += f.metadata;
                stats.requests_succeeded += 1;
                let failed = minus(f.counts, written);
                stats.kind_mut(|k, n| k.failed += n, failed);
                let event =
                    (failed != Counts::default()).then_some(Event::PartiallyWritten { sent: f.counts, written });
                (Decision::Remove { first: f.first, last: f.last }, event)
            }
            Verdict::Retry { delay_ms } => {
                stats.requests_retried += 1;
                let attempt = f.attempt + 1;
                let event = Event::Retrying { status: Some(response.status), attempt, delay_ms, message: message() };
                (Decision::RetryLater { seq: f.first, delay_ms }, Some(event))
            }
            Verdict::FallBackToV1 => {
                let event = (self.version == Version::V2).then(|| {
                    self.version = Version::V1;
                    stats.protocol_fallbacks_total += 1;
                    Event::FellBackToV1 { status: response.status }
                });
                (Decision::SendAgain, event)
            }
            // Refused whole for what it holds (not a 429), and more than one batch: each goes
            // again alone, so that only what the upstream refuses is dropped.
            Verdict::Refused { written } if f.batches > 1 && written == Counts::default() && response.status != 429 => {
                self.one_by_one = f.batches;
                (Decision::SendAgain, None)
            }
            Verdict::Refused { written } => {
                self.backoff.reset();
                self.one_by_one = self.one_by_one.saturating_sub(f.batches);
                stats.kind_mut(|k, n| k.total += n, written);
                let failed = minus(f.counts, written);
                stats.kind_mut(|k, n| k.failed += n, failed);
                stats.requests_failed += 1;
                let event = Event::Dropped {
                    reason: DropReason::Rejected,
                    status: Some(response.status),
                    counts: failed,
                    message: message(),
                };
                (Decision::Remove { first: f.first, last: f.last }, Some(event))
            }
        };
        Ok(Handled { decision, stats, event })
    }

    /// Reports that the request failed without a response (network error, timeout): it is
    /// retried after the next backoff step.
    ///
    /// # Errors
    /// [`ForwardError::NothingInFlight`] if no request is outstanding.
    pub fn handle_error(&mut self, error: &str, now: i64) -> Result<Handled, ForwardError> {
        let f = self.in_flight.take().ok_or(ForwardError::NothingInFlight)?;
        let mut stats = self.sent_stats(&f, now);
        stats.requests_retried += 1;
        let delay_ms = self.backoff.next_delay(self.jitter.unit());
        let event = Event::Retrying { status: None, attempt: f.attempt + 1, delay_ms, message: error.to_string() };
        Ok(Handled { decision: Decision::RetryLater { seq: f.first, delay_ms }, stats, event: Some(event) })
    }

    /// What every answered request counts: its bytes, its duration, and its data as retried
    /// when it was a retry.
    fn sent_stats(&self, f: &InFlight, now: i64) -> Stats {
        let mut stats = Stats::default();
        stats.observe_duration(now - f.sent_at);
        stats.bytes_total += f.bytes;
        if f.attempt > 0 {
            stats.kind_mut(|k, n| k.retried += n, f.counts);
        }
        stats
    }
}
