//! The embedded store's logic, sans-I/O: what the Worker's shards keep when
//! `BACKEND = "embedded"`, and how the read API answers. The shard Durable Object does the
//! SQLite calls; everything it decides comes from here, tested natively.
//!
//! How a shard stores (see `worker/src/embedded.rs` for the SQL):
//! - The write path only appends the batch (a remote-write 2.0 body) to the shard's durable
//!   queue: one row per request, so acknowledging is cheap.
//! - An alarm compacts the queue: [`group`] gathers each series' samples from the queued
//!   batches in arrival order, and each series gets one [`chunk`] row per compaction (its labels
//!   are a row of their own, keyed by [`series_key`]), written a slice of series per alarm turn
//!   ([`compaction`]) so that appends never wait for a whole compaction. Old chunks go after
//!   the retention ([`parse_duration`]).
//! - A read ([`read::Reader`]) selects series with a [`Selector`], takes their chunks and the
//!   still-queued batches in write order, and [`merge_samples`] sorts them; for a timestamp written twice the first
//!   write wins, so a batch stored twice (a 503 after some shards had stored it, then the
//!   sender's retry) reads back once.
//! - Shards answer the Worker in [`results`] frames; the Worker merges the shards' answers and
//!   renders the JSON of the read API ([`render`]), shaped as Prometheus's HTTP API answers.

pub mod chunk;
pub mod compaction;
pub mod read;
pub mod render;
pub mod results;
pub mod selector;

pub use selector::{Matcher, Op, Selector, SelectorError};

use crate::model::{Exemplar, Histogram, Label, Metadata, Sample, WriteRequest};

/// A series' identity in the store: its labels as a JSON object in label-name order, e.g.
/// `{"__name__":"up","job":"api"}`. Also what the read API prints as the series' labels.
pub fn series_key(labels: &[Label<'_>]) -> String {
    let mut sorted: Vec<&Label<'_>> = labels.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::with_capacity(16 + labels.iter().map(|l| l.name.len() + l.value.len() + 6).sum::<usize>());
    out.push('{');
    for (i, l) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        render::json_string(&mut out, &l.name);
        out.push(':');
        render::json_string(&mut out, &l.value);
    }
    out.push('}');
    out
}

/// The labels of a [`series_key`].
///
/// # Errors
/// [`read::StoreError::CorruptKey`] if `key` is not a JSON object of strings (the store's own
/// data is corrupt).
pub fn parse_key(key: &str) -> Result<Vec<Label<'static>>, read::StoreError> {
    let bad = |why: String| read::StoreError::CorruptKey(format!("bad series key {key:?}: {why}"));
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(key).map_err(|e| bad(e.to_string()))?;
    map.into_iter()
        .map(|(n, v)| match v {
            serde_json::Value::String(v) => Ok(Label::new(n, v)),
            _ => Err(bad("a label value is not a string".into())),
        })
        .collect()
}

/// A duration or time that does not parse: the text of a setting or of a read's parameter,
/// so the fault of whoever wrote it (400 for a read; a named setting for the Worker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// Not a Prometheus duration.
    Duration(String),
    /// Not Unix seconds (with up to millisecond decimals).
    Time {
        /// The parameter (`start`, `end`).
        name: String,
        /// Its text.
        text: String,
    },
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeError::Duration(text) => {
                write!(f, "bad duration {text:?}: write it as Prometheus does, e.g. 15d, 12h, 90m, 30s")
            }
            TimeError::Time { name, text } => {
                write!(f, "bad {name} {text:?}: give Unix seconds, e.g. {name}=1700000000 or 1700000000.250")
            }
        }
    }
}

impl std::error::Error for TimeError {}

impl crate::error::HttpStatus for TimeError {
    fn status(&self) -> u16 {
        400
    }
}

/// One series' data gathered from queued batches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesData {
    /// [`series_key`] of its labels.
    pub key: String,
    /// Float samples in arrival order.
    pub samples: Vec<Sample>,
    /// Native histogram samples in arrival order.
    pub histograms: Vec<Histogram>,
    /// Exemplars in arrival order (a read returns them only when it asks for them).
    pub exemplars: Vec<Exemplar<'static>>,
    /// The newest non-empty metadata the batches carried for it.
    pub metadata: Metadata<'static>,
}

/// Gathers the series of batches fed to it in arrival order: one entry per distinct series, in
/// order of first appearance, with its samples in arrival order. Labels are compared as the
/// batches carry them (sorted, as validation ensures); each series' key is built once, when it
/// first appears, so feeding a series again costs a hash and a comparison.
#[derive(Default)]
pub struct Grouper {
    /// Label-set hash to the first series with it; `next` chains the others.
    first: rustc_hash::FxHashMap<u64, usize>,
    next: Vec<Option<usize>>,
    labels: Vec<Vec<(String, String)>>,
    out: Vec<SeriesData>,
}

impl Grouper {
    /// Adds a batch's series.
    pub fn add(&mut self, batch: &WriteRequest<'_>) {
        use std::hash::{Hash, Hasher};
        for s in &batch.series {
            let mut h = rustc_hash::FxHasher::default();
            for l in &s.labels {
                l.name.hash(&mut h);
                l.value.hash(&mut h);
            }
            let hash = h.finish();
            let same = |known: &[(String, String)]| {
                known.len() == s.labels.len()
                    && known.iter().zip(&s.labels).all(|(k, l)| k.0 == l.name && k.1 == l.value)
            };
            let mut at = self.first.get(&hash).copied();
            let mut last = None;
            while let Some(i) = at {
                if same(&self.labels[i]) {
                    break;
                }
                last = Some(i);
                at = self.next[i];
            }
            let i = at.unwrap_or_else(|| {
                let i = self.out.len();
                self.out.push(SeriesData { key: series_key(&s.labels), ..SeriesData::default() });
                self.labels.push(s.labels.iter().map(|l| (l.name.to_string(), l.value.to_string())).collect());
                self.next.push(None);
                match last {
                    Some(prev) => self.next[prev] = Some(i),
                    None => {
                        self.first.insert(hash, i);
                    }
                }
                i
            });
            let d = &mut self.out[i];
            d.samples.extend_from_slice(&s.samples);
            d.histograms.extend(s.histograms.iter().cloned());
            d.exemplars.extend(s.exemplars.iter().map(|e| e.clone().into_owned()));
            if !s.metadata.is_empty() {
                d.metadata = s.metadata.clone().into_owned();
            }
        }
    }

    /// The labels of the `i`-th series gathered.
    pub fn labels(&self, i: usize) -> impl Iterator<Item = Label<'_>> {
        self.labels[i].iter().map(|(n, v)| Label::new(n.as_str(), v.as_str()))
    }

    /// How many distinct series were gathered.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing was gathered.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The series gathered, in order of first appearance.
    pub fn finish(self) -> Vec<SeriesData> {
        self.out
    }
}

/// [`Grouper`] over `batches` at once.
pub fn group<'a>(batches: impl IntoIterator<Item = &'a WriteRequest<'a>>) -> Vec<SeriesData> {
    let mut g = Grouper::default();
    for b in batches {
        g.add(b);
    }
    g.finish()
}

/// Merges parts of one series given in write order (oldest write first) into timestamp order.
/// For a timestamp written more than once, the first write wins.
pub fn merge_samples(parts: impl IntoIterator<Item = Vec<Sample>>) -> Vec<Sample> {
    merge_by_time(parts, |s| s.timestamp)
}

/// [`merge_samples`] for native histograms.
pub fn merge_histograms(parts: impl IntoIterator<Item = Vec<Histogram>>) -> Vec<Histogram> {
    merge_by_time(parts, |h| h.timestamp)
}

/// [`merge_samples`] for exemplars (Prometheus's exemplar storage also keeps the first of a
/// timestamp).
pub fn merge_exemplars(parts: impl IntoIterator<Item = Vec<Exemplar<'static>>>) -> Vec<Exemplar<'static>> {
    merge_by_time(parts, |e| e.timestamp)
}

fn merge_by_time<T>(parts: impl IntoIterator<Item = Vec<T>>, time: impl Fn(&T) -> i64) -> Vec<T> {
    let mut all: Vec<T> = parts.into_iter().flatten().collect();
    // Stable: equal timestamps keep write order, and dedup keeps the first of them.
    all.sort_by_key(|x| time(x));
    all.dedup_by_key(|x| time(x));
    all
}

/// Parses a Prometheus duration (`15d`, `1h30m`, `90s`, `500ms`, `2w`, `1y`) to milliseconds.
///
/// # Errors
/// [`TimeError::Duration`].
pub fn parse_duration(text: &str) -> Result<u64, TimeError> {
    let bad = || TimeError::Duration(text.to_string());
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let ms = match &rest[..unit] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit..];
        total = n.checked_mul(ms).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
    }
    Ok(total)
}

/// Parses a read API time: Unix seconds, with up to millisecond decimals (`1700000000.5`), as
/// Prometheus's API takes it. Returns milliseconds.
///
/// # Errors
/// [`TimeError::Time`].
pub fn parse_time(name: &str, text: &str) -> Result<i64, TimeError> {
    let bad = || TimeError::Time { name: name.to_string(), text: text.to_string() };
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let ms: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<3}").parse().map_err(|_| bad())? };
    let ms = if text.starts_with('-') { -ms } else { ms };
    secs.checked_mul(1000).and_then(|s| s.checked_add(ms)).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{STALE_NAN, Series};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn keys_are_sorted_json_and_parse_back() {
        let labels = vec![Label::new("job", "a\"b"), Label::new("__name__", "up"), Label::new("é", "\n")];
        let key = series_key(&labels);
        assert_eq!(key, r#"{"__name__":"up","job":"a\"b","é":"\n"}"#);
        let back = parse_key(&key).unwrap();
        assert_eq!(series_key(&back), key);
        assert!(parse_key("{\"a\":1}").is_err());
    }

    #[test]
    fn grouping_keeps_arrival_order_and_the_first_of_equal_samples() {
        let batch = |ts: &[i64], v: f64| WriteRequest {
            series: vec![Series {
                samples: ts.iter().map(|&t| Sample::new(v, t)).collect(),
                ..Series::from_pairs([("__name__", "m")])
            }],
            metadata: Vec::new(),
        };
        let (a, b) = (batch(&[10, 20], 1.0), batch(&[20, 5, 30], 2.0));
        let other = WriteRequest { series: vec![Series::from_pairs([("__name__", "n")])], metadata: Vec::new() };
        let grouped = group([&a, &other, &b]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[1].key, r#"{"__name__":"n"}"#);
        assert_eq!(grouped[0].samples.iter().map(|s| s.timestamp).collect::<Vec<_>>(), [10, 20, 20, 5, 30]);
        let merged = merge_samples([grouped[0].samples.clone(), vec![Sample::new(STALE_NAN, 30)]]);
        assert_eq!(
            merged,
            [Sample::new(2.0, 5), Sample::new(1.0, 10), Sample::new(1.0, 20), Sample::new(2.0, 30)],
            "sorted, and the first write of 20 and of 30 wins"
        );
    }

    #[test]
    fn durations_and_times_parse_as_prometheus_writes_them() {
        assert_eq!(parse_duration("15d"), Ok(15 * 86_400_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        for bad in ["", "15", "d", "1x", "99999999999999999999y"] {
            assert!(parse_duration(bad).unwrap_err().to_string().contains("bad duration"), "{bad}");
        }
        assert_eq!(parse_time("start", "1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("start", "1700000000.25"), Ok(1_700_000_000_250));
        assert_eq!(parse_time("start", "-1.5"), Ok(-1_500));
        for bad in ["", "x", "1.2345", "1e9", "1.-5"] {
            assert!(parse_time("end", bad).unwrap_err().to_string().contains("bad end"), "{bad}");
        }
    }
}
