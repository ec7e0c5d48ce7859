//! The embedded backend (`BACKEND = "embedded"`, the default): each shard keeps its series in
//! its own SQLite database. The write path only appends the batch to the `batches` queue; an
//! alarm compacts the queue into one chunk row per series ([`compact`]); reads merge the chunks
//! with what is still queued ([`read`]). The decisions (grouping, chunk format, merge order,
//! selectors) are `edgewrite::store`'s; this file holds the SQL.

use edgewrite::store::compaction::{Compaction, Progress};
use edgewrite::store::read::{Reader, StoreError};
use edgewrite::store::{self, SeriesData, chunk};
use edgewrite::{Metadata, MetricType};
use std::cell::RefCell;
use std::collections::HashMap;
use worker::{Result, SqlStorage, SqlStorageValue};

/// Tables of the embedded store (the queue table is the shard's own).
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, \
     type INTEGER NOT NULL DEFAULT 0, help TEXT NOT NULL DEFAULT '', unit TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, series INTEGER NOT NULL, \
     min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, samples BLOB NOT NULL, histograms BLOB NOT NULL, \
     exemplars BLOB NOT NULL DEFAULT x'')",
    "CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks (series, max_ts)",
    // Retention finds the expired chunks without a scan of them all.
    "CREATE INDEX IF NOT EXISTS chunks_by_time ON chunks (max_ts)",
];

/// Most queued batches one compaction takes (the rest wait for the next, at once). Its first
/// step decodes and groups them all, and holds the shard meanwhile.
const BATCHES_PER_COMPACTION: i64 = 50;

/// Most expired chunks one compaction deletes (the rest go in the next, at once): a day's worth
/// expiring at once after a long pause must not hold the shard either.
const EXPIRED_PER_COMPACTION: i64 = 5000;

/// JavaScript numbers carry integers exactly up to 2^53: chunk bounds are clamped to that
/// (they only narrow what a read scans; the samples themselves keep their exact timestamps).
const SAFE: i64 = (1 << 53) - 1;

/// What the shard remembers about its series between requests: id and metadata by key, so a
/// compaction touches the `series` table only for new series or changed metadata.
#[derive(Default)]
pub struct SeriesCache(RefCell<HashMap<String, (i64, Metadata<'static>)>>);

#[derive(serde::Deserialize)]
struct Queued {
    seq: i64,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    raw: i64,
}

#[derive(serde::Deserialize)]
struct SeriesRow {
    id: i64,
    key: String,
    #[serde(rename = "type")]
    kind: i64,
    help: String,
    unit: String,
}

#[derive(serde::Deserialize)]
struct ChunkRow {
    series: i64,
    #[serde(with = "serde_bytes")]
    samples: Vec<u8>,
    #[serde(with = "serde_bytes")]
    histograms: Vec<u8>,
    #[serde(with = "serde_bytes")]
    exemplars: Vec<u8>,
}

fn corrupt(what: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(format!("embedded store: {what}"))
}

/// Groups queued 2.0 bodies by series (they were encoded by the receiver, so they decode).
/// Each body is decoded in place (labels borrow from it) and only each distinct series' labels
/// are copied.
fn group(bodies: &[Queued]) -> Result<store::Grouper> {
    let mut grouper = store::Grouper::default();
    for q in bodies {
        grouper.add(&crate::queue::decode(&q.body, q.raw == 1)?);
    }
    Ok(grouper)
}

/// What one compaction did.
pub struct Compacted {
    /// Samples and histograms written to chunks.
    pub points: u64,
    /// Whether batches remain queued, or expired chunks.
    pub more: bool,
}

/// One step of a compaction (`edgewrite::store::compaction`): the first gathers up to
/// [`BATCHES_PER_COMPACTION`] queued batches by series, each writes the next slice of series as
/// chunks and records how far it got, and the last removes the batches. Between compactions a
/// step drops up to [`EXPIRED_PER_COMPACTION`] chunks past `retention_ms`. Each step is one
/// synchronous run, which the Durable Object commits atomically; appends run between steps.
pub fn compact(
    sql: &SqlStorage,
    cache: &SeriesCache,
    compaction: &RefCell<Option<Compaction>>,
    now_ms: i64,
    retention_ms: u64,
) -> Result<Compacted> {
    let mut state = compaction.borrow_mut();
    if state.is_none() {
        *state = gather(sql)?;
    }
    let mut samples = 0u64;
    if let Some(c) = state.as_mut() {
        let mut rows = ChunkRows::default();
        for data in c.next_slice() {
            let id = series_id(sql, cache, data)?;
            if data.samples.is_empty() && data.histograms.is_empty() && data.exemplars.is_empty() {
                // Family metadata only (1.0 senders send it apart): the series row holds it.
                continue;
            }
            samples += (data.samples.len() + data.histograms.len()) as u64;
            rows.push(id, bounds(data), data);
            if rows.blob.len() >= BULK_BYTES {
                rows.insert(sql)?;
            }
        }
        rows.insert(sql)?;
        let Progress { last_seq, written } = c.progress();
        if c.is_done() {
            sql.exec("DELETE FROM batches WHERE seq <= ?", vec![last_seq.into()])?;
            sql.exec("DELETE FROM meta WHERE key = ?", vec![PROGRESS.into()])?;
            *state = None;
        } else {
            crate::queue::set_meta(sql, PROGRESS, &format!("{last_seq} {written}"))?;
            return Ok(Compacted { points: samples, more: true });
        }
    }
    let horizon = now_ms.saturating_sub(retention_ms.min(i64::MAX as u64) as i64).clamp(-SAFE, SAFE);
    sql.exec(
        "DELETE FROM chunks WHERE id IN (SELECT id FROM chunks WHERE max_ts < ? LIMIT ?)",
        vec![horizon.into(), EXPIRED_PER_COMPACTION.into()],
    )?;
    let left: Vec<Count> = sql
        .exec(
            "SELECT EXISTS (SELECT 1 FROM batches) OR EXISTS (SELECT 1 FROM chunks WHERE max_ts < ?) AS n",
            vec![horizon.into()],
        )?
        .to_array()?;
    Ok(Compacted { points: samples, more: left.first().is_some_and(|c| c.n > 0) })
}

/// Where the `meta` table records a compaction under way (`last_seq written`).
const PROGRESS: &str = "compaction";

/// Starts a compaction: the one recorded under way (its batches gathered again), else the
/// oldest queued batches; `None` if nothing is queued.
fn gather(sql: &SqlStorage) -> Result<Option<Compaction>> {
    let recorded = crate::queue::meta(sql, PROGRESS)?.and_then(|v| {
        let (seq, written) = v.split_once(' ')?;
        Some(Progress { last_seq: seq.parse().ok()?, written: written.parse().ok()? })
    });
    let queued: Vec<Queued> = match recorded {
        Some(p) => sql.exec("SELECT seq, body, raw FROM batches WHERE seq <= ? ORDER BY seq", vec![p.last_seq.into()]),
        None => {
            sql.exec("SELECT seq, body, raw FROM batches ORDER BY seq LIMIT ?", vec![BATCHES_PER_COMPACTION.into()])
        }
    }?
    .to_array()?;
    let Some(last) = queued.last().map(|q| q.seq) else {
        if recorded.is_some() {
            // (Its batches are gone: nothing left to resume.)
            sql.exec("DELETE FROM meta WHERE key = ?", vec![PROGRESS.into()])?;
        }
        return Ok(None);
    };
    let series = group(&queued)?.finish();
    Ok(Some(match recorded {
        Some(p) => Compaction::resume(series, p),
        None => Compaction::new(series, last),
    }))
}

#[derive(serde::Deserialize)]
struct Count {
    n: i64,
}

/// Bytes of chunk data after which an insert statement goes (Cloudflare's SQLite takes strings
/// and BLOBs of up to 2 MB; one statement per quarter MiB costs nothing measurable).
const BULK_BYTES: usize = 1 << 18;

/// Chunk rows written by one statement: a statement per row cost about 40 µs in workerd, most
/// of it the crossing into JavaScript and back (measured with `PROFILE=1 node
/// benches/js/worker.mjs`), so the rows travel as two parameters: a JSON array with each row's
/// series, bounds, and where its three chunks lie in the other, a BLOB of all chunks one after
/// another; SQLite cuts them out (`substr` on a BLOB counts bytes, from 1).
#[derive(Default)]
struct ChunkRows {
    index: String,
    blob: Vec<u8>,
}

impl ChunkRows {
    fn push(&mut self, series: i64, (min, max): (i64, i64), data: &SeriesData) {
        use std::fmt::Write;
        let mut place = |chunk: &[u8]| {
            let at = self.blob.len() + 1;
            self.blob.extend_from_slice(chunk);
            (at, chunk.len())
        };
        let s = place(&chunk::encode_samples(&data.samples));
        let h = place(&chunk::encode_histograms(&data.histograms));
        // Most chunks have no exemplars: an empty column, not an empty chunk.
        let e = if data.exemplars.is_empty() { (1, 0) } else { place(&chunk::encode_exemplars(&data.exemplars)) };
        self.index.push(if self.index.is_empty() { '[' } else { ',' });
        let _ = write!(self.index, "[{series},{min},{max},{},{},{},{},{},{}]", s.0, s.1, h.0, h.1, e.0, e.1);
    }

    /// Inserts the rows pushed, in the order pushed (reads take a series' chunks in id order),
    /// and empties them.
    fn insert(&mut self, sql: &SqlStorage) -> Result<()> {
        if self.index.is_empty() {
            return Ok(());
        }
        self.index.push(']');
        sql.exec(
            "INSERT INTO chunks (series, min_ts, max_ts, samples, histograms, exemplars) \
             SELECT r->>0, r->>1, r->>2, substr(?2, r->>3, r->>4), substr(?2, r->>5, r->>6), substr(?2, r->>7, r->>8) \
             FROM (SELECT value AS r FROM json_each(?1) ORDER BY key)",
            vec![std::mem::take(&mut self.index).into(), std::mem::take(&mut self.blob).into()],
        )?;
        Ok(())
    }
}

/// The oldest and newest timestamp of a series' data (exemplars included), clamped to what
/// JavaScript carries.
fn bounds(data: &SeriesData) -> (i64, i64) {
    let ts = data.samples.iter().map(|s| s.timestamp).chain(data.histograms.iter().map(|h| h.timestamp));
    let ts = ts.chain(data.exemplars.iter().map(|e| e.timestamp));
    let (min, max) = ts.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    (min.clamp(-SAFE, SAFE), max.clamp(-SAFE, SAFE))
}

/// The series' id, creating its row, and its metadata brought up to date when the batch
/// carried some.
fn series_id(sql: &SqlStorage, cache: &SeriesCache, data: &SeriesData) -> Result<i64> {
    let mut cache = cache.0.borrow_mut();
    let fresh = !data.metadata.is_empty();
    if let Some((id, known)) = cache.get_mut(&data.key) {
        if fresh && *known != data.metadata {
            sql.exec("UPDATE series SET type = ?, help = ?, unit = ? WHERE id = ?", {
                let mut v = metadata_values(&data.metadata);
                v.push((*id).into());
                v
            })?;
            *known = data.metadata.clone();
        }
        return Ok(*id);
    }
    let mut values: Vec<SqlStorageValue> = vec![data.key.as_str().into()];
    values.extend(metadata_values(&data.metadata));
    sql.exec("INSERT INTO series (key, type, help, unit) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING", values)?;
    if fresh {
        let mut v = metadata_values(&data.metadata);
        v.push(data.key.as_str().into());
        sql.exec("UPDATE series SET type = ?, help = ?, unit = ? WHERE key = ?", v)?;
    }
    let rows: Vec<SeriesRow> = sql
        .exec("SELECT id, key, type, help, unit FROM series WHERE key = ?", vec![data.key.as_str().into()])?
        .to_array()?;
    let row = rows.into_iter().next().ok_or_else(|| corrupt("series row vanished"))?;
    cache.insert(row.key.clone(), (row.id, metadata_of(&row)));
    Ok(row.id)
}

fn metadata_values(m: &Metadata<'_>) -> Vec<SqlStorageValue> {
    vec![(m.metric_type.to_wire() as i64).into(), m.help.as_ref().into(), m.unit.as_ref().into()]
}

fn metadata_of(row: &SeriesRow) -> Metadata<'static> {
    Metadata {
        metric_type: MetricType::from_wire(row.kind as i32),
        help: row.help.clone().into(),
        unit: row.unit.clone().into(),
    }
}

/// A series with a chunk in a presence read's range.
#[derive(serde::Deserialize)]
struct PresentRow {
    series: i64,
}

/// A read (see `edgewrite::store::read::Reader`, which decides what is selected and how
/// chunks and queued batches merge): this runs its SQL. Returns the answer as an
/// `edgewrite::store::results` frame, or the store's own fault.
pub fn read(
    sql: &SqlStorage,
    mut reader: Reader<'_>,
    with_data: bool,
) -> Result<std::result::Result<Vec<u8>, StoreError>> {
    // Compacted series; listing series (with_data) skips those without chunks.
    let query = if with_data {
        "SELECT id, key, type, help, unit FROM series WHERE EXISTS (SELECT 1 FROM chunks WHERE chunks.series = series.id)"
    } else {
        "SELECT id, key, type, help, unit FROM series"
    };
    let rows: Vec<SeriesRow> = sql.exec(query, None)?.to_array()?;
    for row in &rows {
        if let Err(e) = reader.series(row.id, &row.key, metadata_of(row)) {
            return Ok(Err(e));
        }
    }
    let ids = reader.chunk_series();
    if let Some((start, end)) = reader.range().filter(|_| !ids.is_empty()) {
        let ids = serde_json::to_string(&ids).map_err(corrupt)?;
        let bounds = vec![ids.into(), start.clamp(-SAFE, SAFE).into(), end.clamp(-SAFE, SAFE).into()];
        if reader.is_presence_only() {
            // Which series have a chunk in the range; no chunk is read.
            let rows: Vec<PresentRow> = sql
                .exec(
                    "SELECT DISTINCT series FROM chunks WHERE series IN (SELECT value FROM json_each(?)) \
                     AND max_ts >= ? AND min_ts <= ?",
                    bounds,
                )?
                .to_array()?;
            for row in rows {
                if let Err(e) = reader.present(row.series) {
                    return Ok(Err(e));
                }
            }
        } else {
            // Row by row, so a read over its sample limit stops before the rest is loaded; only
            // the columns the read returns.
            let query = if reader.is_exemplars_only() {
                "SELECT series, x'' AS samples, x'' AS histograms, exemplars FROM chunks \
                 WHERE series IN (SELECT value FROM json_each(?)) AND max_ts >= ? AND min_ts <= ? \
                 AND length(exemplars) > 0 ORDER BY id"
            } else {
                "SELECT series, samples, histograms, x'' AS exemplars FROM chunks \
                 WHERE series IN (SELECT value FROM json_each(?)) AND max_ts >= ? AND min_ts <= ? ORDER BY id"
            };
            let cursor = sql.exec(query, bounds)?;
            for row in cursor.next::<ChunkRow>() {
                let c = row?;
                if let Err(e) = reader.chunk(c.series, &c.samples, &c.histograms, &c.exemplars) {
                    return Ok(Err(e));
                }
            }
        }
    }
    let queued: Vec<Queued> = sql.exec("SELECT seq, body, raw FROM batches ORDER BY seq", None)?.to_array()?;
    for q in &queued {
        match crate::queue::decode(&q.body, q.raw == 1) {
            Ok(batch) => reader.queued(&batch),
            Err(e) => return Ok(Err(StoreError::CorruptBatch(e.to_string()))),
        }
    }
    Ok(reader.finish())
}
