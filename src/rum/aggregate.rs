//! The aggregator, sans-I/O: pushed [`Delta`]s in, running totals kept, and at every flush
//! the cumulative series out, timestamped with the flush time, so any backend sees
//! well-formed, monotonic, in-order series (a counter never resets because the edge did).
//!
//! Its Durable Object keeps each series' [`Total`] in SQLite (written before the push is
//! acknowledged, [`Aggregator::apply`] says which changed), loads them on start
//! ([`Aggregator::load`]), and on its alarm hands [`Aggregator::flush`]'s request to the
//! shards' ordered path. State stays bounded: a label past its cap of distinct values
//! ([`Config::max_values`]) takes the value `other`, a new series past the cap of series
//! ([`Config::max_series`]) takes it in every label, and a series without a push for
//! [`Config::idle_ms`] gets a stale marker and is forgotten.
//!
//! ```
//! use edgewrite::{Sample, rum::{Aggregator, Change, Config, Delta, Schema}};
//!
//! let mut agg = Aggregator::new(Schema::default(), Config::default());
//! let views = |n| Delta { metric: "rum_page_views_total".into(), labels: vec![("route".into(), "/".into())], change: Change::Add(n), at_ms: 1_000 };
//! agg.apply(vec![views(1.0), views(2.0)], 1_000);
//! let flush = agg.flush(15_000);
//! // A new series: 0 just before its first push, then its total at the flush time.
//! assert_eq!(flush.request.series[0].samples, [Sample::new(0.0, 999), Sample::new(3.0, 15_000)]);
//! ```

use super::check::{Change, Delta, Labels};
use super::schema::{Kind, Schema};
use crate::model::{Label, STALE_NAN, Sample, Series, WriteRequest};
use std::collections::{BTreeMap, BTreeSet};

/// How an aggregator bounds its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Most distinct values of one label of one metric (`RUM_MAX_VALUES`, default 100): later
    /// values take the value `other`.
    pub max_values: usize,
    /// Most series an aggregator keeps, of its one metric in the Worker (`RUM_MAX_SERIES`,
    /// default 10,000): past it a new series takes `other` for every label (so at most one
    /// series more per set of label names), since label caps alone multiply (three labels of
    /// 100 values are a million).
    pub max_series: usize,
    /// A series without a push for this long (ms; `RUM_IDLE`, default 30 minutes) gets a
    /// stale marker at the next flush and is forgotten.
    pub idle_ms: i64,
    /// How long an aggregator remembers the pushes it stored at least (ms; default an hour;
    /// they go at the first flush stored after it), by the id a page gives each push
    /// (`?push=`): a retry within it is acknowledged and not added again (a 503 after some
    /// aggregators stored a push would otherwise count those twice).
    pub push_memory_ms: i64,
}

impl Config {
    /// The pushes an aggregator may forget at `now_ms`: those stored before this time.
    pub fn pushes_forgotten_before(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.push_memory_ms)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config { max_values: 100, max_series: 10_000, idle_ms: 30 * 60_000, push_memory_ms: 60 * 60_000 }
    }
}

/// The value a label takes past its cap of distinct values.
pub const OTHER: &str = "other";

/// One series' running total, as its Durable Object stores it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Total {
    /// The declared metric.
    pub metric: String,
    /// Its labels (after the cap), without `__name__`, sorted.
    pub labels: Labels,
    /// The total: a counter's sum, a gauge's last value, a histogram's cumulative buckets,
    /// sum and count.
    pub value: Change,
    /// When a page last pushed to it (ms).
    pub pushed_ms: i64,
    /// When a page first pushed to it (ms; 0 in rows stored before this was kept).
    #[serde(default)]
    pub created_ms: i64,
    /// A gauge's: when its value was set (ms, [`Delta::at_ms`]; 0 in rows stored before this
    /// was kept). A value set earlier does not replace it.
    #[serde(default)]
    pub set_ms: i64,
}

impl Total {
    /// The key its row is stored under: the metric and labels as JSON.
    pub fn key(&self) -> String {
        key(&self.metric, &self.labels)
    }
}

fn key(metric: &str, labels: &Labels) -> String {
    serde_json::to_string(&(metric, labels)).unwrap_or_default()
}

/// What a flush hands on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flush {
    /// The cumulative series at the flush time (and stale markers for the idle ones), for the
    /// shards' ordered path.
    pub request: WriteRequest<'static>,
    /// The keys of the series forgotten (their rows go once the request is stored).
    pub forgotten: Vec<String>,
}

/// An aggregator's state. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Aggregator {
    schema: Schema,
    config: Config,
    totals: BTreeMap<String, Total>,
    /// The totals no flush has written yet.
    new: BTreeSet<String>,
    /// Distinct values seen per (metric, label name).
    values: BTreeMap<(String, String), BTreeSet<String>>,
    /// The last flush time: the next is later, whatever the clock says.
    last_flush_ms: i64,
    /// The last flush known (or, in memory, taken) to be stored: a new series' 0 goes after
    /// it, and a series created after it is new.
    written_ms: i64,
    /// Label values that took `other` (past [`Config::max_values`], or every label of a series
    /// past [`Config::max_series`]), since the aggregator started.
    pub folded: u64,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(schema: Schema, config: Config) -> Self {
        Aggregator {
            schema,
            config,
            totals: BTreeMap::new(),
            new: BTreeSet::new(),
            values: BTreeMap::new(),
            last_flush_ms: i64::MIN,
            written_ms: i64::MIN,
            folded: 0,
        }
    }

    /// Takes back the time of the last flush stored (on start): the next flush is later.
    pub fn flushed_at(&mut self, last_flush_ms: i64) {
        self.last_flush_ms = self.last_flush_ms.max(last_flush_ms);
    }

    /// Takes back the time of the last flush that was stored (on start, before
    /// [`Aggregator::load`]; the time [`Aggregator::last_flush_ms`] gave after it): series
    /// created since are new, their 0 not yet written, even if a later flush was attempted
    /// and failed. Without it, the last flush time stands for it.
    pub fn written_at(&mut self, written_ms: i64) {
        self.written_ms = self.written_ms.max(written_ms);
    }

    /// Takes back a stored total (on start, after [`Aggregator::flushed_at`] and
    /// [`Aggregator::written_at`]).
    pub fn load(&mut self, total: Total) {
        if self.written_ms == i64::MIN {
            self.written_ms = self.last_flush_ms;
        }
        // Rows stored before `created_ms` was kept (0) are not known to be new.
        if total.created_ms > 0 && total.created_ms > self.written_ms {
            self.new.insert(total.key());
        }
        for (n, v) in &total.labels {
            self.values.entry((total.metric.clone(), n.clone())).or_default().insert(v.clone());
        }
        self.totals.insert(total.key(), total);
    }

    /// The series it keeps.
    pub fn len(&self) -> usize {
        self.totals.len()
    }

    /// Whether it keeps none.
    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }

    /// When it last flushed (ms), if ever.
    pub fn last_flush_ms(&self) -> Option<i64> {
        (self.last_flush_ms != i64::MIN).then_some(self.last_flush_ms)
    }

    /// Adds a push's deltas at `now_ms`. Returns the totals that changed, to store before the
    /// push is acknowledged.
    pub fn apply(&mut self, deltas: Vec<Delta>, now_ms: i64) -> Vec<Total> {
        let mut changed: BTreeMap<String, ()> = BTreeMap::new();
        for mut d in deltas {
            let k = self.cap(&mut d);
            if !self.totals.contains_key(&k) {
                self.new.insert(k.clone());
            }
            let total = self.totals.entry(k.clone()).or_insert_with(|| Total {
                metric: d.metric.clone(),
                labels: d.labels.clone(),
                value: zero(&d.change),
                pushed_ms: now_ms,
                created_ms: now_ms,
                set_ms: i64::MIN,
            });
            total.pushed_ms = total.pushed_ms.max(now_ms);
            // A gauge's value set before the one it has (a late retry) is not taken.
            let late = match d.change {
                Change::Set(_) => {
                    // (Not in the future: a Delta without a time is set at its arrival.)
                    let set = d.at_ms.min(now_ms);
                    let late = set < total.set_ms;
                    total.set_ms = total.set_ms.max(set);
                    late
                }
                _ => false,
            };
            if !late {
                merge(&mut total.value, d.change);
            }
            changed.insert(k, ());
        }
        changed.keys().filter_map(|k| self.totals.get(k).cloned()).collect()
    }

    /// Labels past their cap of distinct values take the value [`OTHER`]; then, if that is a
    /// new series past the cap of series, every label does. Counts the labels it changed.
    /// Returns the key.
    fn cap(&mut self, d: &mut Delta) -> String {
        let mut folded = 0;
        for (name, value) in &mut d.labels {
            let seen = self.values.get(&(d.metric.clone(), name.clone()));
            let known = seen.is_some_and(|s| s.contains(value.as_str()));
            if !known && seen.map_or(0, BTreeSet::len) >= self.config.max_values {
                *value = OTHER.to_string();
                folded += 1;
            }
        }
        let mut k = key(&d.metric, &d.labels);
        if self.totals.len() >= self.config.max_series && !self.totals.contains_key(&k) {
            for (_, v) in d.labels.iter_mut().filter(|(_, v)| v != OTHER) {
                *v = OTHER.to_string();
                folded += 1;
            }
            k = key(&d.metric, &d.labels);
        }
        // Only the values a kept series takes count towards the caps.
        for (name, value) in &d.labels {
            self.values.entry((d.metric.clone(), name.clone())).or_default().insert(value.clone());
        }
        self.folded += folded;
        k
    }

    /// The cumulative series at `now_ms` (later than the last flush, whatever the clock
    /// says): every total; a series idle past [`Config::idle_ms`] gets its total and, a
    /// millisecond later, a stale marker, and is forgotten ([`Aggregator::last_flush_ms`] is
    /// then that later time).
    ///
    /// A counter or histogram first written by this flush starts with a 0 just before its
    /// first push (as Prometheus's created-timestamp zero ingestion does), so `rate` and
    /// `increase` count its first pushes too, not only the ones after its first flush.
    pub fn flush(&mut self, now_ms: i64) -> Flush {
        let previous = self.last_flush_ms;
        let ts = now_ms.max(previous.saturating_add(1));
        self.last_flush_ms = ts;
        let mut ended = false;
        let mut out = Flush::default();
        let idle = self.config.idle_ms;
        let mut forgotten = Vec::new();
        for (k, total) in &self.totals {
            let stale = ts.saturating_sub(total.pushed_ms) > idle;
            let Some(declared) = self.schema.metric(&total.metric) else {
                // No longer declared (the schema changed): forgotten.
                forgotten.push(k.clone());
                continue;
            };
            // New since the last flush stored: its zero goes between that flush and this one
            // (again at the same time if a flush that wrote it failed and some shard took it).
            let zero_ts = (total.created_ms - 1).max(self.written_ms.saturating_add(1));
            let zero = declared.kind != Kind::Gauge && self.new.contains(k) && zero_ts < ts;
            let mut emit = |suffix: &str, extra: Option<(&'static str, String)>, v: f64| {
                let mut labels: Vec<Label<'static>> =
                    total.labels.iter().map(|(n, v)| Label::new(n.clone(), v.clone())).collect();
                labels.push(Label::new("__name__", format!("{}{suffix}", total.metric)));
                if let Some((n, v)) = extra {
                    labels.push(Label::new(n, v));
                }
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                // Its last total is written before its end, whether or not a flush wrote it
                // already (one may have failed).
                let mut samples = vec![Sample::new(v, ts)];
                if zero {
                    samples.insert(0, Sample::new(0.0, zero_ts));
                }
                if stale {
                    samples.push(Sample::new(STALE_NAN, ts + 1));
                }
                out.request.series.push(Series { labels, samples, ..Series::default() });
            };
            match (&total.value, declared.kind) {
                (Change::Add(v) | Change::Set(v), Kind::Counter | Kind::Gauge) => emit("", None, *v),
                (Change::Observe { buckets, sum, count }, Kind::Histogram)
                    if buckets.len() == declared.buckets.len() + 1 =>
                {
                    for (bound, n) in
                        declared.buckets.iter().map(|b| super::schema::le(*b)).chain(["+Inf".into()]).zip(buckets)
                    {
                        emit("_bucket", Some(("le", bound)), *n);
                    }
                    emit("_sum", None, *sum);
                    emit("_count", None, *count);
                }
                // Its type or buckets changed with the schema: it starts again.
                _ => {
                    forgotten.push(k.clone());
                    continue;
                }
            }
            if stale {
                ended = true;
                forgotten.push(k.clone());
            }
        }
        if ended {
            self.last_flush_ms = ts + 1;
        }
        for k in &forgotten {
            self.totals.remove(k);
        }
        self.new.clear();
        // Taken as stored; if it was not, the platform starts again from what is stored.
        self.written_ms = self.last_flush_ms;
        // The values of forgotten series no longer count towards the caps.
        self.values.clear();
        for t in self.totals.values() {
            for (n, v) in &t.labels {
                self.values.entry((t.metric.clone(), n.clone())).or_default().insert(v.clone());
            }
        }
        out.forgotten = forgotten;
        out
    }
}

/// A total of nothing, of the same kind as `change`.
fn zero(change: &Change) -> Change {
    match change {
        Change::Add(_) => Change::Add(0.0),
        Change::Set(v) => Change::Set(*v),
        Change::Observe { buckets, .. } => Change::Observe { buckets: vec![0.0; buckets.len()], sum: 0.0, count: 0.0 },
    }
}

/// Adds `change` into `total`: a counter's increment, a gauge's new value, a histogram's
/// observations (a total of another kind or shape, from an older schema, is replaced).
fn merge(total: &mut Change, change: Change) {
    match (total, change) {
        (Change::Add(t), Change::Add(v)) => *t += v,
        (Change::Set(t), Change::Set(v)) => *t = v,
        (Change::Observe { buckets, sum, count }, Change::Observe { buckets: b, sum: s, count: c })
            if buckets.len() == b.len() =>
        {
            buckets.iter_mut().zip(b).for_each(|(t, v)| *t += v);
            *sum += s;
            *count += c;
        }
        (t, c) => *t = c,
    }
}
