//! The embedded backend (`BACKEND = "embedded"`, the default): each shard keeps its series in
//! its own SQLite database. The write path only appends the batch to the `batches` queue; an
//! alarm compacts the queue into one chunk row per series ([`compact`]); reads merge the chunks
//! with what is still queued ([`read`]). The decisions (grouping, chunk format, merge order,
//! selectors) are `edgewrite::store`'s; this file holds the SQL.

use edgewrite::store::compaction::{Compaction, Progress, next_start};
use edgewrite::store::read::{Reader, StoreError};
use edgewrite::store::{SeriesData, chunk};
use edgewrite::{Metadata, MetricType};
use std::cell::{Cell, RefCell};
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
    // (An index of an earlier release, billed a row written per chunk.)
    "DROP INDEX IF EXISTS chunks_by_time",
];

/// How often retention runs (recorded in `meta`): it reads a row per series (each series'
/// expired chunks are found through `chunks_by_series`: an index of their own on `max_ts`
/// would cost a row written per chunk, what a shard's storage is billed by).
const RETENTION_EVERY_MS: i64 = 3_600_000;

/// Most expired chunks one step deletes (the rest go in the next, at once): a day's worth
/// expiring at once after a long pause must not hold the shard either.
const EXPIRED_PER_STEP: i64 = 5000;

/// JavaScript numbers carry integers exactly up to 2^53: chunk bounds are clamped to that
/// (they only narrow what a read scans; the samples themselves keep their exact timestamps).
const SAFE: i64 = (1 << 53) - 1;

/// What a shard's instance keeps between events for its store: its series' ids and metadata
/// by key (a compaction touches the `series` table only for new series or changed metadata),
/// the compaction under way between its steps (what must survive a restart is recorded in
/// `meta`), and when retention runs next (recorded in `meta` too).
#[derive(Default)]
pub struct Store {
    series: RefCell<HashMap<String, (i64, Metadata<'static>)>>,
    compaction: RefCell<Option<Compaction>>,
    retention_at: Cell<Option<i64>>,
}

#[derive(serde::Deserialize)]
struct Queued {
    seq: i64,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    raw: i64,
    /// (Read by compaction only.)
    #[serde(default)]
    points: i64,
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

/// What one step of compaction did.
pub struct Compacted {
    /// Samples and histograms written to chunks.
    pub points: u64,
    /// When the next step should run (ms from now), if anything is left to do.
    pub next_ms: Option<u64>,
}

/// One step of a compaction (`edgewrite::store::compaction`): gathering a few queued batches
/// by series, or writing the next slice of series as chunks and recording how far it got (the
/// last slice removes the batches). Between compactions, every [`RETENTION_EVERY_MS`], steps
/// drop chunks past `retention_ms`, up to [`EXPIRED_PER_STEP`] each. Each step is one
/// synchronous run, which the Durable Object commits; appends run between steps. A step that
/// fails leaves the compaction to be resumed from what `meta` records (its writes, if any
/// were made, are written again: a read takes the first of equal timestamps, so nothing shows
/// twice). The next compaction starts after `compact_every_ms`, or at once if a whole one is
/// queued (`edgewrite::store::compaction::next_start`).
pub fn compact(
    sql: &SqlStorage,
    store: &Store,
    now_ms: i64,
    retention_ms: u64,
    compact_every_ms: u64,
) -> Result<Compacted> {
    // Out of the instance while the step runs: put back only when it succeeds.
    let mut samples = 0u64;
    let started = match store.compaction.take() {
        Some(c) => Some(c),
        None => start(sql, now_ms, compact_every_ms)?,
    };
    if let Some(mut c) = started {
        samples = step(sql, store, &mut c)?;
        if !c.is_done() {
            store.compaction.replace(Some(c));
            return Ok(Compacted { points: samples, next_ms: Some(0) });
        }
    }
    let mut expired_left = false;
    let retention_at = match store.retention_at.get() {
        Some(at) => at,
        None => crate::queue::meta(sql, RETENTION_AT)?.and_then(|v| v.parse().ok()).unwrap_or(0),
    };
    store.retention_at.set(Some(retention_at));
    if retention_at <= now_ms {
        let horizon = now_ms.saturating_sub(retention_ms.min(i64::MAX as u64) as i64).clamp(-SAFE, SAFE);
        // Series first (CROSS JOIN keeps SQLite to that order): a row per series and the
        // expired chunks, found through `chunks_by_series`.
        sql.exec(
            "DELETE FROM chunks WHERE id IN (SELECT c.id FROM series s CROSS JOIN chunks c \
             WHERE c.series = s.id AND c.max_ts < ? LIMIT ?)",
            vec![horizon.into(), EXPIRED_PER_STEP.into()],
        )?;
        let deleted: Vec<Count> = sql.exec("SELECT changes() AS n", None)?.to_array()?;
        // Fewer than the most one step deletes: done until the next run.
        expired_left = deleted.first().is_some_and(|c| c.n >= EXPIRED_PER_STEP);
        if !expired_left {
            let next = now_ms + RETENTION_EVERY_MS;
            crate::queue::set_meta(sql, RETENTION_AT, &next.to_string())?;
            store.retention_at.set(Some(next));
        }
    }
    let next = when_next(sql, now_ms, compact_every_ms)?;
    Ok(Compacted { points: samples, next_ms: if expired_left { Some(0) } else { next } })
}

/// When the next compaction should start (`edgewrite::store::compaction::next_start`), from
/// the queue's totals (its covering index).
fn when_next(sql: &SqlStorage, now_ms: i64, compact_every_ms: u64) -> Result<Option<u64>> {
    let q: Vec<Queue> = sql
        .exec("SELECT count(*) AS batches, sum(points) AS points, min(received_ms) AS oldest FROM batches", None)?
        .to_array()?;
    let q = q.into_iter().next().unwrap_or(Queue { batches: 0, points: None, oldest: None });
    Ok(next_start(q.batches.max(0) as u64, q.points.unwrap_or(0).max(0) as u64, q.oldest, now_ms, compact_every_ms))
}

/// One step of compaction `c`: gathering a few batches, or writing the next slice and recording
/// how far it got; once all is written the batches go, and the record. Returns the samples and
/// histograms written.
fn step(sql: &SqlStorage, store: &Store, c: &mut Compaction) -> Result<u64> {
    let mut samples = 0u64;
    if let Some(read) = c.next_read() {
        let (after, limit) = (read.after.into(), (read.limit as i64).into());
        let queued: Vec<Queued> = match read.until {
            Some(until) => sql.exec(
                "SELECT seq, body, raw, points FROM batches WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                vec![after, until.into(), limit],
            ),
            None => sql.exec(
                "SELECT seq, body, raw, points FROM batches WHERE seq > ? ORDER BY seq LIMIT ?",
                vec![after, limit],
            ),
        }?
        .to_array()?;
        for q in &queued {
            c.add(q.seq, q.points.max(0) as u64, &crate::queue::decode(&q.body, q.raw == 1)?);
        }
        c.gathered(queued.len());
    } else {
        let mut rows = ChunkRows::default();
        for data in c.next_slice() {
            let id = series_id(sql, &store.series, data)?;
            if data.samples.is_empty() && data.histograms.is_empty() && data.exemplars.is_empty() {
                // Family metadata only (1.0 senders send it apart): the series row holds it.
                continue;
            }
            samples += (data.samples.len() + data.histograms.len()) as u64;
            for part in rows_of(data) {
                rows.push(sql, id, bounds(&part), &part)?;
            }
        }
        rows.insert(sql)?;
        c.wrote();
        if !c.is_done() {
            crate::queue::set_meta(sql, PROGRESS, &c.progress().to_text())?;
        }
    }
    if c.is_done() {
        // (Nothing gathered: the queue was empty, or a recorded compaction's batches gone.)
        if !c.is_empty() {
            sql.exec("DELETE FROM batches WHERE seq <= ?", vec![c.progress().last_seq.into()])?;
        }
        crate::queue::delete_meta(sql, PROGRESS)?;
    }
    Ok(samples)
}

/// Most samples, histograms and exemplars in one chunk row: a series with more (a sparse
/// sender's backlog) takes several rows, each well within a row's 2 MB.
const ROW_SAMPLES: usize = 50_000;
/// See [`ROW_SAMPLES`].
const ROW_HISTOGRAMS: usize = 1_000;
/// See [`ROW_SAMPLES`].
const ROW_EXEMPLARS: usize = 4_000;

/// A series' data as chunk rows: itself, or parts of it within the row limits.
fn rows_of(data: &SeriesData) -> Vec<std::borrow::Cow<'_, SeriesData>> {
    use std::borrow::Cow;
    let (s, h, e) = (&data.samples, &data.histograms, &data.exemplars);
    if s.len() <= ROW_SAMPLES && h.len() <= ROW_HISTOGRAMS && e.len() <= ROW_EXEMPLARS {
        return vec![Cow::Borrowed(data)];
    }
    let mut parts: Vec<Cow<'_, SeriesData>> = s
        .chunks(ROW_SAMPLES)
        .map(|s| Cow::Owned(SeriesData { samples: s.to_vec(), ..SeriesData::default() }))
        .collect();
    parts.extend(
        h.chunks(ROW_HISTOGRAMS).map(|h| Cow::Owned(SeriesData { histograms: h.to_vec(), ..SeriesData::default() })),
    );
    parts.extend(
        e.chunks(ROW_EXEMPLARS).map(|e| Cow::Owned(SeriesData { exemplars: e.to_vec(), ..SeriesData::default() })),
    );
    parts
}

/// What the queue holds (from its covering index).
#[derive(serde::Deserialize)]
struct Queue {
    batches: i64,
    points: Option<i64>,
    oldest: Option<i64>,
}

/// Where the `meta` table records a compaction under way (`Progress::to_text`).
const PROGRESS: &str = "compaction";
/// Where the `meta` table records when retention runs next (ms).
const RETENTION_AT: &str = "retention_at";

/// Starts a compaction: the one recorded under way, else a new one of the oldest batches if
/// one is due (a step run for retention, or early, starts none).
fn start(sql: &SqlStorage, now_ms: i64, compact_every_ms: u64) -> Result<Option<Compaction>> {
    if let Some(p) = crate::queue::meta(sql, PROGRESS)?.and_then(|v| Progress::from_text(&v)) {
        return Ok(Some(Compaction::resume(p)));
    }
    Ok((when_next(sql, now_ms, compact_every_ms)? == Some(0)).then(Compaction::new))
}

#[derive(serde::Deserialize)]
struct Count {
    n: i64,
}

/// Most bytes of chunks one insert statement carries, unless one row's alone are more
/// (Cloudflare's SQLite takes strings and BLOBs of up to 2 MB; one statement per quarter MiB
/// costs nothing measurable).
const BULK_BYTES: usize = 1 << 18;

/// Chunk rows written by one statement: a statement per row cost about 40 µs in workerd's
/// `exec` (measured with `PROFILE=1 node benches/js/worker.mjs`), one for many rows about 6 µs
/// a row. The rows travel as two parameters: a JSON array with each row's series, bounds, and
/// where its three chunks lie in the other, a BLOB of all chunks one after another; SQLite
/// cuts them out (`substr` on a BLOB counts bytes, from 1).
#[derive(Default)]
struct ChunkRows {
    index: String,
    blob: Vec<u8>,
}

impl ChunkRows {
    /// Adds a row; first inserts the rows before it if its chunks would take the statement's
    /// BLOB past [`BULK_BYTES`].
    fn push(&mut self, sql: &SqlStorage, series: i64, (min, max): (i64, i64), data: &SeriesData) -> Result<()> {
        use std::fmt::Write;
        let samples = chunk::encode_samples(&data.samples);
        let histograms = chunk::encode_histograms(&data.histograms);
        // Most chunks have no exemplars: an empty column, not an empty chunk.
        let exemplars = if data.exemplars.is_empty() { Vec::new() } else { chunk::encode_exemplars(&data.exemplars) };
        if self.blob.len() + samples.len() + histograms.len() + exemplars.len() > BULK_BYTES {
            self.insert(sql)?;
        }
        let mut place = |chunk: &[u8]| {
            let at = self.blob.len() + 1;
            self.blob.extend_from_slice(chunk);
            (at, chunk.len())
        };
        let (s, h, e) = (place(&samples), place(&histograms), place(&exemplars));
        self.index.push(if self.index.is_empty() { '[' } else { ',' });
        let _ = write!(self.index, "[{series},{min},{max},{},{},{},{},{},{}]", s.0, s.1, h.0, h.1, e.0, e.1);
        Ok(())
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
fn series_id(
    sql: &SqlStorage,
    cache: &RefCell<HashMap<String, (i64, Metadata<'static>)>>,
    data: &SeriesData,
) -> Result<i64> {
    let mut cache = cache.borrow_mut();
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
