//! Browser RUM (issue 11), sans-I/O: pages push increments, the edge aggregates them into
//! proper cumulative series. Raw remote write from thousands of browsers cannot work: they
//! would all write the same series out of order, or add a label per session. Here:
//! - [`schema`]: what pages may push (declared metrics, labels, value ranges, buckets);
//! - [`check`]: a push, checked against the schema, as [`Delta`]s, or refused with reasons;
//! - [`aggregate`]: running totals per series, caps on label values, flushes of cumulative
//!   series in time order, stale markers for idle series.
//!
//! The Worker's `/api/v1/rum` decodes a push (remote write 1.0 or 2.0), checks it, and hands
//! each metric's deltas to that metric's aggregator Durable Object ([`aggregator_of`]: one
//! writer per output series), which stores the totals before the push is acknowledged and
//! flushes into the shards' ordered path on its alarm.

pub mod aggregate;
pub mod check;
pub mod schema;

pub use aggregate::{Aggregator, Config, Flush, OTHER, Total};
pub use check::{Change, Checked, Delta, check};
pub use schema::{Kind, Metric, Part, Schema, SchemaError};

/// Which of `aggregators` aggregators takes the deltas of `metric`: all of a metric's series
/// go to one, so a label's cap of values is exact and each output series has one writer.
pub fn aggregator_of(metric: &str, aggregators: u32) -> u32 {
    // XXH3, as the shards' routing: stable across releases and platforms.
    (xxhash_rust::xxh3::xxh3_64(metric.as_bytes()) % u64::from(aggregators.max(1))) as u32
}

/// The RUM endpoint's settings (the Worker's `RUM_*` vars).
#[derive(Clone, Debug, PartialEq)]
pub struct RumSettings {
    /// What pages may push (`RUM_SCHEMA` over the built-in schema).
    pub schema: Schema,
    /// How aggregators bound their state (`RUM_MAX_VALUES`, `RUM_IDLE`).
    pub aggregate: Config,
    /// Aggregator Durable Objects per tenant (`RUM_AGGREGATORS`, default 4); each metric has
    /// one ([`aggregator_of`]).
    pub aggregators: u32,
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
}

impl Default for RumSettings {
    fn default() -> Self {
        RumSettings {
            schema: Schema::default(),
            aggregate: Config::default(),
            aggregators: 4,
            flush_every_ms: 15_000,
            tenant: Some("anonymous".into()),
            edge_labels: Vec::new(),
            max_body_bytes: 65_536,
        }
    }
}

#[cfg(test)]
mod tests;
