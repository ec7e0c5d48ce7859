//! Prometheus's query API (`/api/v1/query`, `/api/v1/query_range`), sans-I/O: the parameters
//! as Prometheus reads them, what to fetch from the shards for a query (its selectors and the
//! time window they reach, pushed down), and the JSON answer. The Worker only fetches.

use super::ast::{At, Expr, VectorSelector};
use super::eval::{self, EvalError, Evaluator, LOOKBACK_MS, Labels, RangeSeries, Value};
use super::{ParseError, parse};
use crate::error::HttpStatus;
use crate::store::render::{format_value, json_string};
use crate::store::{Selector, SeriesData, parse_key};
use std::fmt;
use std::fmt::Write as _;

/// Most points a range query may ask per series, as Prometheus refuses more.
pub const MAX_POINTS: i64 = 11_000;

/// A request the API refuses, in Prometheus's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// A parameter is missing or malformed (400, `bad_data`).
    BadData(String),
    /// The query does not parse (400, `bad_data`).
    Parse(ParseError),
    /// The query cannot be evaluated.
    Eval(EvalError),
}

impl ApiError {
    /// Prometheus's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::Eval(EvalError::Timeout) => "timeout",
            ApiError::Eval(e) if e.status() == 422 => "execution",
            _ => "bad_data",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::BadData(m) => f.write_str(m),
            ApiError::Parse(e) => write!(f, "invalid parameter \"query\": {e}"),
            ApiError::Eval(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ApiError {}

impl HttpStatus for ApiError {
    fn status(&self) -> u16 {
        match self {
            ApiError::Eval(e) => e.status(),
            _ => 400,
        }
    }
}

/// `/api/v1/status/buildinfo`'s answer. The version is that of the Prometheus whose PromQL
/// this engine follows (2.42), since clients such as Grafana choose the features they use by
/// it; the revision names edgewrite's own.
pub const BUILD_INFO: &str = concat!(
    r#"{"status":"success","data":{"version":"2.42.0","revision":"edgewrite-"#,
    env!("CARGO_PKG_VERSION"),
    r#"","branch":"","buildUser":"edgewrite","buildDate":"","goVersion":"none (Rust)"}}"#
);

/// Most samples (and histograms) one query may load from the shards. Far below Prometheus's
/// `--query.max-samples` (50 million, counted differently: at once during evaluation), since
/// a Worker has 128 MB: at 24 bytes a sample, 2 million take 48 MB.
pub const MAX_LOADED_SAMPLES: usize = 2_000_000;

/// What each of `shards` shards may return for one query: twice its even share of
/// [`MAX_LOADED_SAMPLES`] (series spread by hash, not evenly), never more than the whole.
/// The Worker checks the sum of their answers against the whole.
pub fn shard_limit(shards: usize) -> usize {
    (MAX_LOADED_SAMPLES * 2).div_ceil(shards.max(1)).min(MAX_LOADED_SAMPLES)
}

/// The refusal of a query whose data is over [`MAX_LOADED_SAMPLES`] (422, `execution`).
pub fn too_many_loaded() -> ApiError {
    ApiError::Eval(EvalError::TooManySamples(MAX_LOADED_SAMPLES))
}

/// Prometheus's default query timeout: 2 minutes.
pub const DEFAULT_TIMEOUT_MS: i64 = 120_000;

/// The work budget (see [`eval::MAX_WORK`]) of a query with this `timeout` parameter (ms):
/// the default budget's share, never more than the default.
pub fn budget(timeout_ms: Option<i64>) -> u64 {
    let t = timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS).clamp(1, DEFAULT_TIMEOUT_MS) as u64;
    eval::MAX_WORK * t / DEFAULT_TIMEOUT_MS as u64
}

/// A time parameter: Unix seconds (with decimals) or RFC 3339, in ms, as `query_range` reads
/// `start` and `end`.
///
/// # Errors
/// [`ApiError::BadData`] naming the parameter.
pub fn parse_time(name: &str, text: &str) -> Result<i64, ApiError> {
    time_ms(text).map_err(|why| ApiError::BadData(format!("invalid parameter \"{name}\": {why}")))
}

/// [`parse_time`] as Prometheus's `parseTimeParam` reads a time (an instant query's `time`,
/// the `start` and `end` of lookups and exemplar queries): the message says so.
///
/// # Errors
/// [`ApiError::BadData`] naming the parameter.
pub fn parse_time_param(name: &str, text: &str) -> Result<i64, ApiError> {
    time_ms(text).map_err(|why| {
        ApiError::BadData(format!("invalid parameter \"{name}\": Invalid time value for '{name}': {why}"))
    })
}

fn time_ms(text: &str) -> Result<i64, String> {
    let bad = || format!("cannot parse \"{text}\" to a valid timestamp");
    let ms = match text.parse::<f64>() {
        Ok(s) if s.is_finite() => (s * 1000.0).round(),
        Ok(_) => return Err(bad()),
        Err(_) => rfc3339(text).ok_or_else(bad)? as f64,
    };
    if ms.abs() > super::parser::MAX_TIME_MS as f64 {
        return Err(format!("\"{text}\" is out of range"));
    }
    Ok(ms as i64)
}

/// A duration parameter (`step`, `timeout`): seconds with decimals, or a PromQL duration; ms.
///
/// # Errors
/// [`ApiError::BadData`] naming the parameter.
pub fn parse_duration(name: &str, text: &str) -> Result<i64, ApiError> {
    let bad =
        || ApiError::BadData(format!("invalid parameter \"{name}\": cannot parse \"{text}\" to a valid duration"));
    let ms = match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => (s * 1000.0).round(),
        Ok(_) => return Err(bad()),
        Err(_) => super::duration_ms(text).ok_or_else(bad)? as f64,
    };
    if ms > super::parser::MAX_TIME_MS as f64 {
        return Err(bad());
    }
    Ok(ms as i64)
}

/// `2024-01-02T03:04:05.678Z` or with an offset (`+02:00`), in ms.
fn rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let text = format!("{:0<3}", &frac[..digits.min(3)]);
        ms = text.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (rest.get(1..3)?.parse::<i64>().ok()?, rest.get(4..6)?.parse::<i64>().ok()?);
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = crate::time::days_from_civil(y, mo, d);
    Some((((days * 24 + h) * 60 + mi - offset_min) * 60 + sec) * 1000 + ms)
}

/// What to fetch from the shards for a query: the series of these selectors, with samples in
/// `[from, to]` (ms).
#[derive(Clone, Debug)]
pub struct Fetch {
    /// Every vector selector of the query.
    pub selectors: Vec<Selector>,
    /// Earliest sample any of them can read.
    pub from: i64,
    /// Latest.
    pub to: i64,
}

/// What evaluating `expr` from `start` to `end` (ms) needs.
pub fn fetch(expr: &Expr, start: i64, end: i64) -> Fetch {
    let mut f = Fetch { selectors: Vec::new(), from: start, to: end };
    walk(expr, (start, end), (start, end), &mut f);
    f
}

/// Walks the tree: `window` is when the node is evaluated (a subquery moves it), `query` the
/// query's own start and end (for `@ start()` / `@ end()`).
fn walk(e: &Expr, window: (i64, i64), query: (i64, i64), f: &mut Fetch) {
    let at = |a: Option<At>| match a {
        None => window,
        Some(At::Time(t)) => (t, t),
        Some(At::Start) => (query.0, query.0),
        Some(At::End) => (query.1, query.1),
    };
    let reach = |s: &VectorSelector, range: i64, f: &mut Fetch| {
        let (lo, hi) = at(s.at);
        f.from = f.from.min(lo - s.offset_ms - range - LOOKBACK_MS);
        f.to = f.to.max(hi - s.offset_ms);
        f.selectors.push(Selector { matchers: s.matchers.clone() });
    };
    match e {
        Expr::Vector(s) => reach(s, 0, f),
        Expr::Matrix { selector, range_ms } => reach(selector, *range_ms, f),
        Expr::Subquery { expr, range_ms, offset_ms, at: when, .. } => {
            let (lo, hi) = at(*when);
            walk(expr, (lo - offset_ms - range_ms, hi - offset_ms), query, f);
        }
        Expr::Call { args, .. } => args.iter().for_each(|a| walk(a, window, query, f)),
        Expr::Aggregate { expr, param, .. } => {
            walk(expr, window, query, f);
            if let Some(p) = param {
                walk(p, window, query, f);
            }
        }
        Expr::Negate(x) | Expr::Paren(x) => walk(x, window, query, f),
        Expr::Binary { lhs, rhs, .. } => {
            walk(lhs, window, query, f);
            walk(rhs, window, query, f);
        }
        Expr::Number(_) | Expr::String(_) => {}
    }
}

/// The shards' series in the evaluator's terms (float samples; histograms are not evaluated
/// yet).
pub fn series(data: Vec<SeriesData>) -> Vec<eval::Series> {
    data.into_iter()
        .filter_map(|d| {
            let mut labels: Labels =
                parse_key(&d.key).ok()?.into_iter().map(|l| (l.name.into_owned(), l.value.into_owned())).collect();
            labels.sort();
            Some(eval::Series { labels, samples: d.samples, histograms: d.histograms })
        })
        .collect()
}

/// Parses a query for an instant (`end` = `start`) or range evaluation, refusing a range that
/// asks too many points per series.
///
/// # Errors
/// [`ApiError`].
pub fn prepare(query: &str, start: i64, end: i64, step: i64) -> Result<Expr, ApiError> {
    if end < start {
        return Err(ApiError::BadData("invalid parameter \"end\": end timestamp must not be before start time".into()));
    }
    if start != end || step != 0 {
        if step <= 0 {
            return Err(ApiError::BadData(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if (end - start) / step > MAX_POINTS {
            return Err(ApiError::BadData(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
            ));
        }
    }
    parse(query).map_err(ApiError::Parse)
}

/// Evaluates `expr` at `t` and answers as `/api/v1/query` does.
///
/// # Errors
/// [`ApiError::Eval`].
pub fn instant(expr: &Expr, data: &[eval::Series], t: i64, work: u64) -> Result<String, ApiError> {
    let value = Evaluator::new(data, t, t, 60_000).with_budget(work).at(expr, t).map_err(ApiError::Eval)?;
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"#);
    let point = |out: &mut String, t: i64, v: f64| {
        let _ = write!(out, "[{},\"{}\"]", crate::store::render::format_time(t), format_value(v));
    };
    match value {
        Value::Scalar(v) => {
            out.push_str(r#""scalar","result":"#);
            point(&mut out, t, v);
        }
        Value::String(s) => {
            let _ = write!(out, r#""string","result":[{},"#, crate::store::render::format_time(t));
            json_string(&mut out, &s);
            out.push(']');
        }
        Value::Vector(v) => vector_json(&mut out, &v, |out, x| {
            out.push_str(r#","value":"#);
            point(out, t, *x);
        }),
        Value::Histograms(v) => vector_json(&mut out, &v, |out, h| {
            let _ = write!(out, r#","histogram":[{},"#, crate::store::render::format_time(t));
            crate::store::render::histogram(out, &h.to_model(t));
            out.push(']');
        }),
        Value::Matrix(m) => {
            out.push_str(r#""matrix","result":"#);
            let m: Vec<RangeSeries> =
                m.into_iter().map(|(labels, floats)| RangeSeries { labels, floats, histograms: Vec::new() }).collect();
            series_json(&mut out, &m);
        }
    }
    out.push_str("}}");
    Ok(out)
}

/// Evaluates `expr` from `start` to `end` every `step` and answers as `/api/v1/query_range`.
///
/// # Errors
/// [`ApiError::Eval`].
pub fn range(
    expr: &Expr,
    data: &[eval::Series],
    start: i64,
    end: i64,
    step: i64,
    work: u64,
) -> Result<String, ApiError> {
    let m = Evaluator::new(data, start, end, step).with_budget(work).range(expr).map_err(ApiError::Eval)?;
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":"#);
    series_json(&mut out, &m);
    out.push_str("}}");
    Ok(out)
}

/// An instant vector's result: each element's metric, then what `value` writes of it.
fn vector_json<T>(out: &mut String, v: &[(Labels, T)], value: impl Fn(&mut String, &T)) {
    out.push_str(r#""vector","result":["#);
    for (i, (labels, x)) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"metric":"#);
        metric(out, labels);
        value(out, x);
        out.push('}');
    }
    out.push(']');
}

fn metric(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, (n, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, n);
        out.push(':');
        json_string(out, v);
    }
    out.push('}');
}

fn series_json(out: &mut String, m: &[RangeSeries]) {
    out.push('[');
    for (i, series) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"metric":"#);
        metric(out, &series.labels);
        // As Prometheus: "values" when the series has float points, "histograms" when it has
        // histogram points.
        if !series.floats.is_empty() || series.histograms.is_empty() {
            out.push_str(r#","values":["#);
            for (k, (t, v)) in series.floats.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                let _ = write!(out, "[{},\"{}\"]", crate::store::render::format_time(*t), format_value(*v));
            }
            out.push(']');
        }
        if !series.histograms.is_empty() {
            out.push_str(r#","histograms":["#);
            for (k, (t, h)) in series.histograms.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                let _ = write!(out, "[{},", crate::store::render::format_time(*t));
                crate::store::render::histogram(out, &h.to_model(*t));
                out.push(']');
            }
            out.push(']');
        }
        out.push('}');
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn times_and_steps_read_as_prometheus_reads_them() {
        assert_eq!(parse_time("time", "1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("time", "1700000000.123"), Ok(1_700_000_000_123));
        assert_eq!(parse_time("time", "2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("time", "2023-11-14T22:13:20.5Z"), Ok(1_700_000_000_500));
        assert_eq!(parse_time("time", "2023-11-15T00:13:20+02:00"), Ok(1_700_000_000_000));
        assert!(parse_time("start", "yesterday").unwrap_err().to_string().contains("invalid parameter \"start\""));
        assert_eq!(parse_duration("step", "15"), Ok(15_000));
        assert_eq!(parse_duration("step", "0.5"), Ok(500));
        assert_eq!(parse_duration("step", "60s"), Ok(60_000));
        assert_eq!(parse_duration("step", "1m30s"), Ok(90_000));
        assert!(parse_duration("step", "-1").is_err());
    }

    #[test]
    fn ranges_are_checked_before_anything_runs() {
        assert!(prepare("up", 0, 10_000, 1000).is_ok());
        let e = prepare("up", 0, 12_000_000, 1000).unwrap_err();
        assert!(e.to_string().starts_with("exceeded maximum resolution of 11,000 points"), "{e}");
        assert_eq!(e.status(), 400);
        assert!(prepare("up", 10, 0, 1).is_err());
        assert!(prepare("up", 0, 10, 0).unwrap_err().to_string().contains("step"));
        let e = prepare("rate(up)", 0, 0, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter \"query\": 1:1: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!((e.status(), e.error_type()), (400, "bad_data"));
        assert_eq!(ApiError::Eval(EvalError::TooManySamples(1)).error_type(), "execution");
        let timeout = ApiError::Eval(EvalError::Timeout);
        assert_eq!((timeout.status(), timeout.error_type()), (503, "timeout"));
    }

    #[test]
    fn shards_share_the_sample_limit() {
        assert_eq!(shard_limit(1), MAX_LOADED_SAMPLES);
        assert_eq!(shard_limit(2), MAX_LOADED_SAMPLES);
        assert_eq!(shard_limit(4), MAX_LOADED_SAMPLES / 2);
        assert_eq!(shard_limit(3), 1_333_334);
        assert_eq!(shard_limit(0), MAX_LOADED_SAMPLES);
        assert_eq!(too_many_loaded().status(), 422);
    }

    #[test]
    fn a_timeout_is_a_share_of_the_work_budget() {
        assert_eq!(budget(None), eval::MAX_WORK);
        assert_eq!(budget(Some(60_000)), eval::MAX_WORK / 2);
        assert_eq!(budget(Some(10 * DEFAULT_TIMEOUT_MS)), eval::MAX_WORK, "never more than the default");
        assert!(budget(Some(0)) > 0);
        // A query that fits the default budget but not a 1 ms one times out.
        let data = vec![eval::Series {
            labels: vec![("__name__".into(), "up".into())],
            samples: (0..1000).map(|i| crate::model::Sample::new(1.0, i * 1000)).collect(),
            histograms: Vec::new(),
        }];
        let q = parse("count_over_time(up[10m:1ms])").unwrap();
        assert!(instant(&q, &data, 1_000_000, budget(None)).is_ok());
        let e = instant(&q, &data, 1_000_000, budget(Some(1))).unwrap_err();
        assert_eq!(e.to_string(), "query timed out in expression evaluation");
    }

    #[test]
    fn fetch_reaches_back_over_ranges_offsets_and_lookback() {
        let e = parse("rate(x[5m] offset 1h) + max_over_time(y[10m:1m] offset -2h)").unwrap();
        let f = fetch(&e, 10_000_000, 20_000_000);
        assert_eq!(f.selectors.len(), 2);
        assert_eq!(f.from, 10_000_000 - 3_600_000 - 300_000 - LOOKBACK_MS);
        assert_eq!(f.to, 20_000_000 + 7_200_000, "a negative offset reads ahead");
        let f = fetch(&parse("z @ 1000").unwrap(), 10_000_000, 10_000_000);
        assert_eq!(f.from, 1_000_000 - LOOKBACK_MS);
        // A subquery's @ moves everything inside it.
        let f = fetch(&parse("max_over_time(x[10m:1m] @ 1000)").unwrap(), 10_000_000, 10_000_000);
        assert_eq!((f.from, f.to), (1_000_000 - 600_000 - LOOKBACK_MS, 10_000_000));
        assert!(parse_time("time", "1e300").is_err() && parse_duration("step", "1e300").is_err());
        assert_eq!(
            parse_time("start", "x").unwrap_err().to_string(),
            "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"
        );
        assert_eq!(
            parse_time_param("time", "x").unwrap_err().to_string(),
            "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"x\" to a valid timestamp",
            "as Prometheus 2.42 answers /api/v1/query?time=x"
        );
    }

    #[test]
    fn answers_in_prometheus_shapes() {
        let data = series(vec![SeriesData {
            key: r#"{"__name__":"up","job":"a\"b"}"#.into(),
            samples: vec![Sample::new(1.0, 1_000), Sample::new(0.5, 61_000)],
            ..SeriesData::default()
        }]);
        let q = |s: &str| parse(s).unwrap();
        assert_eq!(
            instant(&q("1+1"), &data, 1_500, budget(None)).unwrap(),
            r#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"2"]}}"#
        );
        assert_eq!(
            instant(&q("up"), &data, 61_000, budget(None)).unwrap(),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[61,"0.5"]}]}}"#
        );
        assert_eq!(
            instant(&q("\"hi\""), &data, 0, budget(None)).unwrap(),
            r#"{"status":"success","data":{"resultType":"string","result":[0,"hi"]}}"#
        );
        assert_eq!(
            instant(&q("up[1m]"), &data, 61_000, budget(None)).unwrap(),
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a\"b"},"values":[[1,"1"],[61,"0.5"]]}]}}"#
        );
        assert_eq!(
            range(&q("up * 2"), &data, 1_000, 61_000, 60_000, budget(None)).unwrap(),
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a\"b"},"values":[[1,"2"],[61,"1"]]}]}}"#
        );
    }
}
