//! The RUM core on pushes written by hand: what is taken, what is refused and why, and what
//! the aggregator emits.

use super::*;
use crate::model::{Sample, Series, WriteRequest, is_stale_nan};
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn series(pairs: &[(&str, &str)], values: &[f64]) -> Series<'static> {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    Series {
        samples: values.iter().enumerate().map(|(i, &v)| Sample::new(v, 1_000 + i as i64)).collect(),
        ..Series::from_pairs(pairs)
    }
}

/// A classic histogram push of rum_lcp_seconds{route, rating}: observations in seconds.
fn lcp(route: &str, observations: &[f64]) -> Vec<Series<'static>> {
    let schema = Schema::default();
    let bounds = &schema.metric("rum_lcp_seconds").unwrap().buckets;
    let mut out: Vec<Series<'static>> = bounds
        .iter()
        .map(|b| b.to_string())
        .chain(["+Inf".to_string()])
        .map(|le| {
            let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() };
            let n = observations.iter().filter(|&&o| o <= bound).count() as f64;
            series(&[("__name__", "rum_lcp_seconds_bucket"), ("route", route), ("rating", "good"), ("le", &le)], &[n])
        })
        .collect();
    out.push(series(
        &[("__name__", "rum_lcp_seconds_sum"), ("route", route), ("rating", "good")],
        &[observations.iter().sum()],
    ));
    out.push(series(
        &[("__name__", "rum_lcp_seconds_count"), ("route", route), ("rating", "good")],
        &[observations.len() as f64],
    ));
    out
}

fn push(series: Vec<Series<'static>>) -> WriteRequest<'static> {
    WriteRequest { series, metadata: Vec::new() }
}

#[test]
fn declared_metrics_are_taken_as_deltas() {
    let mut s = lcp("/home", &[0.4, 1.2, 3.3]);
    s.push(series(&[("__name__", "rum_page_views_total"), ("route", "/home")], &[1.0, 2.0]));
    let checked = check(&push(s), &Schema::default());
    assert_eq!(checked.message, "");
    assert_eq!((checked.written, checked.refused), (16, 0), "12 buckets, _sum, _count and two increments");
    assert_eq!(checked.deltas.len(), 2);
    assert_eq!(checked.deltas[0].change, Change::Add(3.0), "increments add up");
    let Change::Observe { buckets, sum, count } = &checked.deltas[1].change else { panic!() };
    assert_eq!((buckets[0], buckets[4], buckets[11], *sum, *count), (1.0, 2.0, 3.0, 4.9, 3.0));
    assert_eq!(
        checked.deltas[1].labels,
        [("rating".to_string(), "good".to_string()), ("route".to_string(), "/home".to_string())]
    );
}

#[test]
fn each_refusal_says_which_and_why_and_the_rest_is_taken() {
    let good = || series(&[("__name__", "rum_page_views_total"), ("route", "/")], &[1.0]);
    let cases: Vec<(Vec<Series<'static>>, &str)> = vec![
        (vec![series(&[("__name__", "rum_secret_total")], &[1.0])], "rum_secret_total: not a declared RUM metric"),
        (
            vec![series(&[("__name__", "rum_page_views_total"), ("user", "42")], &[1.0])],
            "label \"user\" is not allowed on rum_page_views_total (allowed: route)",
        ),
        (
            vec![series(&[("__name__", "rum_page_views_total")], &[-1.0])],
            "increment -1 is outside the allowed range [0, 1000]",
        ),
        (vec![series(&[("__name__", "rum_page_views_total")], &[f64::NAN])], "increment NaN is outside"),
        (vec![series(&[("__name__", "rum_lcp_seconds")], &[2.0])], "a histogram: push its rum_lcp_seconds_bucket"),
        (lcp("/", &[31_536_000.0]), "the mean observation 31536000 is outside the allowed range [0, 600]"),
        (lcp("/", &[1.0]).into_iter().skip(1).collect(), "push every declared bucket and +Inf (11 of 12 pushed)"),
        (
            lcp("/", &[1.0]).into_iter().filter(|s| s.metric_name() != Some("rum_lcp_seconds_sum")).collect(),
            "push _sum and _count",
        ),
        (
            lcp("/", &[1.0])
                .into_iter()
                .map(|mut s| {
                    if s.label("le") == Some("+Inf") {
                        s.samples[0].value = 5.0;
                    }
                    s
                })
                .collect(),
            "the +Inf bucket (5) must equal _count (1)",
        ),
        (
            lcp("/", &[1.0])
                .into_iter()
                .map(|mut s| {
                    if s.label("le") == Some("0.5") {
                        s.samples[0].value = 3.0;
                    }
                    s
                })
                .collect(),
            "must not decrease",
        ),
        (
            lcp("/", &[1.0])
                .into_iter()
                .map(|mut s| {
                    if s.label("le") == Some("0.5") {
                        s.labels.iter_mut().find(|l| l.name == "le").unwrap().value = "0.7".into();
                    }
                    s
                })
                .collect(),
            "le=0.7 is not a declared bucket",
        ),
        (vec![series(&[("__name__", "rum_page_views_total_sum")], &[1.0])], "not a declared RUM metric"),
        (
            lcp("/", &[1.0])
                .into_iter()
                .map(|mut s| {
                    if s.metric_name() == Some("rum_lcp_seconds_count") {
                        s.samples[0].value = 0.5;
                    }
                    s
                })
                .collect(),
            "count 0.5 must be a whole number of observations",
        ),
    ];
    for (bad, says) in cases {
        let mut s = bad.clone();
        s.push(good());
        let checked = check(&push(s), &Schema::default());
        assert!(
            checked.message.starts_with("some series refused; the rest were accepted:\n"),
            "{says}: {}",
            checked.message
        );
        assert!(checked.message.contains(says), "wanted {says:?} in {}", checked.message);
        assert_eq!(checked.written, 1, "{says}: the good series is taken");
        assert_eq!(checked.refused, bad.iter().map(|s| s.samples.len() as u64).sum::<u64>(), "{says}");
        assert_eq!(checked.deltas, [views("/", 1.0)]);
    }
}

#[test]
fn totals_accumulate_and_flush_as_cumulative_in_order_series() {
    let mut agg = Aggregator::new(Schema::default(), Config::default());
    let c = check(&push(lcp("/a", &[0.4, 3.3])), &Schema::default());
    let changed = agg.apply(c.deltas, 1_000);
    assert_eq!(changed.len(), 1);
    let first = agg.flush(15_000);
    let c = check(&push(lcp("/a", &[9.0])), &Schema::default());
    agg.apply(c.deltas, 16_000);
    // A clock that went backwards still gives a later flush time.
    let second = agg.flush(14_000);
    let value = |f: &Flush, name: &str, le: Option<&str>| {
        let s = f.request.series.iter().find(|s| s.metric_name() == Some(name) && s.label("le") == le).unwrap();
        let last = s.samples.last().unwrap();
        (last.value, last.timestamp)
    };
    assert_eq!(value(&first, "rum_lcp_seconds_count", None), (2.0, 15_000));
    for s in &first.request.series {
        assert_eq!(s.samples[0], Sample::new(0.0, 999), "new: a 0 just before its first push, then its total");
    }
    assert!(second.request.series.iter().all(|s| s.samples.len() == 1), "the 0 only once");
    assert_eq!(value(&second, "rum_lcp_seconds_count", None), (3.0, 15_001));
    assert_eq!(value(&second, "rum_lcp_seconds_bucket", Some("0.5")), (1.0, 15_001));
    assert_eq!(value(&second, "rum_lcp_seconds_bucket", Some("8")), (2.0, 15_001));
    assert_eq!(value(&second, "rum_lcp_seconds_bucket", Some("+Inf")), (3.0, 15_001));
    assert_eq!(value(&second, "rum_lcp_seconds_sum", None).0, 12.7);
    assert_eq!(second.request.series.len(), 14, "12 buckets, _sum and _count");
}

#[test]
fn totals_survive_a_restart_exactly() {
    let schema = Schema::default();
    let mut agg = Aggregator::new(schema.clone(), Config::default());
    let stored = agg.apply(vec![views("/", 5.0)], 1_000);
    let flushed = agg.flush(2_000);
    // A new instance from what was stored.
    let mut again = Aggregator::new(schema, Config::default());
    again.flushed_at(2_000);
    for t in stored {
        again.load(t);
    }
    again.apply(vec![views("/", 1.0)], 3_000);
    let f = again.flush(1_500);
    assert_eq!(f.request.series[0].samples[0], Sample::new(6.0, 2_001), "no reset, and still in order");
    assert_eq!(flushed.request.series[0].samples, [Sample::new(0.0, 999), Sample::new(5.0, 2_000)]);
    // A restart before a new series' first flush: its 0 is still written, once.
    let mut restarted = Aggregator::new(Schema::default(), Config::default());
    restarted.flushed_at(2_000);
    for t in again.apply(vec![views("/b", 2.0)], 2_500) {
        restarted.load(t);
    }
    let f = restarted.flush(4_000);
    let b = f.request.series.iter().find(|s| s.label("route") == Some("/b")).unwrap();
    assert_eq!(b.samples, [Sample::new(0.0, 2_499), Sample::new(2.0, 4_000)]);
}

#[test]
fn a_new_series_zero_is_written_again_after_a_failed_flush() {
    let mut agg = Aggregator::new(Schema::default(), Config::default());
    let mut stored = agg.apply(vec![views("/a", 1.0)], 1_000);
    agg.flush(2_000);
    let written = agg.last_flush_ms().unwrap();
    stored.extend(agg.apply(vec![views("/b", 2.0)], 3_000));
    let failed = agg.flush(4_000);
    let b = |f: &Flush| f.request.series.iter().find(|s| s.label("route") == Some("/b")).unwrap().samples.clone();
    assert_eq!(b(&failed), [Sample::new(0.0, 2_999), Sample::new(2.0, 4_000)]);
    // That flush was not stored: the platform starts again from what is.
    let mut again = Aggregator::new(Schema::default(), Config::default());
    again.flushed_at(agg.last_flush_ms().unwrap());
    again.written_at(written);
    for t in stored {
        again.load(t);
    }
    let retried = again.flush(5_000);
    assert_eq!(b(&retried), [Sample::new(0.0, 2_999), Sample::new(2.0, 5_000)], "the same 0, a later total");
    let a = retried.request.series.iter().find(|s| s.label("route") == Some("/a")).unwrap();
    assert_eq!(a.samples, [Sample::new(1.0, 5_000)], "/a's 0 was stored with the flush before");
}

#[test]
fn idle_series_get_a_stale_marker_and_are_forgotten() {
    let mut agg = Aggregator::new(Schema::default(), Config { idle_ms: 60_000, ..Config::default() });
    agg.apply(vec![views("/old", 1.0)], 0);
    agg.apply(vec![views("/new", 1.0)], 50_000);
    let f = agg.flush(70_000);
    let old = f.request.series.iter().find(|s| s.label("route") == Some("/old")).unwrap();
    assert_eq!(old.samples[1], Sample::new(1.0, 70_000), "its last total first (a failed flush may have lost it)");
    assert!(is_stale_nan(old.samples[2].value), "then a stale marker");
    assert_eq!(old.samples[2].timestamp, 70_001);
    assert_eq!(agg.last_flush_ms(), Some(70_001), "the next flush is later than the marker");
    assert_eq!(f.forgotten.len(), 1);
    assert_eq!(agg.len(), 1, "its state is freed");
    let f = agg.flush(80_000);
    assert_eq!(f.request.series.len(), 1, "and it is not emitted again");
    assert_eq!(f.request.series[0].samples, [Sample::new(1.0, 80_000)]);
    // A series that comes back starts again from 0, after its stale marker.
    agg.apply(vec![views("/old", 1.0)], 85_000);
    let f = agg.flush(90_000);
    let old = f.request.series.iter().find(|s| s.label("route") == Some("/old")).unwrap();
    assert_eq!(old.samples, [Sample::new(0.0, 84_999), Sample::new(1.0, 90_000)]);
    // Its 0 is never at or before the last flush's stale marker.
    agg.apply(vec![views("/gone", 1.0)], 90_000);
    agg.flush(200_000);
    assert_eq!(agg.last_flush_ms(), Some(200_001), "/new, /old and /gone went stale");
    agg.apply(vec![views("/gone", 1.0)], 200_000);
    let f = agg.flush(210_000);
    assert_eq!(f.request.series[0].samples, [Sample::new(0.0, 200_002), Sample::new(1.0, 210_000)]);
}

#[test]
fn label_values_past_the_cap_fold_into_other() {
    let mut agg = Aggregator::new(Schema::default(), Config { max_values: 2, ..Config::default() });
    agg.apply(["/a", "/b", "/c", "/d", "/a"].into_iter().map(|r| views(r, 1.0)).collect(), 0);
    assert_eq!(agg.folded, 2);
    let f = agg.flush(1_000);
    let routes: Vec<(&str, f64)> =
        f.request.series.iter().map(|s| (s.label("route").unwrap(), s.samples.last().unwrap().value)).collect();
    assert_eq!(routes, [("/a", 2.0), ("/b", 1.0), (OTHER, 2.0)]);
}

#[test]
fn series_past_the_cap_of_a_metric_fold_into_one_all_other() {
    let mut agg = Aggregator::new(Schema::default(), Config { max_values: 10, max_series: 4, ..Config::default() });
    let errors = |route: &str, kind: &str| Delta {
        metric: "rum_errors_total".into(),
        labels: vec![("kind".into(), kind.into()), ("route".into(), route.into())],
        change: Change::Add(1.0),
        at_ms: 0,
    };
    // Each label within its cap of 10 values; their product is not.
    let pushed: Vec<Delta> =
        ["/a", "/b", "/c"].iter().flat_map(|r| ["error", "unhandledrejection"].map(|k| errors(r, k))).collect();
    agg.apply(pushed, 0);
    agg.apply(vec![errors("/a", "error")], 1);
    assert_eq!((agg.len(), agg.folded), (5, 4), "4 series, then one all other: two labels of two pushes folded");
    let f = agg.flush(1_000);
    let last = |route: &str, kind: &str| {
        f.request
            .series
            .iter()
            .find(|s| s.label("route") == Some(route) && s.label("kind") == Some(kind))
            .map(|s| s.samples.last().unwrap().value)
    };
    assert_eq!(last("/a", "error"), Some(2.0), "a series kept goes on past the cap");
    assert_eq!(last(OTHER, OTHER), Some(2.0), "the two past it, counted in one");
    assert_eq!(last("/c", "error"), None);

    // The cap of series counts series after the label caps: a value folded into a series
    // that exists goes there.
    let mut agg = Aggregator::new(Schema::default(), Config { max_values: 1, max_series: 2, ..Config::default() });
    agg.apply(vec![errors("/a", "error"), errors("/b", "error"), errors("/c", "error")], 0);
    let f = agg.flush(1_000);
    let series: Vec<(&str, &str, f64)> = f
        .request
        .series
        .iter()
        .map(|s| (s.label("kind").unwrap(), s.label("route").unwrap(), s.samples.last().unwrap().value))
        .collect();
    assert_eq!(series, [("error", "/a", 1.0), ("error", OTHER, 2.0)]);
    assert_eq!(agg.folded, 2, "the routes folded; no label of the series past the cap changed");
}

#[test]
fn each_metric_of_a_tenant_has_its_own_aggregator() {
    assert_eq!(aggregator_name("web", "rum_lcp_seconds"), "web/rum_lcp_seconds");
    assert_ne!(aggregator_name("web", "rum_cls"), aggregator_name("shop", "rum_cls"));
}

/// A delta of page views of `route`, as a page pushes it.
fn views(route: &str, n: f64) -> Delta {
    Delta {
        metric: "rum_page_views_total".into(),
        labels: vec![("route".into(), route.into())],
        change: Change::Add(n),
        at_ms: 1_000,
    }
}

/// A push's largest size in these tests.
const MAX: usize = 60_000;

/// A recorder's push, as the edge reads it: decoded, validated and checked by the same rules.
fn received(body: &[u8], schema: &Schema) -> Checked {
    let req = crate::codec::decode_owned(body, crate::Version::V1, &crate::Limits::default()).unwrap();
    let report = crate::validate::validate(&req, crate::Version::V1, &crate::Limits::default());
    assert!(report.is_valid(), "{}", report.message(&req, 5));
    check(&req, schema)
}

#[test]
fn a_recorded_push_is_taken_whole_as_the_deltas_recorded() {
    let mut page = Recorder::new(Schema::default());
    let views = page.series("rum_page_views_total", &[("route", "/a")]).unwrap();
    let errors = page.series("rum_errors_total", &[("kind", "error"), ("route", "")]).unwrap();
    let lcp = page.series("rum_lcp_seconds", &[("route", "/a"), ("rating", "good")]).unwrap();
    assert_eq!(page.series("rum_page_views_total", &[("route", "/a")]), Ok(views), "same series, same number");
    page.add(views, 1.0).unwrap();
    page.add(views, 2.0).unwrap();
    page.add(errors, 1.0).unwrap();
    for v in [0.5, 0.5000001, 2.6, 60.0] {
        page.observe(lcp, v).unwrap();
    }
    let checked = received(page.take(5_000, MAX).unwrap(), &Schema::default());
    assert_eq!((checked.refused, checked.message.as_str()), (0, ""));
    let label = |n: &str, v: &str| (n.to_string(), v.to_string());
    assert_eq!(
        checked.deltas,
        [
            Delta { at_ms: 5_000, ..self::views("/a", 3.0) },
            Delta {
                metric: "rum_errors_total".into(),
                labels: vec![label("kind", "error")],
                change: Change::Add(1.0),
                at_ms: 5_000
            },
            Delta {
                metric: "rum_lcp_seconds".into(),
                labels: vec![label("rating", "good"), label("route", "/a")],
                // le=0.5 holds 0.5 itself (le is inclusive); 60 s is past the last bound (10).
                change: Change::Observe {
                    buckets: vec![1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 4.0],
                    sum: 0.5 + 0.5000001 + 2.6 + 60.0,
                    count: 4.0
                },
                at_ms: 5_000,
            },
        ]
    );
    assert!(page.is_empty() && page.take(6_000, MAX).is_none(), "a take clears the deltas");
    page.add(views, 1.0).unwrap();
    let next = received(page.take(7_000, MAX).unwrap(), &Schema::default());
    assert_eq!(next.deltas.len(), 1, "only what changed since: {:?}", next.deltas);
    assert_eq!(next.deltas[0].change, Change::Add(1.0));
}

#[test]
fn a_page_declares_its_own_metrics_as_the_worker_does() {
    let json = r#"{"shop_cart_items": {"type": "histogram", "buckets": [1, 5], "labels": ["route"], "range": [0, 500]},
                   "shop_mood": {"type": "gauge", "labels": [], "range": [-1, 1]}}"#;
    let worker = Schema::with(json).unwrap();
    let mut page = Recorder::new(Schema::default());
    for name in ["shop_cart_items", "shop_mood"] {
        page.declare(name, worker.metric(name).unwrap().clone()).unwrap();
    }
    let items = page.series("shop_cart_items", &[]).unwrap();
    let mood = page.series("shop_mood", &[]).unwrap();
    page.observe(items, 3.0).unwrap();
    page.set(mood, 0.5).unwrap();
    page.set(mood, -0.25).unwrap();
    let checked = received(page.take(1, MAX).unwrap(), &worker);
    assert_eq!(checked.message, "");
    assert_eq!(checked.deltas[0].change, Change::Set(-0.25), "the last value set");
    assert_eq!(checked.deltas[1].change, Change::Observe { buckets: vec![0.0, 1.0, 1.0], sum: 3.0, count: 1.0 });
    assert!(page.take(2, MAX).is_none());
}

#[test]
fn what_the_schema_forbids_is_refused_at_the_call() {
    let mut page = Recorder::new(Schema::default());
    let say = |e: RecordError| e.to_string();
    assert_eq!(
        page.series("clicks_total", &[]).map_err(say),
        Err("clicks_total is not a declared RUM metric (declare it, and add it to the Worker's RUM_SCHEMA)".into())
    );
    assert_eq!(
        page.series("rum_page_views_total", &[("user", "42")]).map_err(say),
        Err("label \"user\" is not allowed on rum_page_views_total (allowed: route)".into())
    );
    let views = page.series("rum_page_views_total", &[]).unwrap();
    assert_eq!(page.observe(views, 1.0).map_err(say), Err("rum_page_views_total is a counter, not a histogram".into()));
    let increments = "rum_page_views_total is a counter: its increments are finite numbers, at least 0";
    assert_eq!(page.add(views, -1.0).map_err(say), Err(increments.into()));
    assert_eq!(page.add(views, f64::NAN).map_err(say), Err(increments.into()));
    let lcp = page.series("rum_lcp_seconds", &[]).unwrap();
    assert_eq!(page.observe(lcp, f64::INFINITY).map_err(say), Err("rum_lcp_seconds takes finite numbers only".into()));
    assert_eq!(page.add(9, 1.0), Err(RecordError::NoSuchSeries(9)));
    assert!(page.is_empty(), "a refused call records nothing");
}

#[test]
fn a_counters_increments_are_pushed_within_its_range_and_out_of_range_values_refused_at_the_call() {
    let json = r#"{"shop_clicks_total": {"type": "counter", "labels": [], "range": [0, 1]}}"#;
    let worker = Schema::with(json).unwrap();
    let mut page = Recorder::new(Schema::default());
    page.declare("shop_clicks_total", worker.metric("shop_clicks_total").unwrap().clone()).unwrap();
    // Built in: an error counts up to 1,000 per increment; 2,500 since the last push.
    let errors = page.series("rum_errors_total", &[("kind", "error")]).unwrap();
    for _ in 0..5 {
        page.add(errors, 500.0).unwrap();
    }
    let clicks = page.series("shop_clicks_total", &[]).unwrap();
    for _ in 0..150 {
        page.add(clicks, 1.0).unwrap();
    }
    let first = received(page.take(10_000, MAX).unwrap(), &worker);
    assert_eq!((first.refused, first.message.as_str()), (0, ""), "each sample within the range");
    assert_eq!(first.deltas[0].change, Change::Add(2500.0));
    assert_eq!(first.deltas[1].change, Change::Add(100.0), "at most 100 samples in one push");
    let second = received(page.take(20_000, MAX).unwrap(), &worker);
    assert_eq!(second.deltas.len(), 1);
    assert_eq!(second.deltas[0].change, Change::Add(50.0), "the rest with the next push");
    assert!(page.take(30_000, MAX).is_none());

    let out_of_range = "shop_clicks_total: the value is outside the range declared for it (the Worker would refuse it)";
    assert_eq!(page.add(clicks, 2.0).map_err(|e| e.to_string()), Err(out_of_range.into()));
    let lcp = page.series("rum_lcp_seconds", &[]).unwrap();
    assert_eq!(page.observe(lcp, 1e9), Err(RecordError::Range("rum_lcp_seconds".into())));
    assert!(page.is_empty(), "refused calls record nothing");
}

#[test]
fn a_push_over_its_size_goes_in_parts_each_series_whole_and_all_of_them_counted() {
    let mut page = Recorder::new(Schema::default());
    // 300 routes' page views and LCP: far over 8 KB in one push.
    for i in 0..300 {
        let route = format!("/catalogue/section-{i}/a-long-path-segment");
        let views = page.series("rum_page_views_total", &[("route", &route)]).unwrap();
        page.add(views, 1.0).unwrap();
        let lcp = page.series("rum_lcp_seconds", &[("route", &route), ("rating", "good")]).unwrap();
        page.observe(lcp, 1.5).unwrap();
    }
    let (mut pushes, mut views, mut observations) = (0, 0.0, 0.0);
    while let Some(body) = page.take(1_000, 8_000) {
        assert!(body.len() <= 8_000, "push {pushes} is {} bytes", body.len());
        pushes += 1;
        // Each push is taken whole: a histogram's parts are never split across two.
        let checked = received(body, &Schema::default());
        assert_eq!((checked.refused, checked.message.as_str()), (0, ""));
        for d in checked.deltas {
            match d.change {
                Change::Add(n) => views += n,
                Change::Observe { count, .. } => observations += count,
                Change::Set(_) => panic!("no gauge here"),
            }
        }
    }
    assert!(pushes > 5, "{pushes} pushes");
    assert_eq!((views, observations), (300.0, 300.0), "nothing lost, nothing twice");
    // A series alone over the size still goes (the Worker says why if it refuses it).
    let views = page.series("rum_page_views_total", &[("route", "/")]).unwrap();
    page.add(views, 1.0).unwrap();
    assert!(page.take(2_000, 10).is_some_and(|b| b.len() > 10));
    assert!(page.take(3_000, 10).is_none());
}

#[test]
fn past_its_series_cap_a_page_folds_new_series_into_other() {
    let mut page = Recorder::new(Schema::default());
    for i in 0..recorder::MAX_SERIES {
        page.series("rum_page_views_total", &[("route", &format!("/user/{i}"))]).unwrap();
    }
    let kept = page.series("rum_page_views_total", &[("route", "/user/7")]).unwrap();
    assert_eq!(kept, 7, "a series kept is found again");
    let past = page.series("rum_page_views_total", &[("route", "/user/100000")]).unwrap();
    let later = page.series("rum_page_views_total", &[("route", "/user/100001")]).unwrap();
    assert_eq!(past, later, "every new series is the one folded series");
    let errors = page.series("rum_errors_total", &[("route", "/x"), ("kind", "error")]).unwrap();
    assert_ne!(errors, past, "each metric has its own cap");
    page.add(past, 2.0).unwrap();
    page.add(errors, 1.0).unwrap();
    let checked = received(page.take(1_000, MAX).unwrap(), &Schema::default());
    let labels: Vec<_> = checked.deltas.iter().map(|d| (d.metric.as_str(), d.labels.clone())).collect();
    let other = |n: &str| (n.to_string(), OTHER.to_string());
    assert_eq!(
        labels,
        [
            ("rum_page_views_total", vec![other("route")]),
            ("rum_errors_total", vec![("kind".into(), "error".into()), ("route".into(), "/x".into())])
        ]
    );
    assert!(page.series("rum_page_views_total", &[("user", "1")]).is_err(), "the schema still holds past the cap");
}

#[test]
fn a_gauge_keeps_the_value_set_last_not_the_one_that_arrived_last() {
    let schema = Schema::with(r#"{"shop_cart_items": {"type": "gauge", "labels": [], "range": [0, 1000]}}"#).unwrap();
    let mut agg = Aggregator::new(schema, Config::default());
    let set =
        |v: f64, at_ms: i64| Delta { metric: "shop_cart_items".into(), labels: vec![], change: Change::Set(v), at_ms };
    let value = |agg: &mut Aggregator, now: i64| agg.flush(now).request.series[0].samples[0].value;
    // A page's newer push arrives first; its older one, retried, minutes after it.
    agg.apply(vec![set(5.0, 100_000)], 100_000);
    let stored = agg.apply(vec![set(3.0, 95_000)], 400_000);
    assert_eq!(value(&mut agg, 401_000), 5.0, "the late retry does not replace it");
    assert_eq!(stored[0].pushed_ms, 400_000, "it still counts as a push (the series is not idle)");
    // Set at the same time: the later arrival.
    agg.apply(vec![set(6.0, 100_000)], 402_000);
    assert_eq!(value(&mut agg, 403_000), 6.0);
    // Without a time (from a Worker older than the field): at its arrival, never later.
    let untimed: Delta =
        serde_json::from_str(r#"{"metric": "shop_cart_items", "labels": [], "change": {"Set": 7.0}}"#).unwrap();
    agg.apply(vec![untimed], 404_000);
    agg.apply(vec![set(8.0, 403_999)], 405_000);
    assert_eq!(value(&mut agg, 406_000), 7.0, "taken as set at 404000");
}

/// A series of native histogram samples.
fn native(pairs: &[(&str, &str)], histograms: Vec<crate::model::Histogram>) -> Series<'static> {
    Series { histograms, ..series(pairs, &[]) }
}

#[test]
fn a_native_histogram_is_taken_as_the_declared_classic_buckets() {
    use crate::model::{BucketSpan, Count, Histogram};
    let schema = Schema::with(r#"{"shop_load_seconds": {"type": "histogram", "buckets": [1, 2, 4, 8], "labels": ["route"], "range": [0, 1000]}}"#).unwrap();
    // Exponential, schema 0 (bucket i is (2^(i-1), 2^i]): 0.7, 1.5, 3, 3.5 and 100.
    let exponential = Histogram {
        count: Count::Int(5),
        sum: 108.7,
        schema: 0,
        positive_spans: vec![BucketSpan { offset: 0, length: 3 }, BucketSpan { offset: 4, length: 1 }],
        positive_deltas: vec![1, 0, 1, -1],
        timestamp: 7_000,
        ..Histogram::default()
    };
    let pushed = native(&[("__name__", "shop_load_seconds"), ("route", "/")], vec![exponential.clone(), exponential]);
    let checked = check(&push(vec![pushed]), &schema);
    assert_eq!((checked.written, checked.refused, checked.message.as_str()), (2, 0, ""));
    assert_eq!(
        checked.deltas[0].change,
        Change::Observe { buckets: vec![2.0, 4.0, 8.0, 8.0, 10.0], sum: 217.4, count: 10.0 },
        "both samples, at the declared bounds (powers of 2: exact)"
    );
    assert_eq!(checked.deltas[0].at_ms, 7_000);

    // Custom bounds the same as the declared ones read exactly as the classic push would.
    let lcp_bounds = Schema::default().metric("rum_lcp_seconds").unwrap().buckets.clone();
    let custom = Histogram {
        count: Count::Float(3.0),
        sum: 0.4 + 1.2 + 3.3,
        schema: -53,
        custom_values: lcp_bounds,
        positive_spans: vec![BucketSpan { offset: 0, length: 7 }],
        positive_counts: vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        timestamp: 1_000,
        ..Histogram::default()
    };
    let labels = [("__name__", "rum_lcp_seconds"), ("route", "/home"), ("rating", "good")];
    let from_native = check(&push(vec![native(&labels, vec![custom.clone()])]), &Schema::default());
    let from_classic = check(&push(lcp("/home", &[0.4, 1.2, 3.3])), &Schema::default());
    assert_eq!(from_native.message, "");
    assert_eq!(from_native.deltas, from_classic.deltas);

    // What cannot be taken says why; the rest of the push is.
    let refused = |series: Vec<Series<'static>>| {
        let mut all = series;
        all.push(self::series(&[("__name__", "rum_page_views_total")], &[1.0]));
        let c = check(&push(all), &Schema::default());
        assert_eq!(c.deltas.len(), 1, "the page views are taken: {}", c.message);
        c.message
    };
    let bucket = [("__name__", "rum_lcp_seconds_bucket"), ("le", "1"), ("route", "/")];
    assert!(
        refused(vec![native(&bucket, vec![custom.clone()])])
            .contains("native histogram samples go under a declared histogram's own name")
    );
    let counter = [("__name__", "rum_page_views_total"), ("route", "/x")];
    assert!(refused(vec![native(&counter, vec![custom.clone()])]).contains("(rum_page_views_total is a counter)"));
    let wrong = Histogram { count: Count::Float(4.0), ..custom.clone() };
    assert!(refused(vec![native(&labels, vec![wrong])]).contains("its buckets hold 3 observations, its count says 4"));
    let halves = Histogram { positive_counts: vec![0.5, 0.0, 0.5, 0.0, 0.0, 0.0, 2.0], ..custom.clone() };
    assert!(
        refused(vec![native(&labels, vec![halves])]).contains("its buckets must hold whole numbers of observations")
    );
    let mut both = lcp("/home", &[1.0]);
    both.push(native(&labels, vec![custom.clone()]));
    assert!(refused(both).contains("pushed twice, or both as a native and as a classic histogram"));
    let mut both = vec![native(&labels, vec![custom])];
    both.extend(lcp("/home", &[1.0]));
    assert!(refused(both).contains("pushed both as a native and as a classic histogram"));
}

#[test]
fn a_page_that_records_more_than_it_pushes_still_pushes_every_series_in_turn() {
    let mut page = Recorder::new(Schema::default());
    let ids: Vec<SeriesId> = (0..100)
        .map(|i| page.series("rum_page_views_total", &[("route", &format!("/section/{i}"))]).unwrap())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    // Every round records on every series again, and pushes only two parts of ~1 KB.
    for round in 0..10 {
        for &id in &ids {
            page.add(id, 1.0).unwrap();
        }
        for _ in 0..2 {
            let checked = received(page.take(round, 1_000).unwrap(), &Schema::default());
            seen.extend(checked.deltas.into_iter().map(|d| d.labels[0].1.clone()));
        }
    }
    assert_eq!(seen.len(), 100, "the last series are not starved by the first");
}
