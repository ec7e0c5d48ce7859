//! `/api/v1/query_exemplars`, sans-I/O, as Prometheus answers it: the exemplars stored with
//! the series that any selector of `query` selects, between `start` and `end` (inclusive;
//! default: all time). [`ExemplarQuery::from_params`] reads the parameters; the Worker asks the
//! shards for the exemplars of [`ExemplarQuery::selectors`] in [`ExemplarQuery::range`] and
//! [`answer`] writes the JSON. (Prometheus drops an exemplar older than its series' newest;
//! the store keeps it, and the first write of a timestamp.)
//!
//! ```
//! use edgewrite::query::exemplars::{ExemplarQuery, answer};
//! use edgewrite::store::SeriesData;
//! use edgewrite::{Exemplar, Label};
//!
//! let params = [("query", r#"rate(http_seconds_bucket{job="api"}[5m])"#), ("start", "1700000000")];
//! let q = ExemplarQuery::from_params(params).unwrap().expect("the query has a selector");
//! assert_eq!(q.range.0, 1_700_000_000_000);
//! let data = [SeriesData {
//!     key: r#"{"__name__":"http_seconds_bucket","job":"api"}"#.into(),
//!     exemplars: vec![Exemplar { labels: vec![Label::new("trace_id", "4bf9")], value: 0.25, timestamp: 1_700_000_000_500 }],
//!     ..SeriesData::default()
//! }];
//! assert_eq!(
//!     answer(&data),
//!     r#"{"status":"success","data":[{"seriesLabels":{"__name__":"http_seconds_bucket","job":"api"},"exemplars":[{"labels":{"trace_id":"4bf9"},"value":"0.25","timestamp":1700000000.5}]}]}"#
//! );
//! ```

use super::api::{ApiError, fetch, parse_time_param};
use crate::model::Label;
use crate::store::render::{format_time, format_value, json_string};
use crate::store::{Selector, SeriesData, parse_key};

/// An exemplar query's parameters, read as Prometheus reads them.
#[derive(Clone, Debug)]
pub struct ExemplarQuery {
    /// Every vector selector of the query (Prometheus's `ExtractSelectors`).
    pub selectors: Vec<Selector>,
    /// From `start` to `end`, ms inclusive.
    pub range: (i64, i64),
}

impl ExemplarQuery {
    /// Reads `query`, `start` and `end` (the first of each wins). `Ok(None)` for a query
    /// without a selector (`1+1`), which Prometheus answers with 204 No Content.
    ///
    /// # Errors
    /// [`ApiError`] (400): a bad time, `end` before `start`, a query that does not parse (the
    /// parser's message and position, without the `invalid parameter` prefix, as Prometheus).
    pub fn from_params<'p>(params: impl IntoIterator<Item = (&'p str, &'p str)>) -> Result<Option<Self>, ApiError> {
        let (mut query, mut start, mut end) = (None, None, None);
        for (k, v) in params {
            match k {
                "query" if query.is_none() => query = Some(v),
                "start" if start.is_none() => start = Some(v),
                "end" if end.is_none() => end = Some(v),
                _ => {}
            }
        }
        let start = start.map_or(Ok(i64::MIN), |t| parse_time_param("start", t))?;
        let end = end.map_or(Ok(i64::MAX), |t| parse_time_param("end", t))?;
        if end < start {
            return Err(ApiError::BadData("end timestamp must not be before start timestamp".into()));
        }
        let expr = super::parse(query.unwrap_or("")).map_err(|e| ApiError::BadData(e.to_string()))?;
        let selectors = fetch(&expr, 0, 0).selectors;
        Ok((!selectors.is_empty()).then_some(ExemplarQuery { selectors, range: (start, end) }))
    }
}

/// The answer's JSON over what the shards returned (merged, each series once): each series
/// with exemplars, in the order of their label sets as Prometheus sorts them, its labels, then
/// its exemplars in time order (labels by name, the value as a string, the time in Unix
/// seconds).
pub fn answer(data: &[SeriesData]) -> String {
    let mut with: Vec<(Vec<(String, String)>, &SeriesData)> = data
        .iter()
        .filter(|s| !s.exemplars.is_empty())
        .map(|s| {
            let labels = parse_key(&s.key).unwrap_or_default();
            (labels.into_iter().map(|l| (l.name.into_owned(), l.value.into_owned())).collect(), s)
        })
        .collect();
    // Label by label, name then value (Prometheus's `labels.Compare`); the keys' JSON order
    // differs where a value holds a character below '"'.
    with.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from(r#"{"status":"success","data":["#);
    for (i, (_, series)) in with.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // The store's key is the series' labels as a JSON object in name order.
        out.push_str(r#"{"seriesLabels":"#);
        out.push_str(&series.key);
        out.push_str(r#","exemplars":["#);
        for (j, e) in series.exemplars.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let mut labels: Vec<&Label<'_>> = e.labels.iter().collect();
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            out.push_str(r#"{"labels":{"#);
            for (k, l) in labels.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                json_string(&mut out, &l.name);
                out.push(':');
                json_string(&mut out, &l.value);
            }
            out.push_str(r#"},"value":""#);
            out.push_str(&format_value(e.value));
            out.push_str(r#"","timestamp":"#);
            out.push_str(&format_time(e.timestamp));
            out.push('}');
        }
        out.push_str("]}");
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::HttpStatus;
    use crate::model::Exemplar;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn parameters_are_read_as_prometheus_reads_them() {
        let q = ExemplarQuery::from_params([("query", "a / on() b{x=\"1\"} + rate(c[5m])"), ("end", "10")])
            .unwrap()
            .unwrap();
        assert_eq!(q.selectors.len(), 3, "every selector of the query, inside calls and ranges too");
        assert_eq!(q.range, (i64::MIN, 10_000));
        assert!(ExemplarQuery::from_params([("query", "1 + 1")]).unwrap().is_none(), "no selector: no content");
        let e = ExemplarQuery::from_params([("query", "rate(x[5m]")]).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().starts_with("1:"), "the parser's position first: {e}");
        let e = ExemplarQuery::from_params([("query", "x"), ("start", "20"), ("end", "10")]).unwrap_err();
        assert_eq!(e.to_string(), "end timestamp must not be before start timestamp");
        let e = ExemplarQuery::from_params([("query", "x"), ("start", "soon")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"soon\" to a valid timestamp"
        );
        assert!(ExemplarQuery::from_params([]).is_err(), "a missing query does not parse");
    }

    #[test]
    fn the_answer_has_prometheus_shape() {
        let ex = |labels: Vec<Label<'static>>, value, timestamp| Exemplar { labels, value, timestamp };
        let data = [
            SeriesData {
                key: r#"{"__name__":"a","q":"x\"y"}"#.into(),
                exemplars: vec![
                    ex(vec![Label::new("z", "1"), Label::new("trace_id", "t")], f64::NAN, 1_000),
                    ex(vec![], 1e21, 1_500),
                ],
                ..SeriesData::default()
            },
            SeriesData { key: r#"{"__name__":"b"}"#.into(), ..SeriesData::default() },
            SeriesData {
                key: r#"{"__name__":"a","q":"x"}"#.into(),
                exemplars: vec![ex(vec![], 2.0, 3_000)],
                ..SeriesData::default()
            },
            SeriesData {
                key: r#"{"__name__":"a","q":"x!"}"#.into(),
                exemplars: vec![ex(vec![], 2.0, 3_000)],
                ..SeriesData::default()
            },
        ];
        let v: serde_json::Value = serde_json::from_str(&answer(&data[..2])).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"status": "success", "data": [{
                "seriesLabels": {"__name__": "a", "q": "x\"y"},
                "exemplars": [
                    {"labels": {"trace_id": "t", "z": "1"}, "value": "NaN", "timestamp": 1},
                    {"labels": {}, "value": "1000000000000000000000", "timestamp": 1.5},
                ],
            }]}),
            "series without exemplars are left out"
        );
        assert!(answer(&data).contains(r#"{"trace_id":"t","z":"1"}"#), "labels in name order");
        let order: Vec<String> = serde_json::from_str::<serde_json::Value>(&answer(&data)).unwrap()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["seriesLabels"]["q"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(order, ["x", "x!", "x\"y"], "series in Prometheus's label order, not the keys' JSON order");
        assert_eq!(answer(&[]), r#"{"status":"success","data":[]}"#);
    }
}
