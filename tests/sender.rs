//! The sender's queue driven with a fake clock and scripted responses: batching, ordering under
//! retries and parallel shards, backoff, Retry-After, protocol fallback, capacity, sample age,
//! collections, metadata.

use edgewrite::codec::decode_owned;
use edgewrite::sender::*;
use edgewrite::*;
use std::collections::HashMap;
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn decode(t: &Transmit) -> WriteRequest<'static> {
    decode_owned(&t.body, t.version, &Limits::default()).expect("the sender's bodies decode")
}

fn status(status: u16) -> Response<'static> {
    Response { status, ..Response::default() }
}

fn sender(config: Config) -> Sender {
    Sender::new(config, 7).unwrap()
}

fn one_shard() -> Config {
    Config { shards: 1, ..Config::default() }
}

#[test]
fn a_full_batch_goes_at_once_and_the_next_waits_for_it() {
    let mut s = sender(Config { max_samples_per_send: 1000, capacity: 5000, ..one_shard() });
    let up = s.series(&[("__name__", "up")]).unwrap();
    for t in 0..2500 {
        s.push(up, Sample::new(t as f64, t), 0).unwrap();
    }
    let first = s.poll_transmit(0).expect("a full batch is due");
    assert_eq!(first.counts.samples, 1000);
    assert!(s.poll_transmit(0).is_none(), "one request in flight per shard");
    s.handle_response(first.id, status(204), 10);
    let second = s.poll_transmit(10).unwrap();
    assert_eq!(decode(&second).series[0].samples[0].timestamp, 1000);
    s.handle_response(second.id, status(204), 20);
    // 500 left: not a full batch, so they wait for the deadline, counted from when the last
    // batch was taken (t=10).
    assert!(s.poll_transmit(20).is_none());
    assert_eq!(s.poll_timeout(), Some(10 + 5000));
    assert!(s.poll_transmit(5009).is_none());
    let third = s.poll_transmit(5010).unwrap();
    assert_eq!(third.counts.samples, 500);
    s.handle_response(third.id, status(204), 5030);
    assert!(s.is_idle());
    assert_eq!(s.stats().samples.total, 2500);
}

#[test]
fn a_partial_batch_waits_for_the_deadline_or_a_flush() {
    let mut s = sender(one_shard());
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 100), 100).unwrap();
    assert!(s.poll_transmit(100).is_none());
    assert_eq!(s.poll_timeout(), Some(5100));
    assert!(s.poll_transmit(5099).is_none());
    assert!(s.poll_transmit(5100).is_some());
    let mut s = sender(one_shard());
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 100), 100).unwrap();
    s.flush();
    assert!(s.poll_transmit(100).is_some(), "flush sends at once");
}

/// Many series over four shards, random failures (5xx, 429, network errors) and a moving
/// clock: every sample arrives exactly once, and each series' samples arrive in order.
#[test]
fn order_holds_per_series_under_retries_and_parallel_shards() {
    let mut s = sender(Config { shards: 4, max_samples_per_send: 50, capacity: 100_000, ..Config::default() });
    let series: Vec<SeriesRef> =
        (0..40).map(|i| s.series(&[("__name__", "m"), ("i", &i.to_string())]).unwrap()).collect();
    let mut rng = retry::Jitter::new(99);
    let mut now = 0i64;
    let mut next_ts = 0i64;
    let mut in_flight: Vec<Transmit> = Vec::new();
    let mut delivered: HashMap<String, Vec<i64>> = HashMap::new();
    for round in 0..3000 {
        if round < 2000 {
            for &r in &series {
                if rng.unit() < 0.3 {
                    s.push(r, Sample::new(1.0, next_ts), now).unwrap();
                    next_ts += 1;
                }
            }
        }
        while let Some(t) = s.poll_transmit(now) {
            in_flight.push(t);
        }
        // Answer some of the outstanding requests, in random order.
        let mut i = 0;
        while i < in_flight.len() {
            if rng.unit() < 0.5 {
                i += 1;
                continue;
            }
            let t = in_flight.swap_remove(i);
            let roll = rng.unit();
            if roll < 0.15 {
                s.handle_response(t.id, status(503), now);
            } else if roll < 0.2 {
                s.handle_response(t.id, Response { status: 429, retry_after: Some("1"), ..Response::default() }, now);
            } else if roll < 0.3 {
                s.handle_error(t.id, "connection reset", now);
            } else {
                for series in decode(&t).series {
                    let key = series.label("i").unwrap().to_string();
                    delivered.entry(key).or_default().extend(series.samples.iter().map(|x| x.timestamp));
                }
                s.handle_response(t.id, status(204), now);
            }
        }
        now += 7;
    }
    s.flush();
    for _ in 0..10_000 {
        if s.is_idle() {
            break;
        }
        while let Some(t) = s.poll_transmit(now) {
            for series in decode(&t).series {
                let key = series.label("i").unwrap().to_string();
                delivered.entry(key).or_default().extend(series.samples.iter().map(|x| x.timestamp));
            }
            s.handle_response(t.id, status(204), now);
        }
        for t in in_flight.drain(..) {
            s.handle_error(t.id, "lost", now);
        }
        now += 100;
    }
    assert!(s.is_idle());
    let total: usize = delivered.values().map(Vec::len).sum();
    assert_eq!(total as i64, next_ts, "every sample delivered exactly once");
    for (series, ts) in &delivered {
        assert!(ts.windows(2).all(|w| w[0] < w[1]), "series {series} out of order");
    }
    let stats = s.stats();
    assert_eq!(stats.samples.total, next_ts as u64);
    assert!(stats.samples.retried > 0 && stats.requests_retried > 0);
}

#[test]
fn retries_back_off_exponentially_with_jitter_and_count_attempts() {
    let mut s = sender(one_shard());
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 0), 0).unwrap();
    s.flush();
    let mut now = 0;
    let mut t = s.poll_transmit(now).unwrap();
    assert!(!t.headers().iter().any(|(k, _)| *k == "Retry-Attempt"));
    let mut delays = Vec::new();
    for attempt in 1..=9 {
        s.handle_response(t.id, status(503), now);
        let at = s.poll_timeout().unwrap();
        delays.push(at - now);
        assert!(s.poll_transmit(at - 1).is_none());
        now = at;
        t = s.poll_transmit(now).unwrap();
        assert_eq!(t.attempt, attempt);
        assert!(t.headers().contains(&("Retry-Attempt", attempt.to_string())));
    }
    let steps = [30, 60, 120, 240, 480, 960, 1920, 3840, 5000];
    for (d, step) in delays.iter().zip(steps) {
        assert!((step / 2..=step).contains(d), "delay {d} for step {step}: {delays:?}");
    }
    s.handle_response(t.id, status(204), now);
    assert_eq!(s.stats().samples.retried, 9);
    assert!(matches!(s.poll_event(), Some(Event::Retrying { status: Some(503), attempt: 1, .. })));
}

#[test]
fn retry_after_is_honoured() {
    let mut s = sender(one_shard());
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 0), 0).unwrap();
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    s.handle_response(t.id, Response { status: 429, retry_after: Some("3"), ..Response::default() }, 10);
    assert_eq!(s.poll_timeout(), Some(3010));
    let t = s.poll_transmit(3010).unwrap();
    // An HTTP date, 2 s after now (1994-11-06T08:49:37Z).
    let now = 784_111_777_000;
    s.handle_response(
        t.id,
        Response { status: 503, retry_after: Some("Sun, 06 Nov 1994 08:49:39 GMT"), ..Response::default() },
        now,
    );
    assert_eq!(s.poll_timeout(), Some(now + 2000));
}

#[test]
fn a_4xx_drops_the_batch_and_reports_the_receivers_message() {
    let mut s = sender(one_shard());
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 0), 0).unwrap();
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    let body = format!("out of order sample{}", "x".repeat(2000));
    s.handle_response(t.id, Response { status: 400, body: body.as_bytes(), ..Response::default() }, 5);
    match s.poll_event() {
        Some(Event::Dropped { reason: DropReason::Rejected, status: Some(400), counts, message }) => {
            assert_eq!(counts.samples, 1);
            assert_eq!(message.len(), 1024);
            assert!(message.starts_with("out of order sample"));
        }
        other => panic!("{other:?}"),
    }
    assert!(s.is_idle());
    assert_eq!(s.stats().samples.failed, 1);
}

#[test]
fn a_429_is_dropped_when_retrying_it_is_off() {
    let mut s = sender(Config { retry_on_429: false, ..one_shard() });
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 0), 0).unwrap();
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    s.handle_response(t.id, status(429), 5);
    assert!(s.is_idle());
    assert!(matches!(s.poll_event(), Some(Event::Dropped { status: Some(429), .. })));
}

fn v2_sender(detect: bool) -> (Sender, SeriesRef) {
    let mut s = sender(Config { protocol: Version::V2, detect_v1_receivers: detect, ..one_shard() });
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 0), 0).unwrap();
    s.flush();
    (s, up)
}

#[test]
fn a_415_switches_a_v2_writer_to_v1_for_good() {
    let (mut s, up) = v2_sender(true);
    let t = s.poll_transmit(0).unwrap();
    assert_eq!(t.version, Version::V2);
    s.handle_response(t.id, status(415), 1);
    assert_eq!(s.poll_event(), Some(Event::FellBackToV1 { status: 415 }));
    let again = s.poll_transmit(1).expect("the same batch, at once");
    assert_eq!(again.version, Version::V1);
    assert_eq!(decode(&again).series[0].samples, [Sample::new(1.0, 0)]);
    s.handle_response(again.id, status(204), 2);
    s.push(up, Sample::new(2.0, 1), 2).unwrap();
    s.flush();
    assert_eq!(s.poll_transmit(2).unwrap().version, Version::V1, "it stays on 1.0");
    assert_eq!(s.stats().samples.total, 1);
    assert_eq!(s.stats().protocol_fallbacks_total, 1);
}

#[test]
fn a_v2_2xx_without_written_headers_means_a_v1_receiver() {
    let (mut s, _) = v2_sender(true);
    let t = s.poll_transmit(0).unwrap();
    s.handle_response(t.id, status(204), 1);
    assert_eq!(s.poll_event(), Some(Event::FellBackToV1 { status: 204 }));
    assert_eq!(s.poll_transmit(1).unwrap().version, Version::V1);
    // Where headers are hidden (browsers), the heuristic is off.
    let (mut s, _) = v2_sender(false);
    let t = s.poll_transmit(0).unwrap();
    s.handle_response(t.id, status(204), 1);
    assert!(s.is_idle());
    assert_eq!(s.protocol(), Version::V2);
}

#[test]
fn short_written_counts_are_failures() {
    let (mut s, _) = v2_sender(true);
    let t = s.poll_transmit(0).unwrap();
    let written = Response::written_from(|h| (h == codec::SAMPLES_WRITTEN_HEADER).then(|| "0".to_string()));
    s.handle_response(t.id, Response { status: 204, written, ..Response::default() }, 1);
    assert!(matches!(s.poll_event(), Some(Event::PartiallyWritten { .. })));
    let stats = s.stats();
    assert_eq!((stats.samples.total, stats.samples.failed), (0, 1));
}

#[test]
fn a_full_queue_rejects_or_drops_the_oldest_as_configured() {
    let mut s = sender(Config { capacity: 10, max_samples_per_send: 10, ..one_shard() });
    let up = s.series(&[("__name__", "up")]).unwrap();
    for t in 0..10 {
        s.push(up, Sample::new(1.0, t), 0).unwrap();
    }
    let err = s.push(up, Sample::new(1.0, 10), 0).unwrap_err();
    assert_eq!(err, PushError::QueueFull { capacity: 10 });
    assert!(err.to_string().contains("raise capacity"));
    assert_eq!(s.stats().samples.dropped_queue_full, 1);

    let mut s = sender(Config { capacity: 10, max_samples_per_send: 5, on_full: OnFull::DropOldest, ..one_shard() });
    let up = s.series(&[("__name__", "up")]).unwrap();
    for t in 0..5 {
        s.push(up, Sample::new(1.0, t), 0).unwrap();
    }
    let in_flight = s.poll_transmit(0).unwrap();
    for t in 5..13 {
        s.push(up, Sample::new(1.0, t), 0).unwrap();
    }
    assert_eq!(s.stats().samples.dropped_queue_full, 3, "the three oldest queued (5, 6, 7), never the batch in flight");
    assert!(matches!(s.poll_event(), Some(Event::Dropped { reason: DropReason::QueueFull, .. })));
    s.handle_response(in_flight.id, status(204), 1);
    let next = s.poll_transmit(1).unwrap();
    let ts: Vec<i64> = decode(&next).series[0].samples.iter().map(|x| x.timestamp).collect();
    assert_eq!(ts, [8, 9, 10, 11, 12]);
}

#[test]
fn samples_older_than_the_age_limit_are_dropped_not_retried_forever() {
    let mut s = sender(Config { sample_age_limit_ms: 60_000, ..one_shard() });
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 0), 0).unwrap();
    s.push(up, Sample::new(2.0, 50_000), 0).unwrap();
    s.flush();
    let mut now = 0;
    let mut t = s.poll_transmit(now).unwrap();
    while now < 70_000 {
        s.handle_response(t.id, status(503), now);
        now = s.poll_timeout().unwrap();
        t = s.poll_transmit(now).unwrap();
    }
    assert_eq!(t.counts.samples, 1, "the sample from t=0 is too old now");
    assert_eq!(s.stats().samples.dropped_too_old, 1);
}

#[test]
fn collections_travel_whole_and_in_order() {
    let mut s = sender(Config { shards: 4, max_samples_per_send: 3, ..Config::default() });
    let refs: Vec<SeriesRef> =
        (0..20).map(|i| s.series(&[("__name__", "c"), ("i", &i.to_string())]).unwrap()).collect();
    let loose = s.series(&[("__name__", "loose")]).unwrap();
    for scrape in 0..2 {
        let mut c = Collection::new();
        for &r in &refs {
            c.sample(r, Sample::new(scrape as f64, scrape * 1000));
        }
        s.write_collection(c, 0).unwrap();
        s.push(loose, Sample::new(1.0, scrape * 1000), 0).unwrap();
    }
    s.flush();
    let mut collections = Vec::new();
    let mut now = 0;
    while !s.is_idle() {
        while let Some(t) = s.poll_transmit(now) {
            let req = decode(&t);
            if req.series.iter().any(|x| x.metric_name() == Some("c")) {
                assert!(req.series.iter().all(|x| x.metric_name() == Some("c")), "never mixed with other data");
                collections.push(req.series.iter().map(|x| x.samples[0].timestamp).collect::<Vec<_>>());
            }
            s.handle_response(t.id, status(204), now);
        }
        now += 1;
    }
    assert_eq!(collections, [vec![0; 20], vec![1000; 20]], "each collection one request, in order");
}

#[test]
fn an_oversized_collection_is_split_and_counted() {
    let mut s = sender(Config { max_samples_per_request: 8, ..one_shard() });
    let refs: Vec<SeriesRef> =
        (0..20).map(|i| s.series(&[("__name__", "c"), ("i", &i.to_string())]).unwrap()).collect();
    let mut c = Collection::new();
    refs.iter().for_each(|&r| {
        c.sample(r, Sample::new(1.0, 1));
    });
    s.write_collection(c, 0).unwrap();
    let mut sizes = Vec::new();
    while let Some(t) = s.poll_transmit(0) {
        sizes.push(t.counts.samples);
        s.handle_response(t.id, status(204), 0);
    }
    assert_eq!(sizes, [8, 8, 4]);
    assert_eq!(s.stats().collections_split_total, 2);
}

#[test]
fn v1_sends_family_metadata_once_per_interval() {
    let mut s = sender(Config { metadata_interval_ms: 60_000, ..one_shard() });
    let meta = Metadata { metric_type: MetricType::Histogram, help: "Latency.".into(), unit: "seconds".into() };
    let b = s.series_with_metadata(&[("__name__", "rpc_seconds_bucket"), ("le", "1")], meta.clone()).unwrap();
    let c = s.series_with_metadata(&[("__name__", "rpc_seconds_count")], meta).unwrap();
    let send = |s: &mut Sender, now: i64| {
        s.push(b, Sample::new(1.0, now), now).unwrap();
        s.push(c, Sample::new(1.0, now), now).unwrap();
        s.flush();
        let t = s.poll_transmit(now).unwrap();
        s.handle_response(t.id, status(204), now);
        decode(&t).metadata
    };
    let first = send(&mut s, 0);
    assert_eq!(first.len(), 1, "one entry for the family");
    assert_eq!(first[0].metric_family_name, "rpc_seconds");
    assert_eq!(first[0].metadata.unit, "seconds");
    assert!(send(&mut s, 30_000).is_empty());
    assert_eq!(send(&mut s, 60_000).len(), 1);
    assert_eq!(s.stats().metadata_total, 2);
}

#[test]
fn v2_bodies_intern_symbols_and_keep_histograms_apart() {
    let mut s = sender(Config { protocol: Version::V2, ..one_shard() });
    let meta = Metadata { metric_type: MetricType::Counter, help: "Orders.".into(), unit: "".into() };
    let a = s.series_with_metadata(&[("__name__", "orders_total"), ("zone", "a")], meta).unwrap();
    let b = s.series(&[("__name__", "orders_total"), ("zone", "b"), ("empty", "")]).unwrap();
    s.push(a, Sample { value: 1.0, timestamp: 10, start_timestamp: 5 }, 0).unwrap();
    s.push_exemplar(a, &[("trace_id", "abc")], 1.0, 10, 0).unwrap();
    s.push(b, Sample::new(STALE_NAN, 10), 0).unwrap();
    s.push_histogram(b, Histogram { count: Count::Int(0), timestamp: 20, ..Histogram::default() }, 0).unwrap();
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    let raw = snap::raw::Decoder::new().decompress_vec(&t.body).unwrap();
    let req = decode(&t);
    assert_eq!(req.series.len(), 3, "b's samples and histograms are separate time series");
    assert_eq!(req.series[0].samples[0].start_timestamp, 5);
    assert_eq!(req.series[0].exemplars[0].labels[0].value, "abc", "exemplars ride with the samples");
    assert_eq!(req.series[0].metadata.help, "Orders.");
    assert!(req.series[1].samples[0].is_stale(), "stale markers bit-exact");
    assert_eq!(req.series[1].labels.len(), 2, "empty label values are dropped");
    assert_eq!(req.series[2].histograms.len(), 1);
    assert!(validate::validate(&req, Version::V2, &Limits::default()).is_valid());
    // "orders_total" appears once in the symbol table.
    assert_eq!(raw.windows(12).filter(|w| w == b"orders_total").count(), 1);
}

#[test]
fn bad_label_sets_are_refused_when_registered() {
    let mut s = sender(one_shard());
    assert_eq!(s.series(&[("job", "a")]), Err(LabelError::MissingMetricName));
    assert_eq!(s.series(&[("__name__", "a"), ("x", "1"), ("x", "2")]), Err(LabelError::DuplicateLabel("x".into())));
    assert_eq!(s.series(&[("__name__", "http.requests")]), Err(LabelError::InvalidName("http.requests".into())));
    let a = s.series(&[("job", "a"), ("__name__", "up")]).unwrap();
    assert_eq!(s.series(&[("__name__", "up"), ("job", "a")]).unwrap(), a, "the same series, the same handle");
    s.release(a);
    assert_eq!(s.push(a, Sample::new(1.0, 0), 0), Err(PushError::UnknownSeries(a)));
}

#[test]
fn stats_read_as_prometheus_text() {
    let mut s = sender(one_shard());
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 0), 0).unwrap();
    let text = s.stats().to_prometheus_text("url=\"http://127.0.0.1:8787/api/v1/write\"");
    assert!(text.contains("# TYPE prometheus_remote_storage_samples_total counter"));
    assert!(text.contains("prometheus_remote_storage_samples_pending{url=\"http://127.0.0.1:8787/api/v1/write\"} 1"));
    assert!(text.contains("prometheus_remote_storage_samples_dropped_total{url=\"http://127.0.0.1:8787/api/v1/write\",reason=\"too_old\"} 0"));
    assert!(text.contains("prometheus_remote_storage_sent_batch_duration_seconds_bucket{url=\"http://127.0.0.1:8787/api/v1/write\",le=\"+Inf\"} 0"));
}

#[test]
fn releasing_a_series_keeps_what_is_queued_for_it() {
    let mut s = sender(Config { shards: 2, ..Config::default() });
    let old = s.series(&[("__name__", "old")]).unwrap();
    s.push(old, Sample::new(1.0, 1), 0).unwrap();
    s.push(old, Sample::new(STALE_NAN, 2), 0).unwrap();
    s.release(old);
    // A new series registered now must not take over the old one's queued data.
    let new = s.series(&[("__name__", "new")]).unwrap();
    s.push(new, Sample::new(5.0, 3), 0).unwrap();
    s.flush();
    let mut seen = HashMap::new();
    while let Some(t) = s.poll_transmit(0) {
        for x in decode(&t).series {
            seen.insert(x.metric_name().unwrap().to_string(), x.samples.clone());
        }
        s.handle_response(t.id, status(204), 0);
    }
    assert_eq!(seen["old"].len(), 2);
    assert!(seen["old"][1].is_stale(), "the stale marker went out under the old labels");
    assert_eq!(seen["new"], [Sample::new(5.0, 3)]);
    assert_eq!(s.stats().samples.total, 3);
    // Once its data has left, the old slot is reused, under a new generation: the old handle
    // stays dead.
    let third = s.series(&[("__name__", "third")]).unwrap();
    assert_eq!(third.0 & 0x00ff_ffff, old.0, "the same slot");
    assert_ne!(third, old);
    assert_eq!(s.push(old, Sample::new(1.0, 9), 0), Err(PushError::UnknownSeries(old)));
}

#[test]
fn a_v2_fallback_with_several_shards_loses_nothing() {
    let mut s = sender(Config { protocol: Version::V2, shards: 4, ..Config::default() });
    let refs: Vec<SeriesRef> =
        (0..16).map(|i| s.series(&[("__name__", "m"), ("i", &i.to_string())]).unwrap()).collect();
    for &r in &refs {
        s.push(r, Sample::new(1.0, 1), 0).unwrap();
    }
    s.flush();
    let mut first = Vec::new();
    while let Some(t) = s.poll_transmit(0) {
        assert_eq!(t.version, Version::V2);
        first.push(t);
    }
    assert!(first.len() > 1, "several shards in flight at once");
    // A 1.x receiver: 204 without Written headers for some, 415 for others.
    for (k, t) in first.iter().enumerate() {
        s.handle_response(t.id, status(if k % 2 == 0 { 204 } else { 415 }), 1);
    }
    let mut delivered = 0;
    while let Some(t) = s.poll_transmit(1) {
        assert_eq!(t.version, Version::V1);
        assert_eq!(t.attempt, 0, "a protocol fallback is not a retry");
        delivered += decode(&t).series.len();
        s.handle_response(t.id, status(204), 2);
    }
    assert_eq!(delivered, 16, "every shard's batch was sent again as 1.0");
    let stats = s.stats();
    assert_eq!((stats.samples.total, stats.samples.failed, stats.samples.retried), (16, 0, 0));
    assert_eq!(stats.protocol_fallbacks_total, 1);
}

#[test]
fn v2_exemplars_ride_with_histograms_when_there_are_no_samples() {
    let mut s = sender(Config { protocol: Version::V2, ..one_shard() });
    let h = s.series(&[("__name__", "rpc_seconds")]).unwrap();
    s.push_histogram(h, Histogram { timestamp: 5, ..Histogram::default() }, 0).unwrap();
    s.push_exemplar(h, &[("trace_id", "t1")], 0.3, 5, 0).unwrap();
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    let req = decode(&t);
    assert_eq!(req.series.len(), 1);
    assert_eq!(req.series[0].histograms.len(), 1);
    assert_eq!(req.series[0].exemplars.len(), 1);
}

#[test]
fn a_retry_carries_the_metadata_of_the_first_attempt() {
    let mut s = sender(one_shard());
    let meta = Metadata { metric_type: MetricType::Gauge, help: "Up.".into(), unit: "".into() };
    let up = s.series_with_metadata(&[("__name__", "up")], meta).unwrap();
    s.push(up, Sample::new(1.0, 1), 0).unwrap();
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    assert_eq!(decode(&t).metadata.len(), 1);
    s.handle_response(t.id, status(503), 0);
    let at = s.poll_timeout().unwrap();
    let again = s.poll_transmit(at).unwrap();
    assert_eq!(decode(&again).metadata.len(), 1, "the retry has it too");
    s.handle_response(again.id, status(204), at);
    assert_eq!(s.stats().metadata_total, 1);
}

#[test]
fn a_v2_partial_write_counts_what_was_written() {
    let mut s = sender(Config { protocol: Version::V2, ..one_shard() });
    let up = s.series(&[("__name__", "up")]).unwrap();
    for t in 0..3 {
        s.push(up, Sample::new(1.0, t), 0).unwrap();
    }
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    let written = Response::written_from(|h| (h == codec::SAMPLES_WRITTEN_HEADER).then(|| "2".to_string()));
    s.handle_response(
        t.id,
        Response { status: 400, written, body: b"1 sample out of order", ..Response::default() },
        1,
    );
    let stats = s.stats();
    assert_eq!((stats.samples.total, stats.samples.failed), (2, 1));
    assert!(matches!(s.poll_event(), Some(Event::Dropped { counts: Counts { samples: 1, .. }, .. })));
}

#[test]
fn retry_after_zero_falls_back_to_the_backoff() {
    let mut s = sender(one_shard());
    let up = s.series(&[("__name__", "up")]).unwrap();
    s.push(up, Sample::new(1.0, 0), 0).unwrap();
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    s.handle_response(t.id, Response { status: 503, retry_after: Some("0"), ..Response::default() }, 100);
    let at = s.poll_timeout().unwrap();
    assert!((115..=130).contains(&at), "30 ms backoff with jitter, not an immediate retry: {at}");
}

#[test]
fn a_flush_marker_waits_for_earlier_data_only() {
    let mut s = sender(Config { shards: 2, ..Config::default() });
    let a = s.series(&[("__name__", "a")]).unwrap();
    s.push(a, Sample::new(1.0, 1), 0).unwrap();
    s.flush();
    let marker = s.flush_marker();
    assert!(!s.flushed(&marker));
    let t = s.poll_transmit(0).unwrap();
    // More data arrives while the first is in flight: it does not hold the marker back.
    s.push(a, Sample::new(2.0, 2), 0).unwrap();
    s.handle_response(t.id, status(204), 1);
    assert!(s.flushed(&marker));
    assert!(!s.is_idle());
}

#[test]
fn a_collection_larger_than_capacity_is_taken_and_split() {
    let mut s = sender(Config { capacity: 10, max_samples_per_send: 10, max_samples_per_request: 10, ..one_shard() });
    let refs: Vec<SeriesRef> =
        (0..25).map(|i| s.series(&[("__name__", "c"), ("i", &i.to_string())]).unwrap()).collect();
    let mut c = Collection::new();
    for &r in &refs {
        c.sample(r, Sample::new(1.0, 1));
    }
    s.write_collection(c, 0).expect("an empty lane takes a collection larger than its capacity");
    // Sent in parts of max_samples_per_request, in order, one after the other.
    let mut parts = Vec::new();
    while let Some(t) = s.poll_transmit(0) {
        let ids: Vec<String> = decode(&t)
            .series
            .iter()
            .map(|x| x.labels.iter().find(|l| l.name == "i").unwrap().value.to_string())
            .collect();
        parts.push(ids);
        s.handle_response(t.id, status(204), 0);
    }
    let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let all: Vec<String> = parts.concat();
    assert_eq!(all, (0..25).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(s.stats().collections_split_total, 2);
    assert_eq!(s.stats().samples.total, 25);
    // With the lane holding data, capacity applies.
    let mut c = Collection::new();
    for &r in &refs {
        c.sample(r, Sample::new(2.0, 2));
    }
    s.write_collection(c.clone(), 0).unwrap();
    assert_eq!(s.write_collection(c, 0), Err(PushError::QueueFull { capacity: 10 }));
}

#[test]
fn a_released_handle_never_reaches_the_series_that_reuses_its_slot() {
    let mut s = sender(one_shard());
    let old = s.series(&[("__name__", "old")]).unwrap();
    s.release(old);
    // The slot is free (nothing was queued) and the next registration takes it.
    let new = s.series(&[("__name__", "new")]).unwrap();
    assert_ne!(new, old, "a reused slot gets a new handle");
    assert_eq!(s.push(old, Sample::new(1.0, 1), 0), Err(PushError::UnknownSeries(old)));
    let mut c = Collection::new();
    c.sample(old, Sample::new(1.0, 1));
    assert_eq!(s.write_collection(c, 0), Err(PushError::UnknownSeries(old)));
    s.release(old); // releasing a dead handle leaves the live series alone
    s.push(new, Sample::new(2.0, 2), 0).unwrap();
    s.flush();
    let t = s.poll_transmit(0).unwrap();
    let sent = decode(&t);
    assert_eq!(sent.series.len(), 1);
    assert_eq!(sent.series[0].metric_name(), Some("new"));
    assert_eq!(sent.series[0].samples, [Sample::new(2.0, 2)], "only the live handle's sample");
    assert!(PushError::UnknownSeries(old).to_string().contains("released"));
}

#[test]
fn a_slot_whose_generations_are_spent_is_retired_not_reused() {
    let mut s = sender(one_shard());
    let mut handles = Vec::new();
    for i in 0..300 {
        let h = s.series(&[("__name__", "churn"), ("i", &i.to_string())]).unwrap();
        s.release(h);
        handles.push(h);
    }
    // Every handle is distinct, so none of the released ones can ever pass for a live one.
    let mut unique = handles.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), handles.len());
    let live = s.series(&[("__name__", "live")]).unwrap();
    for h in handles {
        assert_eq!(s.push(h, Sample::new(1.0, 1), 0), Err(PushError::UnknownSeries(h)));
    }
    s.push(live, Sample::new(1.0, 1), 0).unwrap();
}
