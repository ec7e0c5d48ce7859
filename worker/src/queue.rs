//! A shard's durable queue and counters in SQLite: the statements the shard, the forwarding
//! (`deliver.rs`) and the embedded store (`embedded.rs`) share. Only SQL lives here.

use edgewrite::sender::forward::Queued;
use worker::*;

/// The queue's tables: `batches` (what is acknowledged and not yet handed on), `incoming`
/// (held by the reorder window), `counters` (durable, read by `/metrics`), `meta` (who the
/// shard is: `tenant`, `layout`, and `drained`, the previous layout it has seen empty).
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, \
     tenant TEXT NOT NULL, body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS incoming (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, \
     tenant TEXT NOT NULL, body BLOB NOT NULL, points INTEGER NOT NULL DEFAULT 0, raw INTEGER NOT NULL DEFAULT 1)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
];

/// A queued batch.
#[derive(serde::Deserialize)]
pub struct Row {
    /// Its place in the queue.
    pub seq: i64,
    /// Its tenant.
    pub tenant: String,
    /// A remote write 2.0 request (raw protobuf if `raw` is 1, else snappy).
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// Failed attempts to forward it.
    pub attempts: i64,
    /// Samples, histograms and exemplars in it.
    pub points: i64,
    /// 1 for raw protobuf.
    pub raw: i64,
}

impl Row {
    /// The row as the forwarder reads it.
    pub fn as_queued(&self) -> Queued<'_> {
        Queued {
            seq: self.seq,
            tenant: &self.tenant,
            body: &self.body,
            raw: self.raw == 1,
            points: self.points.max(0) as u64,
            attempts: self.attempts.clamp(0, u32::MAX as i64) as u32,
        }
    }
}

/// The oldest `n` batches.
pub fn head(sql: &SqlStorage, n: usize) -> Result<Vec<Row>> {
    sql.exec(
        "SELECT seq, tenant, body, attempts, points, raw FROM batches ORDER BY seq LIMIT ?",
        vec![(n as i64).into()],
    )?
    .to_array()
}

/// Removes batches `first..=last` (handed on).
pub fn remove(sql: &SqlStorage, first: i64, last: i64) -> Result<()> {
    sql.exec("DELETE FROM batches WHERE seq BETWEEN ? AND ?", vec![first.into(), last.into()])?;
    Ok(())
}

/// Counts one more failed attempt on batch `seq`.
pub fn count_attempt(sql: &SqlStorage, seq: i64) -> Result<()> {
    sql.exec("UPDATE batches SET attempts = attempts + 1 WHERE seq = ?", vec![seq.into()])?;
    Ok(())
}

/// Adds to the shard's durable counters (read by `/metrics`).
pub fn count(sql: &SqlStorage, deltas: &[(&str, u64)]) -> Result<()> {
    for &(name, n) in deltas.iter().filter(|d| d.1 > 0) {
        sql.exec(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            vec![name.into(), (n as i64).into()],
        )?;
    }
    Ok(())
}

/// Decodes a queued body: raw 2.0 protobuf (`raw` = 1; labels borrow from the body), or
/// snappy-compressed (rows queued by earlier versions). A body that does not decode is the
/// program's own fault (its own bytes), reported as such.
pub fn decode(body: &[u8], raw: bool) -> Result<edgewrite::WriteRequest<'_>> {
    // The shard's own bytes, encoded by the receiver (or joined by a release round): they were
    // checked on the way in, and may be larger than one request.
    let limits = edgewrite::Limits::unlimited();
    let decoded = if raw {
        edgewrite::codec::v2::decode(body, &limits)
    } else {
        edgewrite::codec::decode_owned(body, edgewrite::Version::V2, &limits)
    };
    decoded.map_err(|e| Error::RustError(format!("a queued batch does not decode: {e}")))
}

#[derive(serde::Deserialize)]
struct Meta {
    value: String,
}

/// A value of the shard's `meta` table.
pub fn meta(sql: &SqlStorage, key: &str) -> Result<Option<String>> {
    let rows: Vec<Meta> = sql.exec("SELECT value FROM meta WHERE key = ?", vec![key.into()])?.to_array()?;
    Ok(rows.into_iter().next().map(|m| m.value))
}

/// Removes a value of the shard's `meta` table.
pub fn delete_meta(sql: &SqlStorage, key: &str) -> Result<()> {
    sql.exec("DELETE FROM meta WHERE key = ?", vec![key.into()])?;
    Ok(())
}

/// Sets a value of the shard's `meta` table.
pub fn set_meta(sql: &SqlStorage, key: &str, value: &str) -> Result<()> {
    sql.exec(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        vec![key.into(), value.into()],
    )?;
    Ok(())
}
