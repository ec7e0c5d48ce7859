//! The PromQL evaluator (`edgewrite::query::eval`) on small data with values worked out by
//! hand from Prometheus's definitions (the comparison with a real Prometheus comes with the
//! query API).

use edgewrite::query::eval::{EvalError, Evaluator, Labels, Series, Value};
use edgewrite::query::parse;
use edgewrite::{STALE_NAN, Sample};
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut l: Labels = pairs.iter().map(|&(n, v)| (n.to_string(), v.to_string())).collect();
    l.sort();
    l
}

fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series {
        labels: labels(pairs),
        samples: points.iter().map(|&(t, v)| Sample::new(v, t * 1000)).collect(),
        histograms: Vec::new(),
    }
}

/// Counters x{job,instance} scraped every 15 s from 0 to 600 s: a goes up 1 per scrape, b 2,
/// c (job "web") 3; gauge g{job} and a series that goes stale.
fn data() -> Vec<Series> {
    let counter = |job: &str, inst: &str, per: f64| {
        let pts: Vec<(i64, f64)> = (0..=40).map(|i| (i * 15, i as f64 * per)).collect();
        series(&[("__name__", "x"), ("job", job), ("instance", inst)], &pts)
    };
    vec![
        counter("api", "a", 1.0),
        counter("api", "b", 2.0),
        counter("web", "c", 3.0),
        series(&[("__name__", "g"), ("job", "api")], &[(0, 10.0), (300, 20.0)]),
        series(&[("__name__", "g"), ("job", "web")], &[(0, 5.0)]),
        series(&[("__name__", "ends"), ("job", "api")], &[(0, 1.0), (100, STALE_NAN)]),
        series(&[("__name__", "info"), ("job", "api"), ("team", "core")], &[(0, 1.0)]),
        series(&[("__name__", "info"), ("job", "web"), ("team", "shop")], &[(0, 1.0)]),
    ]
}

fn eval(q: &str, t_s: i64) -> Result<Value, EvalError> {
    let data = data();
    let expr = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    Evaluator::new(&data, t_s * 1000, t_s * 1000, 15_000).at(&expr, t_s * 1000)
}

/// The vector at `t_s` as (labels as `k=v,...`, value), sorted.
fn vector(q: &str, t_s: i64) -> Vec<(String, f64)> {
    let Value::Vector(v) = eval(q, t_s).unwrap() else { panic!("{q}: not a vector") };
    let mut out: Vec<(String, f64)> = v
        .into_iter()
        .map(|(l, x)| (l.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(","), x))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn assert_vector(q: &str, t_s: i64, want: &[(&str, f64)]) {
    let got = vector(q, t_s);
    assert_eq!(got.len(), want.len(), "{q} at {t_s}: {got:?}");
    for ((gl, gv), (wl, wv)) in got.iter().zip(want) {
        assert_eq!(gl, wl, "{q} at {t_s}");
        assert!(close(*gv, *wv) || gv.is_nan() && wv.is_nan(), "{q} at {t_s}: {gl} = {gv}, want {wv}");
    }
}

#[test]
fn instant_selectors_look_back_five_minutes_and_stop_at_stale_markers() {
    assert_vector("g", 200, &[("__name__=g,job=api", 10.0), ("__name__=g,job=web", 5.0)]);
    assert_vector("g", 300, &[("__name__=g,job=api", 20.0), ("__name__=g,job=web", 5.0)]);
    assert_vector("g", 301, &[("__name__=g,job=api", 20.0)]); // web's last sample is 301 s old
    assert_vector("ends", 99, &[("__name__=ends,job=api", 1.0)]);
    assert_vector("ends", 100, &[]); // the stale marker ends it
    assert_vector("g offset 5m", 300, &[("__name__=g,job=api", 10.0), ("__name__=g,job=web", 5.0)]);
    assert_vector("g @ 0", 600, &[("__name__=g,job=api", 10.0), ("__name__=g,job=web", 5.0)]);
    assert_vector(
        "x{instance=~\"a|c\"}",
        30,
        &[("__name__=x,instance=a,job=api", 2.0), ("__name__=x,instance=c,job=web", 6.0)],
    );
}

#[test]
fn rate_increase_and_delta_extrapolate_as_prometheus() {
    // x{a}: 1 per 15 s. Over [240 s, 300 s] the samples at 240..300 rise by 4 in 60 s.
    assert_vector("rate(x{instance=\"a\"}[1m])", 300, &[("instance=a,job=api", 4.0 / 60.0)]);
    assert_vector("increase(x{instance=\"a\"}[1m])", 300, &[("instance=a,job=api", 4.0)]);
    // Samples at 15..60 (1..4) in [10 s, 70 s]: 3 over 45 s, extrapolated by 5 s at the start
    // (< 1.1 x 15 s) and 10 s at the end: 3 x 60 / 45 = 4.
    assert_vector("increase(x{instance=\"a\"}[1m] @ 70)", 0, &[("instance=a,job=api", 4.0)]);
    assert_vector("delta(g[10m])", 600, &[("job=api", 10.0 * 600.0 / 300.0)]);
    assert_vector("irate(x{job=\"web\"}[1m])", 300, &[("instance=c,job=web", 3.0 / 15.0)]);
    assert_vector("idelta(x{job=\"web\"}[1m])", 300, &[("instance=c,job=web", 3.0)]);
}

#[test]
fn counter_resets_are_added_back() {
    let data = vec![series(&[("__name__", "r")], &[(0, 5.0), (15, 8.0), (30, 2.0), (45, 4.0), (60, 6.0)])];
    let expr = parse("increase(r[1m])").unwrap();
    let Value::Vector(v) = Evaluator::new(&data, 60_000, 60_000, 15_000).at(&expr, 60_000).unwrap() else { panic!() };
    // 6 - 5 + 8 (the reset) = 9 over the full minute.
    assert!(close(v[0].1, 9.0), "{v:?}");
    let expr = parse("resets(r[1m])").unwrap();
    let Value::Vector(v) = Evaluator::new(&data, 60_000, 60_000, 15_000).at(&expr, 60_000).unwrap() else { panic!() };
    assert_eq!(v[0].1, 1.0);
}

#[test]
fn over_time_functions() {
    let q = |f: &str| format!("{f}(g{{job=\"api\"}}[10m])");
    assert_vector(&q("avg_over_time"), 600, &[("job=api", 15.0)]);
    assert_vector(&q("sum_over_time"), 600, &[("job=api", 30.0)]);
    assert_vector(&q("count_over_time"), 600, &[("job=api", 2.0)]);
    assert_vector(&q("min_over_time"), 600, &[("job=api", 10.0)]);
    assert_vector(&q("max_over_time"), 600, &[("job=api", 20.0)]);
    assert_vector(&q("stddev_over_time"), 600, &[("job=api", 5.0)]);
    assert_vector(&q("stdvar_over_time"), 600, &[("job=api", 25.0)]);
    assert_vector(&q("last_over_time"), 600, &[("__name__=g,job=api", 20.0)]);
    assert_vector("quantile_over_time(0.5, g{job=\"api\"}[10m])", 600, &[("job=api", 15.0)]);
    assert_vector("changes(g{job=\"api\"}[10m])", 600, &[("job=api", 1.0)]);
    assert_vector("deriv(g{job=\"api\"}[10m])", 600, &[("job=api", 10.0 / 300.0)]);
    // The line through (0, 10) and (300, 20), an hour past 600 s: 10 + (600 + 3600) / 30.
    assert_vector("predict_linear(g{job=\"api\"}[10m], 3600)", 600, &[("job=api", 10.0 + 4200.0 / 30.0)]);
    assert_vector("max_over_time(rate(x{instance=\"a\"}[1m])[5m:1m])", 600, &[("instance=a,job=api", 1.0 / 15.0)]);
}

#[test]
fn aggregations_group_as_prometheus() {
    assert_vector("sum(x)", 60, &[("", 4.0 + 8.0 + 12.0)]);
    assert_vector("sum by (job) (x)", 60, &[("job=api", 12.0), ("job=web", 12.0)]);
    assert_vector("sum without (instance) (x)", 60, &[("job=api", 12.0), ("job=web", 12.0)]);
    assert_vector("avg by (job) (x)", 60, &[("job=api", 6.0), ("job=web", 12.0)]);
    assert_vector("count(x)", 60, &[("", 3.0)]);
    assert_vector("min(x)", 60, &[("", 4.0)]);
    assert_vector("max by (job) (x)", 60, &[("job=api", 8.0), ("job=web", 12.0)]);
    assert_vector("group by (job) (x)", 60, &[("job=api", 1.0), ("job=web", 1.0)]);
    assert_vector("stddev(x)", 60, &[("", (32.0f64 / 3.0).sqrt())]);
    assert_vector("topk(1, x)", 60, &[("__name__=x,instance=c,job=web", 12.0)]);
    assert_vector(
        "bottomk by (job) (1, x)",
        60,
        &[("__name__=x,instance=a,job=api", 4.0), ("__name__=x,instance=c,job=web", 12.0)],
    );
    assert_vector("quantile(0.5, x)", 60, &[("", 8.0)]);
    assert_vector("count_values(\"v\", g)", 0, &[("v=10", 1.0), ("v=5", 1.0)]);
}

#[test]
fn binary_operators_match_vectors() {
    assert_vector("x{instance=\"a\"} * 2", 60, &[("instance=a,job=api", 8.0)]);
    assert_vector("x > 7", 60, &[("__name__=x,instance=b,job=api", 8.0), ("__name__=x,instance=c,job=web", 12.0)]);
    assert_vector(
        "x > bool 7",
        60,
        &[("instance=a,job=api", 0.0), ("instance=b,job=api", 1.0), ("instance=c,job=web", 1.0)],
    );
    assert_eq!(eval("2 ^ 3 ^ 2", 0).unwrap(), Value::Scalar(512.0));
    assert_eq!(eval("-2 ^ 2", 0).unwrap(), Value::Scalar(-4.0));
    assert_eq!(eval("1 < bool 2", 0).unwrap(), Value::Scalar(1.0));
    // One to one: the instance a of x over the gauge of its job, matched on job.
    assert_vector("x{instance=\"a\"} / on (job) g", 60, &[("job=api", 4.0 / 10.0)]);
    assert_vector("x{instance=\"a\"} / ignoring (instance) g", 60, &[("job=api", 4.0 / 10.0)]);
    // Many to one, with the team copied from info.
    assert_vector(
        "x * on (job) group_left (team) info",
        60,
        &[
            ("instance=a,job=api,team=core", 4.0),
            ("instance=b,job=api,team=core", 8.0),
            ("instance=c,job=web,team=shop", 12.0),
        ],
    );
    assert_vector(
        "g * on (job) group_right x",
        60,
        &[("instance=a,job=api", 40.0), ("instance=b,job=api", 80.0), ("instance=c,job=web", 60.0)],
    );
    assert!(matches!(eval("x / on (job) g", 60), Err(EvalError::Execution(_))), "two api series on the left");
    assert_vector("x and on (job) g{job=\"web\"}", 60, &[("__name__=x,instance=c,job=web", 12.0)]);
    assert_vector(
        "x unless on (job) g{job=\"web\"}",
        60,
        &[("__name__=x,instance=a,job=api", 4.0), ("__name__=x,instance=b,job=api", 8.0)],
    );
    assert_vector("g{job=\"api\"} or g", 0, &[("__name__=g,job=api", 10.0), ("__name__=g,job=web", 5.0)]);
    assert_vector("-g{job=\"api\"}", 0, &[("job=api", -10.0)]);
}

#[test]
fn functions_scalars_and_absence() {
    assert_eq!(eval("time()", 90).unwrap(), Value::Scalar(90.0));
    assert_eq!(eval("scalar(g{job=\"api\"})", 0).unwrap(), Value::Scalar(10.0));
    assert!(matches!(eval("scalar(g)", 0).unwrap(), Value::Scalar(v) if v.is_nan()));
    assert_vector("vector(3)", 0, &[("", 3.0)]);
    assert_vector("abs(-g{job=\"api\"})", 0, &[("job=api", 10.0)]);
    assert_vector("clamp(g, 6, 8)", 0, &[("job=api", 8.0), ("job=web", 6.0)]);
    assert_vector("round(g / 3)", 0, &[("job=api", 3.0), ("job=web", 2.0)]);
    assert_vector("sqrt(g{job=\"api\"} * 10)", 0, &[("job=api", 10.0)]);
    assert_vector("timestamp(g{job=\"api\"})", 200, &[("job=api", 0.0)]);
    assert_vector("absent(nope{job=\"api\"})", 0, &[("job=api", 1.0)]);
    assert_vector("absent(g)", 0, &[]);
    assert_vector("sort_desc(g)", 0, &[("__name__=g,job=api", 10.0), ("__name__=g,job=web", 5.0)]);
}

#[test]
fn range_queries_step_through_time() {
    let data = data();
    let expr = parse("sum by (job) (rate(x[1m]))").unwrap();
    let m = Evaluator::new(&data, 60_000, 180_000, 60_000).range(&expr).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].labels, labels(&[("job", "api")]));
    assert_eq!(m[0].floats.iter().map(|p| p.0).collect::<Vec<_>>(), [60_000, 120_000, 180_000]);
    assert!(m[0].floats.iter().all(|p| close(p.1, 3.0 / 15.0)), "{m:?}");
}

#[test]
fn what_is_not_there_yet_says_so_and_limits_hold() {
    let e = eval("holt_winters(g[5m], 0.5, 0.5)", 0).unwrap_err();
    assert_eq!(e, EvalError::Unsupported("function \"holt_winters\"".into()));
    assert!(e.to_string().contains("not supported"));
    let data = data();
    let mut ev = Evaluator::new(&data, 0, 0, 15_000);
    ev.max_samples = 2;
    assert!(matches!(ev.at(&parse("x").unwrap(), 60_000), Err(EvalError::TooManySamples(2))));
}

#[test]
fn second_reading_fixes_hold() {
    let data = vec![
        series(&[("__name__", "n"), ("k", "nan")], &[(0, f64::NAN)]),
        series(&[("__name__", "n"), ("k", "five")], &[(0, 5.0)]),
        series(&[("__name__", "y"), ("nan", "x")], &[(0, 1.23)]),
    ];
    let at0 = |q: &str| Evaluator::new(&data, 0, 0, 15_000).at(&parse(q).unwrap(), 0);
    let one = |q: &str| match at0(q).unwrap() {
        Value::Vector(v) => v,
        other => panic!("{q}: {other:?}"),
    };
    // topk and bottomk leave NaN for last, as Prometheus.
    assert_eq!(one("topk(1, n)")[0].0, labels(&[("__name__", "n"), ("k", "five")]));
    assert_eq!(one("bottomk(1, n)")[0].0, labels(&[("__name__", "n"), ("k", "five")]));
    // clamp keeps NaN (Go's math.Max), round works by the inverse step.
    assert!(one("clamp_min(n{k=\"nan\"}, 0)")[0].1.is_nan());
    assert_eq!(one("round(y, 0.1)")[0].1, 1.2);
    // {nan="x"} is a label name inside braces.
    assert_eq!(one("y{nan=\"x\"}").len(), 1);
    // atan2 keeps the metric name (Prometheus 2.42), arithmetic drops it.
    assert_eq!(one("y atan2 y")[0].0, labels(&[("__name__", "y"), ("nan", "x")]));
    assert_eq!(one("y + y")[0].0, labels(&[("nan", "x")]));
    // A bracketed range is still a range.
    let data = self::data();
    let ev = Evaluator::new(&data, 300_000, 300_000, 15_000);
    assert_eq!(
        ev.at(&parse("rate((x{instance=\"a\"}[1m]))").unwrap(), 300_000),
        ev.at(&parse("rate(x{instance=\"a\"}[1m])").unwrap(), 300_000)
    );
    // A subquery without a step steps by a minute, whatever the query's step.
    let ev = Evaluator::new(&data, 600_000, 600_000, 15_000);
    assert_eq!(
        ev.at(&parse("count_over_time(vector(1)[10m:])").unwrap(), 600_000),
        Ok(Value::Vector(vec![(Vec::new(), 11.0)]))
    );
    // No query holds the engine for long: a year at 1 ms steps runs out of budget at once.
    let ev = Evaluator::new(&data, 0, 0, 15_000).with_budget(1_000_000);
    assert!(matches!(ev.at(&parse("count_over_time(vector(1)[1y:1ms])").unwrap(), 0), Err(EvalError::Timeout)));
}

#[test]
fn queries_that_would_exhaust_a_stack_or_a_clock_are_refused() {
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&deep).unwrap_err().to_string().contains("nests deeper"));
    let long = vec!["1"; 5_000].join("+");
    assert!(parse(&long).unwrap_err().to_string().contains("nests deeper"));
    assert!(parse(&vec!["-"; 5_000].concat()).is_err());
    assert!(parse("x @ 1e300").unwrap_err().to_string().contains("timestamp out of bounds"));
    assert!(parse("x offset 100000000y").is_err());
    assert!(parse(&vec!["1"; 150].join("+")).is_ok(), "ordinary lengths still parse");
}

/// Native histograms (schema 0: buckets (1,2], (2,4], (4,8], ...), one a minute from 0 s:
/// `h{job}` with `n` observations per minute in (1, 2] and `2n` in (2, 4], zero bucket empty.
fn native_data() -> Vec<Series> {
    use edgewrite::model::{BucketSpan, Count, Histogram};
    let histogram = |minute: i64, n: i64| Histogram {
        count: Count::Int((3 * n * (minute + 1)) as u64),
        sum: (5 * n * (minute + 1)) as f64,
        schema: 0,
        zero_threshold: 0.001,
        zero_count: Count::Int(0),
        positive_spans: vec![BucketSpan { offset: 1, length: 2 }],
        positive_deltas: vec![n * (minute + 1), n * (minute + 1)],
        timestamp: minute * 60_000,
        ..Histogram::default()
    };
    ["api", "web"]
        .iter()
        .zip([1, 2])
        .map(|(job, n)| Series {
            labels: labels(&[("__name__", "h"), ("job", job)]),
            samples: Vec::new(),
            histograms: (0..=10).map(|m| histogram(m, n)).collect(),
        })
        .collect()
}

fn native(query: &str, t: i64) -> Result<Value, EvalError> {
    let data = native_data();
    Evaluator::new(&data, t, t, 60_000).at(&parse(query).unwrap(), t)
}

fn floats(v: Value) -> Vec<(String, f64)> {
    let Value::Vector(v) = v else { panic!("not a vector: {v:?}") };
    v.into_iter().map(|(l, x)| (l.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(","), x)).collect()
}

#[test]
fn native_histograms_answer_values_computed_by_hand() {
    // At 10 min, api's histogram holds 11 in (1,2] and 22 in (2,4]; web's twice that.
    assert_eq!(
        floats(native("histogram_count(h)", 600_000).unwrap()),
        [("job=api".into(), 33.0), ("job=web".into(), 66.0)]
    );
    assert_eq!(floats(native("histogram_sum(h{job=\"api\"})", 600_000).unwrap()), [("job=api".into(), 55.0)]);
    // Median: rank 16.5 of 33; (1,2] holds 11, so 5.5 of (2,4]'s 22: 2 + 2 * 0.25.
    assert_eq!(floats(native("histogram_quantile(0.5, h{job=\"api\"})", 600_000).unwrap()), [("job=api".into(), 2.5)]);
    // Up to 3: 11 + half of 22 = 22 of 33.
    let f = floats(native("histogram_fraction(0, 3, h{job=\"api\"})", 600_000).unwrap());
    assert!((f[0].1 - 2.0 / 3.0).abs() < 1e-12, "{f:?}");
    // sum by nothing: 33 + 66 observations; the quantile of the sum.
    assert_eq!(floats(native("histogram_count(sum(h))", 600_000).unwrap()), [(String::new(), 99.0)]);
    assert_eq!(floats(native("count(h)", 600_000).unwrap()), [(String::new(), 2.0)]);
    // rate over 5m at 10 min: samples at 5..10 min (6, the first exactly at the range's
    // start); api gains 3 observations a minute, 15 over the 5 sampled minutes: 0.05/s.
    let r = floats(native("histogram_count(rate(h{job=\"api\"}[5m]))", 600_000).unwrap());
    assert!((r[0].1 - 15.0 / 300.0).abs() < 1e-12, "{r:?}");
    let inc = floats(native("histogram_sum(increase(h[5m]))", 600_000).unwrap());
    assert!((inc[0].1 - 25.0).abs() < 1e-9 && (inc[1].1 - 50.0).abs() < 1e-9, "{inc:?}");
    // The raw selector answers histograms; a function that does not take them says so.
    assert!(matches!(native("h", 600_000).unwrap(), Value::Histograms(h) if h.len() == 2 && h[0].1.count == 33.0));
    for q in ["abs(h)", "max(h)", "h + 1", "-h", "max_over_time(h[5m])", "h[5m]"] {
        let e = native(q, 600_000).unwrap_err();
        assert!(matches!(&e, EvalError::Unsupported(m) if m.contains("native histograms")), "{q}: {e:?}");
    }
    // Of float samples, the histogram functions give nothing, as in Prometheus.
    assert!(floats(eval("histogram_count(g)", 0).unwrap()).is_empty());
}

#[test]
fn range_queries_of_native_histograms_hold_histogram_points() {
    let data = native_data();
    let m = Evaluator::new(&data, 300_000, 600_000, 150_000).range(&parse("sum(rate(h[5m]))").unwrap()).unwrap();
    assert_eq!(m.len(), 1);
    assert!(m[0].floats.is_empty());
    assert_eq!(m[0].histograms.iter().map(|p| p.0).collect::<Vec<_>>(), [300_000, 450_000, 600_000]);
    // api + web gain 9 observations a minute: 0.15/s.
    assert!(m[0].histograms.iter().all(|(_, h)| (h.count - 0.15).abs() < 1e-12), "{m:?}");
}

/// Series for comparing range evaluation with step-by-step instant evaluation: counters with
/// resets and jitter, gauges with -0.0, NaN and infinities, gaps, stale markers, two metric
/// names whose label sets coincide once the name is dropped.
fn sweep_data() -> Vec<Series> {
    let mut out = Vec::new();
    let mut seed = 7u64;
    let mut rnd = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    for job in ["api", "web", "db"] {
        for inst in ["a", "b", "c", "d"] {
            let mut c = 0.0;
            let samples: Vec<Sample> = (0..200)
                .filter(|i| !(inst == "c" && (60..90).contains(i)))
                .map(|i| {
                    c += (rnd() * 10.0).floor();
                    if inst == "d" && i == 120 {
                        c = 1.0;
                    }
                    let v = if inst == "b" && i == 150 { STALE_NAN } else { c };
                    Sample::new(v, i * 15_000 + (i % 5) * 311)
                })
                .collect();
            let l = labels(&[("__name__", "req_total"), ("job", job), ("instance", inst)]);
            out.push(Series { labels: l, samples, histograms: Vec::new() });
            let g: Vec<Sample> = (0..200)
                .map(|i| {
                    let v = match i % 37 {
                        3 => f64::NAN,
                        5 => -0.0,
                        11 => f64::INFINITY,
                        _ => rnd() * 100.0 - 50.0,
                    };
                    Sample::new(v, i * 15_000 + 7_000)
                })
                .collect();
            let l = labels(&[("__name__", "temp"), ("job", job), ("instance", inst)]);
            out.push(Series { labels: l, samples: g, histograms: Vec::new() });
        }
    }
    // `other` shares req_total's label sets once names are dropped.
    let other: Vec<Sample> = (0..50).map(|i| Sample::new(i as f64, 1_000_000 + i * 15_000)).collect();
    let l = labels(&[("__name__", "other_total"), ("job", "api"), ("instance", "a")]);
    out.push(Series { labels: l, samples: other, histograms: Vec::new() });
    out
}

#[test]
fn range_queries_answer_as_step_by_step_evaluation_exactly() {
    let data = sweep_data();
    let queries = [
        "sum by (job) (rate(req_total[5m]))",
        "sum(rate(req_total[1m]))",
        "avg without (instance) (increase(req_total[2m]))",
        "count by (job) (changes(temp[3m]))",
        "group by (instance) (resets(req_total[5m]))",
        "min by (job) (temp)",
        "max(temp)",
        "sum by (job) (temp)",
        "sum by (__name__, job) ({__name__=~\"req_total|temp\"})",
        "max by (job) (max_over_time(temp[2m]))",
        "min(min_over_time(temp[1m]))",
        "avg(avg_over_time(temp[90s] offset 2m))",
        "sum(sum_over_time(temp[1m] @ 1500))",
        "sum by (job) (irate(req_total[1m]))",
        "sum(idelta(temp[1m]))",
        "sum(deriv(temp[2m]))",
        "sum by (job) (delta(temp[2m]))",
        "sum(last_over_time(req_total[1m]))",
        "sum(count_over_time(temp[1m]))",
        "sum(present_over_time(req_total[30s]))",
        "stddev(stddev_over_time(temp[2m]))",
        "sum(stdvar_over_time(temp[2m]))",
        "rate(req_total[5m])",
        "last_over_time(req_total[1m])",
        "max_over_time(temp[2m])",
        "histogram_quantile(0.9, sum by (job) (rate(req_total[5m])))",
        "sum by (job) (rate(req_total[5m])) / on(job) group_left sum by (job) (rate(req_total[10m]))",
        "max_over_time(sum(rate(req_total[5m]))[10m:1m])",
        "max_over_time(sum(rate(req_total[5m]))[10m:45s])",
        "sum(rate({__name__=~\"req_total|other_total\"}[5m]))",
        "rate({__name__=~\"req_total|other_total\"}[5m])",
        "sum(rate(req_total[5m])) + sum(rate(req_total[5m]))",
        "quantile(0.5, rate(req_total[5m]))",
        "topk(2, sum by (instance) (rate(req_total[5m])))",
        "max_over_time(sum(req_total)[1m:1m] @ 60)",
        "sum(temp) * 2",
    ];
    // Steps past 2^32 ms too (usize is 32 bits on wasm32, where this test also runs).
    let grids = [
        (0, 3_000_000, 15_000),
        (-60_000, 2_990_000, 60_000),
        (400_000, 400_000, 1_000),
        (0, 0, 1 << 32),
        (0, (1 << 32) + 60_000, (1 << 32) + 60_000),
    ];
    for (start, end, step) in grids {
        for q in queries {
            let expr = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
            let swept = Evaluator::new(&data, start, end, step).range(&expr);
            // The same query one step at a time (an instant evaluation sweeps nothing).
            let mut by_step: std::collections::BTreeMap<Labels, Vec<(i64, u64)>> = Default::default();
            let mut failed = None;
            let mut t = start;
            while t <= end {
                match Evaluator::new(&data, start, end, step).at(&expr, t) {
                    Ok(Value::Vector(v)) => {
                        for (l, x) in v {
                            by_step.entry(l).or_default().push((t, x.to_bits()));
                        }
                    }
                    Ok(Value::Scalar(x)) => by_step.entry(Vec::new()).or_default().push((t, x.to_bits())),
                    Ok(other) => panic!("{q}: {other:?}"),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                t += step;
            }
            match (swept, failed) {
                (Err(a), Some(b)) => assert_eq!(a, b, "{q}"),
                (Ok(series), None) => {
                    let got: std::collections::BTreeMap<Labels, Vec<(i64, u64)>> = series
                        .into_iter()
                        .map(|s| (s.labels, s.floats.into_iter().map(|(t, v)| (t, v.to_bits())).collect()))
                        .collect();
                    assert_eq!(got, by_step, "{q} from {start} to {end} by {step}");
                }
                (a, b) => panic!("{q}: range {a:?}, step by step {b:?}"),
            }
        }
    }
}
