//! The forwarder (`edgewrite::sender::forward`) over a durable queue, natively with a fake
//! clock: the sender's retry, backoff, `Retry-After` cap and 415 / missing-Written fallback,
//! re-batching, splitting a refused joined request, and what it counts.

use edgewrite::codec::{Encoder, Version, decode_owned};
use edgewrite::sender::forward::{Config, Decision, Forwarder, Handled, Next, Outgoing, Queued};
use edgewrite::sender::{DropReason, Event, Response};
use edgewrite::{Counts, Limits, Sample, Series, WriteRequest};

/// A durable queue as the shard keeps it: (seq, raw 2.0 body, points, attempts).
struct Queue {
    rows: Vec<(i64, Vec<u8>, u64, u32)>,
}

fn batch(seq: i64, series: usize) -> (i64, Vec<u8>, u64, u32) {
    // Series `seq * 100 + i`, one sample each at `seq` ms: order is visible upstream.
    let list: Vec<Series<'static>> = (0..series)
        .map(|i| Series {
            samples: vec![Sample::new(i as f64, seq)],
            ..Series::from_pairs([("__name__", "m".to_string()), ("i", format!("{}", seq * 100 + i as i64))])
        })
        .collect();
    let body = Encoder::new().encode_v2_series_uncompressed(list.iter()).to_vec();
    (seq, body, series as u64, 0)
}

impl Queue {
    fn of(batches: &[usize]) -> Queue {
        Queue { rows: batches.iter().enumerate().map(|(i, &n)| batch(i as i64 + 1, n)).collect() }
    }

    fn next(&self, fwd: &mut Forwarder, now: i64) -> Next {
        let head: Vec<Queued<'_>> = self
            .rows
            .iter()
            .take(fwd.batches_wanted())
            .map(|(seq, body, points, attempts)| Queued {
                seq: *seq,
                tenant: "t",
                body,
                raw: true,
                points: *points,
                attempts: *attempts,
            })
            .collect();
        fwd.next(&head, now)
    }

    /// Applies a decision as the shard does.
    fn apply(&mut self, decision: Decision) {
        match decision {
            Decision::Remove { first, last } => self.rows.retain(|r| r.0 < first || r.0 > last),
            Decision::RetryLater { seq, .. } => self.rows.iter_mut().filter(|r| r.0 == seq).for_each(|r| r.3 += 1),
            Decision::SendAgain => {}
        }
    }
}

fn send(q: &Queue, fwd: &mut Forwarder, now: i64) -> Outgoing {
    match q.next(fwd, now) {
        Next::Send(out) => out,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn answer(status: u16) -> Response<'static> {
    Response { status, body: b"upstream says no", ..Response::default() }
}

fn decoded(out: &Outgoing) -> WriteRequest<'static> {
    decode_owned(&out.transmit.body, out.transmit.version, &Limits::unlimited()).unwrap()
}

/// The `i` label of every series in a request, in order.
fn ids(out: &Outgoing) -> Vec<String> {
    decoded(out).series.iter().map(|s| s.labels.iter().find(|l| l.name == "i").unwrap().value.to_string()).collect()
}

fn header(out: &Outgoing, name: &str) -> Option<String> {
    out.transmit.headers().into_iter().find(|h| h.0 == name).map(|h| h.1)
}

#[test]
fn joins_batches_in_queue_order_up_to_the_limits() {
    let config = Config { max_batches_per_send: 3, max_points_per_send: 5, ..Config::default() };
    let mut q = Queue::of(&[2, 2, 1, 1, 6]);
    let mut fwd = Forwarder::new(config, 1);
    let out = send(&q, &mut fwd, 0);
    assert_eq!((out.first, out.last), (1, 3), "three batches, five points");
    assert_eq!(ids(&out), ["100", "101", "200", "201", "300"]);
    assert_eq!(out.transmit.version, Version::V1);
    assert_eq!(out.transmit.counts, Counts { samples: 5, ..Counts::default() });
    let h = fwd.handle_response(answer(204), 40).unwrap();
    assert_eq!(h.decision, Decision::Remove { first: 1, last: 3 });
    assert_eq!((h.stats.samples.total, h.stats.bytes_total), (5, out.transmit.body.len() as u64));
    assert_eq!((h.stats.requests_succeeded, h.stats.batch_duration_count, h.stats.batch_duration_sum_ms), (1, 1, 40));
    q.apply(h.decision);
    // The next batch fits; the one after would pass five points.
    let out = send(&q, &mut fwd, 50);
    assert_eq!((out.first, out.last), (4, 4));
    q.apply(fwd.handle_response(answer(200), 60).unwrap().decision);
    let out = send(&q, &mut fwd, 70);
    assert_eq!((out.first, out.last, out.transmit.counts.samples), (5, 5, 6), "alone, though over the points");
    q.apply(fwd.handle_response(answer(204), 80).unwrap().decision);
    assert_eq!(q.next(&mut fwd, 90), Next::Idle);
}

#[test]
fn a_415_to_v2_falls_back_to_v1_and_sends_the_same_batches() {
    let mut q = Queue::of(&[2, 3]);
    let mut fwd = Forwarder::new(Config { protocol: Version::V2, ..Config::default() }, 1);
    let out = send(&q, &mut fwd, 0);
    assert_eq!(out.transmit.version, Version::V2);
    assert_eq!(header(&out, "X-Prometheus-Remote-Write-Version").as_deref(), Some("2.0.0"));
    let h = fwd.handle_response(answer(415), 5).unwrap();
    assert_eq!(h.decision, Decision::SendAgain);
    assert_eq!(h.event, Some(Event::FellBackToV1 { status: 415 }));
    assert_eq!(h.stats.protocol_fallbacks_total, 1);
    assert_eq!(fwd.version(), Version::V1);
    q.apply(h.decision);
    let again = send(&q, &mut fwd, 6);
    assert_eq!(again.transmit.version, Version::V1);
    assert_eq!(again.transmit.attempt, 0, "a fallback is not a retry");
    assert_eq!(ids(&again), ids(&out));
    let h = fwd.handle_response(answer(204), 9).unwrap();
    assert_eq!(h.decision, Decision::Remove { first: 1, last: 2 });
    assert_eq!(h.stats.samples.total, 5);
    q.apply(h.decision);
    // A 415 to 1.0 is a refusal.
    q.rows.push(batch(3, 1));
    let _ = send(&q, &mut fwd, 10);
    let h = fwd.handle_response(answer(415), 11).unwrap();
    assert_eq!(h.decision, Decision::Remove { first: 3, last: 3 });
    assert_eq!(h.stats.samples.failed, 1);
}

#[test]
fn a_2xx_without_written_headers_from_v2_means_a_v1_receiver() {
    let q = Queue::of(&[2]);
    let mut fwd = Forwarder::new(Config { protocol: Version::V2, ..Config::default() }, 1);
    let _ = send(&q, &mut fwd, 0);
    let h = fwd.handle_response(answer(204), 1).unwrap();
    assert_eq!((h.decision, h.stats.samples.total), (Decision::SendAgain, 0), "nothing counted as delivered");
    assert_eq!(fwd.version(), Version::V1);
    // With the headers, a 2.0 receiver is believed, partial counts included.
    let mut fwd = Forwarder::new(Config { protocol: Version::V2, ..Config::default() }, 1);
    let _ = send(&q, &mut fwd, 0);
    let written = Some(Counts { samples: 1, ..Counts::default() });
    let h = fwd.handle_response(Response { status: 204, written, ..Response::default() }, 1).unwrap();
    assert_eq!(h.decision, Decision::Remove { first: 1, last: 1 });
    assert_eq!((h.stats.samples.total, h.stats.samples.failed), (1, 1));
    assert!(matches!(h.event, Some(Event::PartiallyWritten { .. })));
}

#[test]
fn retry_after_is_honoured_up_to_the_cap() {
    let config = Config {
        policy: edgewrite::sender::retry::Policy { max_retry_after_ms: 60_000, ..Default::default() },
        ..Config::default()
    };
    let mut q = Queue::of(&[1]);
    let mut fwd = Forwarder::new(config, 1);
    for (retry_after, delay) in [("7", 7000), ("3600", 60_000), ("Sun, 06 Nov 2033 08:49:37 GMT", 60_000)] {
        let _ = send(&q, &mut fwd, 0);
        let h =
            fwd.handle_response(Response { status: 429, retry_after: Some(retry_after), ..answer(429) }, 0).unwrap();
        assert_eq!(h.decision, Decision::RetryLater { seq: 1, delay_ms: delay }, "Retry-After: {retry_after}");
        q.apply(h.decision);
    }
    assert_eq!(q.rows[0].3, 3, "each retry counted on the batch");
    let out = send(&q, &mut fwd, 0);
    assert_eq!(out.transmit.attempt, 3);
    assert_eq!(header(&out, "Retry-Attempt").as_deref(), Some("3"));
}

#[test]
fn server_errors_429_and_network_errors_back_off_exponentially() {
    let mut q = Queue::of(&[2]);
    let mut fwd = Forwarder::new(Config::default(), 9);
    let mut delays = Vec::new();
    for k in 0..9 {
        let _ = send(&q, &mut fwd, 0);
        let h = match k % 3 {
            0 => fwd.handle_response(answer(503), 0).unwrap(),
            1 => fwd.handle_response(answer(429), 0).unwrap(),
            _ => fwd.handle_error("connection reset", 0).unwrap(),
        };
        let Decision::RetryLater { seq: 1, delay_ms } = h.decision else { panic!("{:?}", h.decision) };
        assert!(matches!(h.event, Some(Event::Retrying { attempt, .. }) if attempt == k + 1));
        assert_eq!(h.stats.requests_retried, 1);
        if k > 0 {
            assert_eq!(h.stats.samples.retried, 2, "a retry's data counts as retried");
        }
        delays.push(delay_ms);
        q.apply(h.decision);
    }
    // Each delay between half and all of its step: 30, 60, ... ms, capped at 5 s.
    for (k, d) in delays.iter().enumerate() {
        let step = (30u64 << k).min(5000);
        assert!((step / 2..=step).contains(d), "retry {k}: {d} ms for a step of {step}");
    }
    // A success resets the backoff.
    let _ = send(&q, &mut fwd, 0);
    q.apply(fwd.handle_response(answer(204), 0).unwrap().decision);
    q.rows.push(batch(2, 1));
    let _ = send(&q, &mut fwd, 0);
    let Decision::RetryLater { delay_ms, .. } = fwd.handle_response(answer(500), 0).unwrap().decision else { panic!() };
    assert!(delay_ms <= 30, "{delay_ms}");
}

#[test]
fn a_refused_joined_request_goes_again_batch_by_batch() {
    let mut q = Queue::of(&[1, 2, 1, 1]);
    let mut fwd = Forwarder::new(Config { max_batches_per_send: 3, ..Config::default() }, 1);
    let joined = send(&q, &mut fwd, 0);
    assert_eq!((joined.first, joined.last), (1, 3));
    let h = fwd.handle_response(answer(400), 1).unwrap();
    assert_eq!(h.decision, Decision::SendAgain, "nothing dropped yet");
    assert_eq!(h.stats.samples.failed, 0);
    assert_eq!(fwd.batches_wanted(), 1);
    q.apply(h.decision);
    let mut dropped = Vec::new();
    for (status, seq) in [(204, 1), (400, 2), (204, 3)] {
        let out = send(&q, &mut fwd, 2);
        assert_eq!((out.first, out.last), (seq, seq));
        let h = fwd.handle_response(answer(status), 3).unwrap();
        assert_eq!(h.decision, Decision::Remove { first: seq, last: seq });
        if let Some(Event::Dropped { reason, status, counts, message }) = &h.event {
            assert_eq!((*reason, *status, counts.samples), (DropReason::Rejected, Some(400), 2));
            assert_eq!(message, "upstream says no");
            assert_eq!(h.stats.samples.failed, 2);
            dropped.push(seq);
        }
        q.apply(h.decision);
    }
    assert_eq!(dropped, [2], "only the refused batch is dropped");
    assert_eq!(fwd.batches_wanted(), 3, "joining again after the refused ones");
    let out = send(&q, &mut fwd, 4);
    assert_eq!((out.first, out.last), (4, 4));
}

#[test]
fn a_partial_write_of_a_joined_request_is_not_sent_again() {
    // A 2.0 upstream that wrote part of the request (400 with Written headers) kept what it
    // could: sending the batches again would only duplicate it.
    let q = Queue::of(&[1, 2]);
    let mut fwd = Forwarder::new(Config { protocol: Version::V2, ..Config::default() }, 1);
    let _ = send(&q, &mut fwd, 0);
    let written = Some(Counts { samples: 2, ..Counts::default() });
    let h = fwd.handle_response(Response { written, ..answer(400) }, 1).unwrap();
    assert_eq!(h.decision, Decision::Remove { first: 1, last: 2 });
    assert_eq!((h.stats.samples.total, h.stats.samples.failed), (2, 1));
}

#[test]
fn a_429_is_dropped_when_not_retried() {
    let config = Config {
        policy: edgewrite::sender::retry::Policy { retry_on_429: false, ..Default::default() },
        ..Config::default()
    };
    let q = Queue::of(&[1]);
    let mut fwd = Forwarder::new(config, 1);
    let _ = send(&q, &mut fwd, 0);
    let h = fwd.handle_response(answer(429), 1).unwrap();
    assert_eq!(h.decision, Decision::Remove { first: 1, last: 1 });
    assert!(matches!(h.event, Some(Event::Dropped { status: Some(429), .. })));
}

#[test]
fn a_batch_that_no_longer_decodes_is_dropped_as_corrupt_after_the_good_ones() {
    let mut q = Queue::of(&[1, 1]);
    q.rows.push((3, vec![0xff, 0xff, 0xff], 4, 0));
    q.rows.push(batch(4, 1));
    let mut fwd = Forwarder::new(Config::default(), 1);
    let out = send(&q, &mut fwd, 0);
    assert_eq!((out.first, out.last), (1, 2), "stops before the corrupt batch");
    q.apply(fwd.handle_response(answer(204), 1).unwrap().decision);
    let Next::Settle(handled) = q.next(&mut fwd, 2) else { panic!("not settled") };
    let Handled { decision, stats, event } = *handled;
    assert_eq!(decision, Decision::Remove { first: 3, last: 3 });
    assert_eq!(stats.samples.failed, 4);
    assert!(matches!(event, Some(Event::Dropped { reason: DropReason::Corrupt, status: None, .. })));
    q.apply(decision);
    assert_eq!(send(&q, &mut fwd, 3).first, 4);
}

#[test]
fn family_metadata_goes_to_v1_and_stays_behind_for_v2() {
    // A no-sample series carrying 1.0 family metadata, as the receiver queues it.
    let mut req = WriteRequest::default();
    req.series.push(Series {
        metadata: edgewrite::Metadata {
            metric_type: edgewrite::MetricType::Counter,
            help: "Requests.".into(),
            unit: "".into(),
        },
        ..Series::from_pairs([("__name__", "http_requests_total")])
    });
    let body = Encoder::new().encode_v2_series_uncompressed(req.series.iter()).to_vec();
    let q = Queue { rows: vec![(1, body, 0, 0)] };
    let mut v1 = Forwarder::new(Config::default(), 1);
    let out = send(&q, &mut v1, 0);
    assert_eq!(decoded(&out).metadata.len(), 1);
    let h = v1.handle_response(answer(204), 1).unwrap();
    assert_eq!(h.stats.metadata_total, 1);
    let mut v2 = Forwarder::new(Config { protocol: Version::V2, ..Config::default() }, 1);
    assert_eq!(
        q.next(&mut v2, 0),
        Next::Settle(Box::new(Handled {
            decision: Decision::Remove { first: 1, last: 1 },
            stats: Default::default(),
            event: None
        }))
    );
}

#[test]
fn an_outcome_without_a_request_is_an_error() {
    let mut fwd = Forwarder::new(Config::default(), 1);
    assert!(fwd.handle_response(answer(204), 0).is_err());
    assert!(fwd.handle_error("x", 0).is_err());
}

/// Everything queued reaches a flaky upstream exactly once per delivery, in order, and the
/// counters add up: what was delivered plus what was dropped is what was queued.
#[test]
fn a_flaky_upstream_gets_everything_in_order() {
    let mut q = Queue::of(&(0..60).map(|i| 1 + i % 4).collect::<Vec<_>>());
    let queued: u64 = q.rows.iter().map(|r| r.2).sum();
    let mut fwd = Forwarder::new(Config { protocol: Version::V2, max_batches_per_send: 5, ..Config::default() }, 3);
    let mut rng = 0x9e37_79b9_u64;
    let mut roll = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % 10
    };
    let (mut now, mut seen, mut delivered, mut failed) = (0i64, Vec::<i64>::new(), 0u64, 0u64);
    let mut requests = 0;
    loop {
        let out = match q.next(&mut fwd, now) {
            Next::Idle => break,
            Next::Settle(h) => panic!("{h:?}"),
            Next::Send(out) => out,
        };
        requests += 1;
        assert!(requests < 10_000, "does not finish");
        let r = roll();
        let h = match r {
            0 => fwd.handle_error("reset", now + 3).unwrap(),
            1 => fwd.handle_response(answer(503), now + 3).unwrap(),
            2 => fwd.handle_response(Response { retry_after: Some("1"), ..answer(429) }, now + 3).unwrap(),
            3 if out.transmit.version == Version::V2 => fwd.handle_response(answer(415), now + 3).unwrap(),
            _ => {
                seen.extend(decoded(&out).series.iter().map(|s| s.samples[0].timestamp));
                // A 2.0 receiver says what it wrote; a 1.0 receiver cannot.
                let written = (out.transmit.version == Version::V2).then_some(out.transmit.counts);
                fwd.handle_response(Response { written, ..answer(204) }, now + 3).unwrap()
            }
        };
        delivered += h.stats.samples.total;
        failed += h.stats.samples.failed;
        if let Decision::RetryLater { delay_ms, .. } = h.decision {
            now += delay_ms as i64;
        }
        q.apply(h.decision);
    }
    assert_eq!((delivered, failed), (queued, 0));
    assert_eq!(seen.len() as u64, queued);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "out of order: {seen:?}");
    assert_eq!(fwd.version(), Version::V1);
}

#[test]
fn the_backoff_goes_on_from_the_attempts_kept_in_the_queue() {
    // A shard restarted while its head batch had failed 5 times: the next delay is drawn from
    // the step those failures reached (960 ms), not from the first (30 ms).
    let mut q = Queue::of(&[1]);
    q.rows[0].3 = 5;
    let mut fwd = Forwarder::new(Config::default(), 1);
    let _ = send(&q, &mut fwd, 0);
    let Decision::RetryLater { delay_ms, .. } = fwd.handle_response(answer(503), 0).unwrap().decision else { panic!() };
    assert!((480..=960).contains(&delay_ms), "{delay_ms}");
}

#[test]
fn a_joined_request_refused_with_429_is_not_split_into_more_requests() {
    let config = Config {
        policy: edgewrite::sender::retry::Policy { retry_on_429: false, ..Default::default() },
        ..Config::default()
    };
    let q = Queue::of(&[1, 1, 1]);
    let mut fwd = Forwarder::new(config, 1);
    let _ = send(&q, &mut fwd, 0);
    let h = fwd.handle_response(answer(429), 1).unwrap();
    assert_eq!(h.decision, Decision::Remove { first: 1, last: 3 });
    assert_eq!(h.stats.samples.failed, 3);
}
