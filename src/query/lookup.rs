//! Prometheus's metadata lookups, sans-I/O: `/api/v1/series`, `/api/v1/labels` and
//! `/api/v1/label/<name>/values`, with repeatable `match[]`, `start`, `end` and `limit`, as
//! Grafana's label and series pickers call them. [`Lookup::from_params`] reads the
//! parameters; the Worker asks the shards for [`Lookup::selectors`] (with data in
//! [`Lookup::range`] when a time range is given) and [`Lookup::answer`] writes the JSON.
//!
//! ```
//! use edgewrite::query::lookup::{Lookup, What};
//! use edgewrite::store::SeriesData;
//!
//! let params = [("match[]", r#"up{job="api"}"#), ("limit", "10")];
//! let lookup = Lookup::from_params(What::Labels, params).unwrap();
//! assert_eq!(lookup.range, None, "no start or end: every series, whatever its time");
//! let data = [SeriesData { key: r#"{"__name__":"up","job":"api"}"#.into(), ..SeriesData::default() }];
//! assert_eq!(lookup.answer(&data), r#"{"status":"success","data":["__name__","job"]}"#);
//! ```

use super::api::{ApiError, parse_time_param};
use crate::store::render::json_string;
use crate::store::{SeriesData, parse_key};
use std::collections::BTreeSet;

/// Which lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// `/api/v1/series`: the selected series' label sets.
    Series,
    /// `/api/v1/labels`: the label names of the selected series.
    Labels,
    /// `/api/v1/label/<name>/values`: the values of one label.
    Values(String),
}

/// A lookup's parameters, read as Prometheus reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// Which lookup.
    pub what: What,
    /// The `match[]` selectors, checked; every series when none is given.
    pub selectors: Vec<String>,
    /// Only series with samples in this range (ms, inclusive), when `start` or `end` is given.
    pub range: Option<(i64, i64)>,
    /// Most entries in the answer (`limit`; 0 or absent: no limit).
    pub limit: usize,
}

/// The selector that selects every series.
const EVERY_SERIES: &str = "{__name__=~\".+\"}";

/// The warning Prometheus adds when `limit` cut the answer.
const TRUNCATED: &str = "results truncated due to limit";

impl Lookup {
    /// Reads the parameters (`match[]` repeatable; the first of any other wins).
    ///
    /// # Errors
    /// [`ApiError`] (400): a selector that does not parse, a bad time or limit, an invalid
    /// label name, `end` before `start`.
    pub fn from_params<'p>(what: What, params: impl IntoIterator<Item = (&'p str, &'p str)>) -> Result<Self, ApiError> {
        if let What::Values(name) = &what
            && !valid_label_name(name)
        {
            return Err(ApiError::BadData(format!("invalid label name: {name:?}")));
        }
        let (mut selectors, mut start, mut end, mut limit) = (Vec::new(), None, None, None);
        for (k, v) in params {
            match k {
                "match[]" => {
                    super::parse_selector(v)
                        .map_err(|e| ApiError::BadData(format!("invalid parameter \"match[]\": {e}")))?;
                    selectors.push(v.to_string());
                }
                "start" if start.is_none() => start = Some(parse_time_param("start", v)?),
                "end" if end.is_none() => end = Some(parse_time_param("end", v)?),
                "limit" if limit.is_none() => {
                    limit = Some(v.parse::<usize>().map_err(|_| {
                        ApiError::BadData(format!(
                            "invalid parameter \"limit\": {v:?} is not a count of results (0: no limit)"
                        ))
                    })?)
                }
                _ => {}
            }
        }
        if selectors.is_empty() {
            selectors.push(EVERY_SERIES.into());
        }
        let range = match (start, end) {
            (None, None) => None,
            (s, e) => {
                let (s, e) = (s.unwrap_or(i64::MIN), e.unwrap_or(i64::MAX));
                if e < s {
                    return Err(ApiError::BadData(
                        "invalid parameter \"end\": end timestamp must not be before start time".into(),
                    ));
                }
                Some((s, e))
            }
        };
        Ok(Lookup { what, selectors, range, limit: limit.unwrap_or(0) })
    }

    /// The answer's JSON over what the shards returned (merged: each series once), sorted as
    /// Prometheus sorts it, cut to `limit` with Prometheus's warning.
    pub fn answer(&self, data: &[SeriesData]) -> String {
        let limit = if self.limit == 0 { usize::MAX } else { self.limit };
        let mut out = String::from(r#"{"status":"success","data":["#);
        let mut n = 0;
        let mut item = |out: &mut String, write: &dyn Fn(&mut String)| {
            if n > 0 {
                out.push(',');
            }
            write(out);
            n += 1;
        };
        let truncated = match &self.what {
            What::Series => {
                let mut sorted: Vec<&SeriesData> = data.iter().collect();
                sorted.sort_by(|a, b| a.key.cmp(&b.key));
                for d in sorted.into_iter().take(limit) {
                    item(&mut out, &|o| o.push_str(&d.key));
                }
                data.len() > limit
            }
            What::Labels | What::Values(_) => {
                let mut set = BTreeSet::new();
                for d in data {
                    for label in parse_key(&d.key).into_iter().flatten() {
                        match &self.what {
                            What::Values(name) if *label.name == **name => {
                                set.insert(label.value.into_owned());
                            }
                            What::Labels => {
                                set.insert(label.name.into_owned());
                            }
                            _ => {}
                        }
                    }
                }
                for s in set.iter().take(limit) {
                    item(&mut out, &|o| json_string(o, s));
                }
                set.len() > limit
            }
        };
        out.push(']');
        if truncated {
            out.push_str(&format!(r#","warnings":["{TRUNCATED}"]"#));
        }
        out.push('}');
        out
    }
}

/// A label name as Prometheus 2.42 accepts it: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn data() -> Vec<SeriesData> {
        [
            r#"{"__name__":"up","job":"api"}"#,
            r#"{"__name__":"up","job":"web","zone":"x"}"#,
            r#"{"__name__":"a","job":"api"}"#,
        ]
        .iter()
        .map(|k| SeriesData { key: k.to_string(), ..SeriesData::default() })
        .collect()
    }

    #[test]
    fn parameters_read_as_prometheus_reads_them() {
        let l =
            Lookup::from_params(What::Series, [("match[]", "up"), ("match[]", "a"), ("start", "10"), ("end", "20.5")])
                .unwrap();
        assert_eq!(l.selectors, ["up", "a"]);
        assert_eq!(l.range, Some((10_000, 20_500)));
        assert_eq!(l.limit, 0);
        let only_end = Lookup::from_params(What::Labels, [("end", "2024-01-01T00:00:00Z")]).unwrap();
        assert_eq!(only_end.range, Some((i64::MIN, 1_704_067_200_000)));
        assert_eq!(Lookup::from_params(What::Labels, []).unwrap().selectors, [EVERY_SERIES]);
        assert_eq!(Lookup::from_params(What::Series, [("limit", "40000")]).unwrap().limit, 40_000);
        for bad in [[("match[]", "up{")], [("start", "yesterday")], [("limit", "-1")], [("limit", "ten")]] {
            let e = Lookup::from_params(What::Labels, bad).unwrap_err();
            assert!(e.to_string().contains(bad[0].0), "{e}");
        }
        assert!(Lookup::from_params(What::Labels, [("start", "20"), ("end", "10")]).is_err());
        let e = Lookup::from_params(What::Values("1job".into()), []).unwrap_err();
        assert_eq!(e.to_string(), "invalid label name: \"1job\"");
    }

    #[test]
    fn answers_sorted_unique_and_limited() {
        let labels = Lookup::from_params(What::Labels, []).unwrap();
        assert_eq!(labels.answer(&data()), r#"{"status":"success","data":["__name__","job","zone"]}"#);
        let names = Lookup::from_params(What::Values("__name__".into()), []).unwrap();
        assert_eq!(names.answer(&data()), r#"{"status":"success","data":["a","up"]}"#);
        let limited = Lookup::from_params(What::Values("job".into()), [("limit", "1")]).unwrap();
        assert_eq!(
            limited.answer(&data()),
            r#"{"status":"success","data":["api"],"warnings":["results truncated due to limit"]}"#
        );
        let series = Lookup::from_params(What::Series, [("limit", "2")]).unwrap();
        assert_eq!(
            series.answer(&data()),
            r#"{"status":"success","data":[{"__name__":"a","job":"api"},{"__name__":"up","job":"api"}],"warnings":["results truncated due to limit"]}"#
        );
        assert_eq!(Lookup::from_params(What::Labels, []).unwrap().answer(&[]), r#"{"status":"success","data":[]}"#);
    }
}
