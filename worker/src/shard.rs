//! A shard: a Durable Object that appends each batch to its SQLite queue before the write is
//! acknowledged, then, from an alarm, hands the queue on in order to the backend: the embedded
//! store (`embedded.rs`) or an upstream remote-write endpoint (`deliver.rs`).

use crate::config::{self, Backend};
use crate::queue::{self, count, decode};
use crate::{deliver, embedded};
use edgewrite::error::HttpStatus;
use edgewrite::receiver::config::{ConfigError, QUEUE_FULL, WorkerConfig};
use edgewrite::sender::forward::Forwarder;
use edgewrite::store::read::Reader;
use std::cell::RefCell;
use std::time::Duration;
use worker::*;

/// Header that carries the tenant from the Worker to the shard.
pub const TENANT_HEADER: &str = "X-Edgewrite-Tenant";
/// Header that carries the number of samples, histograms and exemplars in a batch.
pub const POINTS_HEADER: &str = "X-Edgewrite-Points";
/// Header that carries the shard's layout (the `SHARD_COUNT` it was chosen by).
pub const LAYOUT_HEADER: &str = "X-Edgewrite-Layout";
/// Header that carries when the Worker received the request (ms): the time the reorder
/// window's refusals were decided by, so the shard's release rounds judge by the same.
pub const RECEIVED_HEADER: &str = "X-Edgewrite-Received";

/// One shard's durable queue, and its embedded store.
#[durable_object]
pub struct Shard {
    state: State,
    env: Env,
    sql: SqlStorage,
    store: embedded::Store,
    /// Whether `meta` already holds this shard's tenant and layout (written once).
    known: std::cell::Cell<bool>,
    /// The configuration, parsed once per instance.
    config: std::result::Result<WorkerConfig, ConfigError>,
    /// With `remote_write`: the forwarding state (protocol after a fallback, backoff), for
    /// as long as the instance lives; what must survive a restart is in the queue.
    forwarder: Option<RefCell<Forwarder>>,
    /// With `remote_write`: when a failed send may be retried (`deliver::retry_at`).
    retry_at: std::cell::Cell<i64>,
    /// The bytes in the queue (`batches` and `incoming`), counted from SQLite when unknown:
    /// appends add to it; the alarm (the only one that removes rows) forgets it.
    queued_bytes: std::cell::Cell<Option<u64>>,
    /// When the alarm will run, as this instance last set or read it: appends then skip asking
    /// the storage (a tenth of an append's cost). The alarm handler forgets it.
    alarm_at: std::cell::Cell<Option<i64>>,
}

/// A durable counter of a shard.
#[derive(serde::Deserialize, serde::Serialize)]
pub struct Counter {
    /// `stored_points`, `samples_total`, ... (`edgewrite::receiver::metrics::ShardStats`).
    pub name: String,
    /// Its value.
    pub value: u64,
}

/// What a shard's `/stats` answers: its queues (`batches` and `incoming`) and its counters.
#[derive(serde::Deserialize, serde::Serialize)]
pub struct Stats {
    /// Batches waiting.
    pub queued_batches: u64,
    /// Samples, histograms and exemplars in them.
    pub queued_points: u64,
    /// Their bytes.
    #[serde(default)]
    pub queued_bytes: u64,
    /// When the oldest of them was received, if any.
    pub oldest_received_ms: Option<i64>,
    /// The linear memory of the WebAssembly instance serving the shard.
    #[serde(default)]
    pub wasm_memory_bytes: u64,
    /// The durable counters.
    pub counters: Vec<Counter>,
}

/// Appends each batch to its shard of `tenant` (of `shards`), all at once: the futures of
/// the shards' answers (204 once stored).
pub fn appends(
    env: &Env,
    tenant: &str,
    batches: &[edgewrite::receiver::ShardBatch],
    shards: u32,
    received_ms: i64,
) -> Result<Vec<impl std::future::Future<Output = Result<Response>> + use<>>> {
    let namespace = env.durable_object(crate::SHARDS)?;
    let mut appends = Vec::with_capacity(batches.len());
    for batch in batches {
        let stub = config::shard_stub(&namespace, tenant, batch.shard, shards)?;
        let headers = Headers::new();
        headers.set(TENANT_HEADER, tenant)?;
        headers.set(LAYOUT_HEADER, &shards.to_string())?;
        headers.set(RECEIVED_HEADER, &received_ms.to_string())?;
        let c = batch.counts;
        headers.set(POINTS_HEADER, &(c.samples + c.histograms + c.exemplars).to_string())?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(js_sys::Uint8Array::from(&batch.body[..]).into()));
        let request = Request::new_with_init("https://shard/append", &init)?;
        appends.push(async move { stub.fetch_with_request(request).await });
    }
    Ok(appends)
}

/// Asks a shard for its [`Stats`].
pub async fn stats(stub: &Stub) -> Result<Stats> {
    stub.fetch_with_str("https://shard/stats").await?.json().await
}

#[derive(serde::Deserialize)]
struct QueueRow {
    batches: i64,
    points: Option<i64>,
    bytes: Option<i64>,
    oldest: Option<i64>,
}

/// Queues a raw 2.0 `body` holding `points` in `table` (`batches`, or `incoming` for the
/// reorder window), received at `received_ms`.
fn enqueue(sql: &SqlStorage, table: &str, received_ms: i64, tenant: &str, body: Vec<u8>, points: i64) -> Result<()> {
    let bytes = body.len() as i64;
    sql.exec(
        &format!("INSERT INTO {table} (received_ms, tenant, body, points, raw, bytes) VALUES (?, ?, ?, ?, 1, ?)"),
        vec![received_ms.into(), tenant.into(), body.into(), points.into(), bytes.into()],
    )?;
    Ok(())
}

/// Adds `column` to `table` unless it has it (tables created by an older release); whether it
/// did.
fn add_column(sql: &SqlStorage, table: &str, column: &str, declaration: &str) -> bool {
    let has = sql
        .exec("SELECT count(*) AS n FROM pragma_table_info(?) WHERE name = ?", vec![table.into(), column.into()])
        .and_then(|c| c.to_array::<Count>())
        .is_ok_and(|rows| rows.first().is_some_and(|r| r.n > 0));
    if !has {
        sql.exec(&format!("ALTER TABLE {table} ADD COLUMN {column} {declaration}"), None)
            .expect("add a column to a shard's table");
    }
    !has
}

impl DurableObject for Shard {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        for statement in queue::SCHEMA.iter().chain(embedded::SCHEMA) {
            sql.exec(statement, None).expect("create the shard's tables");
        }
        // Added after the first release: tables created before lack the columns. `raw` = 1
        // marks uncompressed bodies (older rows are snappy-compressed); chunks written before
        // exemplars were kept have none.
        add_column(&sql, "batches", "points", "INTEGER NOT NULL DEFAULT 0");
        add_column(&sql, "batches", "raw", "INTEGER NOT NULL DEFAULT 0");
        add_column(&sql, "chunks", "exemplars", "BLOB NOT NULL DEFAULT x''");
        // Each batch's size, and an index of the queue's totals: a column after the body is
        // read by walking the body's overflow pages, so the totals come from the index alone
        // (counting them from the rows read each body whole: most of an append's cost).
        for table in ["batches", "incoming"] {
            if add_column(&sql, table, "bytes", "INTEGER NOT NULL DEFAULT 0") {
                sql.exec(&format!("UPDATE {table} SET bytes = length(body)"), None).expect("count queued bytes");
            }
            let index = format!("CREATE INDEX IF NOT EXISTS {table}_totals ON {table} (received_ms, points, bytes)");
            sql.exec(&index, None).expect("index the queue's totals");
        }
        let config = config::parse(&env);
        let forwarder = match &config {
            Ok(WorkerConfig { backend: Backend::RemoteWrite(upstream), .. }) => {
                let seed = (js_sys::Math::random() * u64::MAX as f64) as u64;
                Some(RefCell::new(Forwarder::new(upstream.forward.clone(), seed)))
            }
            _ => None,
        };
        let known = std::cell::Cell::new(false);
        // Only a forwarding shard waits for retries: the embedded store's start-up skips the read.
        let retry_at = std::cell::Cell::new(if forwarder.is_some() { deliver::retry_at(&sql).unwrap_or(0) } else { 0 });
        let queued_bytes = std::cell::Cell::new(None);
        Shard {
            state,
            env,
            sql,
            store: embedded::Store::default(),
            known,
            config,
            forwarder,
            retry_at,
            queued_bytes,
            alarm_at: std::cell::Cell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/append") => {
                let tenant = req.headers().get(TENANT_HEADER)?.unwrap_or_default();
                let points: i64 = req.headers().get(POINTS_HEADER)?.and_then(|p| p.parse().ok()).unwrap_or(0);
                let layout = req.headers().get(LAYOUT_HEADER)?.unwrap_or_default();
                let received: Option<i64> = req.headers().get(RECEIVED_HEADER)?.and_then(|r| r.parse().ok());
                let body = req.bytes().await?;
                let now = received.unwrap_or_else(|| Date::now().as_millis() as i64);
                if !self.known.replace(true) {
                    for (key, value) in [("tenant", &tenant), ("layout", &layout)] {
                        self.sql.exec(
                            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                            vec![key.into(), value.as_str().into()],
                        )?;
                    }
                }
                let config = self.config()?;
                // A full queue takes nothing more: the write is answered 503, not acknowledged.
                let queued = match self.queued_bytes.get() {
                    Some(bytes) => bytes,
                    None => self.queue()?.bytes.unwrap_or(0) as u64,
                };
                if !config.queue_takes(queued, body.len() as u64) {
                    self.queued_bytes.set(Some(queued));
                    // Whatever became of the last alarm, one drains the queue: the embedded store
                    // compacts at once (a full queue holds a whole compaction); forwarding keeps
                    // the retry it waits for.
                    let by = if matches!(config.backend, Backend::Embedded { .. }) { now } else { i64::MAX };
                    self.alarm_by(by, 0).await?;
                    return Response::error(QUEUE_FULL, 503);
                }
                let bytes = body.len() as u64;
                let backend = &config.backend;
                let window = config.settings.reorder_window_ms.filter(|_| matches!(backend, Backend::RemoteWrite(_)));
                let table = if window.is_some() { "incoming" } else { "batches" };
                enqueue(&self.sql, table, now, &tenant, body, points)?;
                // (No await since `queued` was read: it is still the queue's size.)
                self.queued_bytes.set(Some(queued + bytes));
                // Upstream delivery starts at once (with a reorder window, release rounds run
                // every second); compaction waits a while, so that a chunk holds more than one
                // request's samples (reads see the queue meanwhile).
                let delay = match *backend {
                    Backend::Embedded { compact_every_ms, .. } => compact_every_ms,
                    Backend::RemoteWrite(_) => match window {
                        Some(w) => w.min(RELEASE_EVERY_MS),
                        // A retry that waits (backoff, Retry-After) is not cut short by writes.
                        None => (self.retry_at.get() - Date::now().as_millis() as i64).max(0) as u64,
                    },
                };
                self.alarm_by(now + delay as i64, delay).await?;
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Get, "/read") => {
                let url = req.url()?;
                let mut selectors = Vec::new();
                let (mut start, mut end) = (None, None);
                let mut with_data = true;
                let mut limit = usize::MAX;
                let mut presence = false;
                let mut exemplars = false;
                for (k, v) in url.query_pairs() {
                    match k.as_ref() {
                        "match[]" => selectors
                            .push(edgewrite::query::parse_selector(&v).map_err(|e| Error::RustError(e.to_string()))?),
                        "start" => start = v.parse::<i64>().ok(),
                        "end" => end = v.parse::<i64>().ok(),
                        "what" if v == "series" => presence = true,
                        "what" if v == "exemplars" => exemplars = true,
                        "what" => with_data = v != "metadata",
                        "limit" => limit = v.parse().unwrap_or(usize::MAX),
                        _ => {}
                    }
                }
                let mut reader = Reader::new(&selectors, start.zip(end), with_data).with_limit(limit);
                if presence {
                    reader = reader.presence_only();
                }
                if exemplars {
                    reader = reader.exemplars_only();
                }
                match embedded::read(&self.sql, reader, with_data)? {
                    Ok(frame) => Ok(Response::from_bytes(frame)?),
                    // The store's own fault: said as such, never as the client's.
                    Err(e) => Response::error(e.to_string(), e.status()),
                }
            }
            (Method::Get, "/stats") => {
                let q = self.queue()?;
                let counters: Vec<Counter> = self.sql.exec("SELECT name, value FROM counters", None)?.to_array()?;
                Response::from_json(&Stats {
                    queued_batches: q.batches as u64,
                    queued_points: q.points.unwrap_or(0) as u64,
                    queued_bytes: q.bytes.unwrap_or(0) as u64,
                    oldest_received_ms: q.oldest,
                    wasm_memory_bytes: crate::wasm_memory_bytes(),
                    counters,
                })
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // Rows go here: the queue's bytes are counted again at the next append, however the
        // alarm ends.
        self.queued_bytes.set(None);
        self.alarm_at.set(None);
        let next = self.hand_on().await;
        self.queued_bytes.set(None);
        if let Some(ms) = next? {
            // At least 1 ms: an alarm set from its handler for the very time the handler ran
            // (workerd's clock stands still while it runs) may be taken as the one that ran,
            // and dropped with it. Not remembered: the next append asks the storage, so a
            // dropped alarm is set again.
            self.state.storage().set_alarm(Duration::from_millis(ms.max(1))).await?;
        }
        Response::ok("done")
    }
}

#[derive(serde::Deserialize)]
struct Count {
    n: i64,
}

/// How often a shard with a reorder window runs a release round while it holds samples.
const RELEASE_EVERY_MS: u64 = 1000;

#[derive(serde::Deserialize)]
struct Incoming {
    seq: i64,
    received_ms: i64,
    tenant: String,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    raw: i64,
}

impl Shard {
    /// Makes sure an alarm runs by `due` (ms): unless one is set no later, sets one `delay` ms
    /// from now.
    async fn alarm_by(&self, due: i64, delay: u64) -> Result<()> {
        let at = match self.alarm_at.get() {
            Some(at) => Some(at),
            None => self.state.storage().get_alarm().await?,
        };
        match at {
            Some(at) if at <= due => self.alarm_at.set(Some(at)),
            _ => self.set_alarm(delay).await?,
        }
        Ok(())
    }

    /// Sets the alarm `ms` from now (replacing any), and remembers when it runs.
    async fn set_alarm(&self, ms: u64) -> Result<()> {
        self.state.storage().set_alarm(Duration::from_millis(ms)).await?;
        self.alarm_at.set(Some(Date::now().as_millis() as i64 + ms as i64));
        Ok(())
    }

    /// The alarm's work: hands the queue on (upstream, or into the store's chunks). When to
    /// run again, if at all.
    async fn hand_on(&self) -> Result<Option<u64>> {
        let config = self.config()?;
        let next = match &config.backend {
            Backend::RemoteWrite(upstream) => {
                let now = Date::now().as_millis() as i64;
                let release = match config.settings.reorder_window_ms {
                    Some(window) => self.release(window, now)?,
                    None => self.flush_incoming()?,
                };
                let forwarder = self.forwarder.as_ref().ok_or_else(|| Error::RustError("no forwarder".into()))?;
                let deliver = if self.previous_layout_drained().await? {
                    deliver::deliver(&self.sql, upstream, forwarder, &self.retry_at).await?
                } else {
                    // Series this shard took over may still wait in the previous layout's
                    // shards: delivering now could put their newer samples upstream first.
                    Some(1000)
                };
                [release, deliver].into_iter().flatten().min()
            }
            &Backend::Embedded { retention_ms, compact_every_ms } => {
                self.flush_incoming()?;
                let now = Date::now().as_millis() as i64;
                let done = embedded::compact(&self.sql, &self.store, now, retention_ms, compact_every_ms)?;
                count(&self.sql, &[("stored_points", done.points)])?;
                // Retention runs with compactions, at most hourly; an idle shard checks once a day.
                Some(done.next_ms.unwrap_or(86_400_000))
            }
        };
        Ok(next)
    }

    /// What the queue (`batches` and `incoming`) holds.
    fn queue(&self) -> Result<QueueRow> {
        let rows: Vec<QueueRow> = self
            .sql
            .exec(
                "SELECT sum(n) AS batches, sum(p) AS points, sum(b) AS bytes, min(o) AS oldest FROM \
                 (SELECT count(*) AS n, sum(points) AS p, sum(bytes) AS b, min(received_ms) AS o FROM batches \
                 UNION ALL SELECT count(*), sum(points), sum(bytes), min(received_ms) FROM incoming)",
                None,
            )?
            .to_array()?;
        rows.into_iter().next().ok_or_else(|| Error::RustError("an aggregate without a row".into()))
    }

    /// Moves what `incoming` holds to the delivery queue as it is: for a shard whose reorder
    /// window was switched off (or whose backend changed) while it held samples.
    fn flush_incoming(&self) -> Result<Option<u64>> {
        self.sql.exec(
            "INSERT INTO batches (received_ms, tenant, body, points, raw, bytes) \
             SELECT received_ms, tenant, body, points, raw, bytes FROM incoming ORDER BY seq",
            None,
        )?;
        self.sql.exec("DELETE FROM incoming", None)?;
        Ok(None)
    }

    /// The configuration (a misconfiguration fails every request and alarm, naming the var).
    fn config(&self) -> Result<&WorkerConfig> {
        self.config.as_ref().map_err(config::error)
    }

    /// A release round of the reorder window (`edgewrite::receiver::reorder::release_round`):
    /// the due samples go to the delivery queue sorted per series, the rest back to
    /// `incoming` as one batch; one synchronous step, so the Durable Object commits it whole.
    /// Returns when to run the next round, if anything is still held.
    fn release(&self, window: u64, now: i64) -> Result<Option<u64>> {
        let rows: Vec<Incoming> =
            self.sql.exec("SELECT seq, received_ms, tenant, body, raw FROM incoming ORDER BY seq", None)?.to_array()?;
        let Some(last) = rows.last() else { return Ok(None) };
        let decoded =
            rows.iter().map(|r| Ok((r.received_ms, decode(&r.body, r.raw == 1)?))).collect::<Result<Vec<_>>>()?;
        let round = edgewrite::receiver::reorder::release_round(&decoded, window, now);
        let mut encoder = edgewrite::codec::Encoder::new();
        let tenant = rows[0].tenant.as_str();
        self.sql.exec("DELETE FROM incoming WHERE seq <= ?", vec![last.seq.into()])?;
        for (table, series) in [("incoming", &round.held), ("batches", &round.due)] {
            if series.is_empty() {
                continue;
            }
            let points: u64 = series.iter().map(|s| s.counts()).map(|c| c.samples + c.histograms + c.exemplars).sum();
            let body = encoder.encode_v2_series_uncompressed(series.iter()).to_vec();
            enqueue(&self.sql, table, now, tenant, body, points as i64)?;
        }
        count(&self.sql, &[("reorder_refused_points", round.refused)])?;
        let next_due = round.held.iter().flat_map(|s| s.samples.first()).map(|s| s.timestamp).min();
        Ok(next_due.map(|ts| (ts.saturating_add(window as i64 + 1) - now).clamp(0, RELEASE_EVERY_MS as i64) as u64))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        queue::meta(&self.sql, key)
    }

    /// Whether this shard may deliver: always, unless it belongs to the current layout while
    /// `PREVIOUS_SHARD_COUNT` names another, and some shard of that previous layout still has
    /// batches queued. Once they were all seen empty, that is remembered (they take no more
    /// writes).
    async fn previous_layout_drained(&self) -> Result<bool> {
        let layouts = self.config()?.layouts;
        let Some(previous) = layouts.previous.filter(|&p| p != layouts.current) else { return Ok(true) };
        let mine = self.meta("layout")?.and_then(|l| l.parse::<u32>().ok());
        if mine != Some(layouts.current) || self.meta("drained")? == Some(previous.to_string()) {
            return Ok(true);
        }
        let tenant = self.meta("tenant")?.unwrap_or_default();
        let namespace = self.env.durable_object(crate::SHARDS)?;
        for shard in 0..previous {
            if stats(&config::shard_stub(&namespace, &tenant, shard, previous)?).await?.queued_batches > 0 {
                return Ok(false);
            }
        }
        self.sql.exec(
            "INSERT INTO meta (key, value) VALUES ('drained', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            vec![previous.to_string().into()],
        )?;
        Ok(true)
    }
}
