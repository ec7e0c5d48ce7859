//! Browser RUM (issue 11), sans-I/O: pages push increments, the edge aggregates them into
//! proper cumulative series. Raw remote write from thousands of browsers cannot work: they
//! would all write the same series out of order, or add a label per session. Here:
//! - [`schema`]: what pages may push (declared metrics, labels, value ranges, buckets);
//! - [`check`]: a push, checked against the schema, as [`Delta`]s, or refused with reasons;
//! - [`aggregate`]: running totals per series, caps on label values, flushes of cumulative
//!   series in time order, stale markers for idle series;
//! - [`recorder`]: the page's side, deltas kept between pushes and the push's bytes.
//!
//! The Worker's `/api/v1/rum` decodes a push (remote write 1.0 or 2.0), checks it, and hands
//! each metric's deltas to that metric's aggregator Durable Object ([`aggregator_name`]: one
//! per tenant and declared metric, so each output series has one writer, whatever changes),
//! which stores the totals before the push is acknowledged and flushes into the shards'
//! ordered path on its alarm.

pub mod aggregate;
pub mod check;
pub mod limit;
pub mod recorder;
pub mod schema;

pub use aggregate::{Aggregator, Config, Flush, OTHER, Total};
pub use check::{Change, Checked, Delta, check};
pub use recorder::{RecordError, Recorder, SeriesId};
pub use schema::{Kind, Metric, Part, Schema, SchemaError};

/// The name of the aggregator Durable Object that takes `tenant`'s deltas of `metric`: one per
/// declared metric, so a label's cap of values is exact and each output series has exactly one
/// writer (a count of aggregators to hash onto would move metrics, and give their series two
/// writers, whenever it changed).
pub fn aggregator_name(tenant: &str, metric: &str) -> String {
    format!("{tenant}/{metric}")
}

/// The RUM endpoint's settings (the Worker's `RUM_*` vars).
#[derive(Clone, Debug, PartialEq)]
pub struct RumSettings {
    /// What pages may push (`RUM_SCHEMA` over the built-in schema).
    pub schema: Schema,
    /// How aggregators bound their state (`RUM_MAX_VALUES`, `RUM_IDLE`).
    pub aggregate: Config,
    /// How often aggregators emit their totals (`RUM_FLUSH_EVERY`, default 15 s).
    pub flush_every_ms: u64,
    /// The tenant RUM data belongs to (`RUM_TENANT`; pages hold no token). `None`: RUM is off
    /// (the default unless `AUTH = "open"`, where it is `anonymous`).
    pub tenant: Option<String>,
    /// Labels the edge adds to pushed series, `$colo` and `$country` taking the request's
    /// (`RUM_EDGE_LABELS`, e.g. `country=$country`).
    pub edge_labels: Vec<(String, String)>,
    /// Largest push body (`RUM_MAX_BODY_BYTES`, default 64 KiB): 413 above.
    pub max_body_bytes: usize,
    /// Pushes per client (IP address) and minute (`RUM_RATE_LIMIT`, default `600/m`; `off`
    /// for none): 429 with `Retry-After` above.
    pub rate: Option<limit::Rate>,
}

impl Default for RumSettings {
    fn default() -> Self {
        RumSettings {
            schema: Schema::default(),
            aggregate: Config::default(),
            flush_every_ms: 15_000,
            tenant: Some("anonymous".into()),
            edge_labels: Vec::new(),
            max_body_bytes: 65_536,
            rate: Some(limit::Rate { per_minute: 600 }),
        }
    }
}

#[cfg(test)]
mod tests;
