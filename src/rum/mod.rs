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
    crate::receiver::route::shard_of(xxhash_rust::xxh3::xxh3_64(metric.as_bytes()), aggregators)
}

#[cfg(test)]
mod tests;
