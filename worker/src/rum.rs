//! Browser RUM: `/api/v1/rum` and the aggregator Durable Objects. The decisions are the
//! core's (`edgewrite::receiver::Receiver::receive_rum` checks a push; `edgewrite::rum`'s
//! `Aggregator` keeps totals and flushes); this file moves pushes to aggregators, keeps each
//! aggregator's totals in its SQLite, and hands its flushes to the shards.
//!
//! An aggregator (one per declared metric of a tenant) stores a push's changed
//! totals before the push is acknowledged. On its alarm (every `RUM_FLUSH_EVERY` while it
//! keeps series) it emits every total at the flush time through the shards' ordered path,
//! the flush time stored first so a later flush is always later. A series forgotten (idle) is
//! deleted only once its stale marker is stored, and only if no push changed it meanwhile.

use crate::config;
use crate::shard;
use edgewrite::receiver::Receiver;
use edgewrite::receiver::config::{ConfigError, WorkerConfig};
use edgewrite::receiver::metrics::AggregatorStats;
use edgewrite::receiver::rum::{RumAccepted, RumOutcome};
use edgewrite::rum::limit::{Bucket, Rate};
use edgewrite::rum::{Aggregator, Delta, Flush, Total, aggregator_name};
use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::{Closure, JsValue};
use worker::*;

/// The Durable Object namespace of the aggregators.
pub const AGGREGATORS: &str = "AGGREGATORS";

/// Tables of an aggregator.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rum_totals (key TEXT PRIMARY KEY, total TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rum_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    // The pushes stored, by the page's id, for `push_memory_ms`: a retry is not added again.
    "CREATE TABLE IF NOT EXISTS rum_pushes (id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS rum_pushes_at ON rum_pushes (at)",
];

/// When a flush could not be stored, the next try.
const RETRY_MS: u64 = 5_000;

/// What the Worker sends an aggregator.
#[derive(serde::Serialize, serde::Deserialize)]
struct Push {
    tenant: String,
    /// The page's id for the push, the same on every try.
    #[serde(default)]
    id: Option<String>,
    deltas: Vec<Delta>,
}

/// `/api/v1/rum`: check the push, hand each aggregator its deltas (stored before this
/// answers), then answer.
pub async fn push(mut req: Request, env: &Env, config: &WorkerConfig) -> Result<Response> {
    let parts = crate::Parts::of(&req);
    let request = parts.request();
    let settings = &config.settings;
    let length: usize = req.headers().get("Content-Length")?.and_then(|l| l.parse().ok()).unwrap_or(0);
    // A body over the limit is not read.
    if let Some(r) = crate::with_receiver(settings, |r| r.rum_too_large(&config.rum, &request, length)) {
        return crate::reply(r);
    }
    // The client's rate (one limiter Durable Object per client address), before any work.
    if let (Some(rate), true) = (config.rum.rate, request.method == "POST") {
        let client = req.headers().get("CF-Connecting-IP")?.unwrap_or_else(|| "unknown".into());
        if let Some(wait) = limited(env, &client, rate).await {
            let refusal = crate::with_receiver(settings, |r| r.rum_rate_limited(&request, wait));
            crate::METRICS.with_borrow_mut(|m| m.observe_rum(429, None));
            return crate::reply(refusal);
        }
    }
    let body = if request.method == "POST" { req.bytes().await? } else { Vec::new() };
    let outcome = crate::with_receiver(settings, |r| r.receive_rum(&config.rum, &request, &body));
    let observe = |status: u16, accepted: Option<&RumAccepted>| {
        crate::METRICS.with_borrow_mut(|m| m.observe_rum(status, accepted));
    };
    let mut accepted = match outcome {
        RumOutcome::Reply(r) => {
            observe(r.status, None);
            return crate::reply(r);
        }
        RumOutcome::Accept(a) => a,
    };
    let namespace = env.durable_object(AGGREGATORS)?;
    let mut stores = Vec::new();
    for (metric, deltas) in std::mem::take(&mut accepted.pushes) {
        let stub = namespace.id_from_name(&aggregator_name(&accepted.tenant, &metric))?.get_stub()?;
        let push = Push { tenant: accepted.tenant.clone(), id: accepted.push.clone(), deltas };
        let body = serde_json::to_string(&push).map_err(|e| Error::RustError(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let request = Request::new_with_init("https://aggregator/push", &init)?;
        stores.push(async move { stub.fetch_with_request(request).await });
    }
    let stored = futures_util::future::join_all(stores).await;
    if !stored.iter().all(|s| matches!(s, Ok(r) if r.status_code() == 204)) {
        for failed in stored.iter().filter_map(|s| s.as_ref().err()) {
            console_error!("an aggregator did not store a push: {failed}");
        }
        // Nothing is acknowledged that is not stored. The page tries again with the same push
        // id: the aggregators that stored it acknowledge it without adding it again (a push
        // without an id, or retried after `push_memory_ms`, is added again: over, never lost).
        observe(503, None);
        return crate::reply(crate::with_receiver(settings, |r| {
            r.reply(&request, 503, "aggregation unavailable, retry\n")
        }));
    }
    observe(accepted.reply.status, Some(&accepted));
    crate::reply(accepted.reply)
}

/// Seconds `client` must wait before its next push, if it is over `rate`. A limiter that
/// cannot be asked lets the push through (its fault is not the page's), and says so in the log.
async fn limited(env: &Env, client: &str, rate: Rate) -> Option<u64> {
    let ask = async {
        let stub = env.durable_object(LIMITERS)?.id_from_name(&format!("client/{client}"))?.get_stub()?;
        let headers = Headers::new();
        headers.set(RATE_HEADER, &rate.per_minute.to_string())?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers);
        let mut answer = stub.fetch_with_request(Request::new_with_init("https://limiter/take", &init)?).await?;
        Ok::<_, Error>(if answer.status_code() == 429 { answer.text().await?.parse().ok() } else { None })
    };
    ask.await.unwrap_or_else(|e| {
        console_error!("the RUM rate limiter could not be asked, the push goes through: {e}");
        None
    })
}

/// The Durable Object namespace of the per-client rate limiters.
pub const LIMITERS: &str = "LIMITERS";

/// Header that carries `RUM_RATE_LIMIT` (pushes a minute) to a limiter.
const RATE_HEADER: &str = "X-Edgewrite-Rate";

/// One client's token bucket (in memory: a limiter that restarts starts full, which only
/// errs towards letting pushes through).
#[durable_object]
pub struct RumLimiter {
    bucket: std::cell::Cell<Bucket>,
}

impl DurableObject for RumLimiter {
    fn new(_state: State, _env: Env) -> Self {
        RumLimiter { bucket: std::cell::Cell::new(Bucket::default()) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let per_minute = req.headers().get(RATE_HEADER)?.and_then(|r| r.parse().ok()).unwrap_or(u32::MAX);
        let mut bucket = self.bucket.get();
        let taken = bucket.take(Rate { per_minute }, Date::now().as_millis() as i64);
        self.bucket.set(bucket);
        match taken {
            Ok(()) => Ok(Response::empty()?.with_status(204)),
            Err(wait) => Ok(Response::ok(wait.to_string())?.with_status(429)),
        }
    }
}

/// Every RUM aggregator's state, for `/metrics` (those of the RUM tenant).
pub async fn stats(env: &Env, config: &WorkerConfig) -> Vec<AggregatorStats> {
    let Some(tenant) = &config.rum.tenant else { return Vec::new() };
    let Ok(namespace) = env.durable_object(AGGREGATORS) else { return Vec::new() };
    let mut asks = Vec::new();
    for metric in config.rum.schema.names() {
        let Ok(stub) = namespace.id_from_name(&aggregator_name(tenant, metric)).and_then(|id| id.get_stub()) else {
            continue;
        };
        asks.push(async move {
            let stats: Stats = stub.fetch_with_str("https://aggregator/stats").await?.json().await?;
            Ok::<_, Error>(AggregatorStats {
                tenant: tenant.clone(),
                metric: metric.to_string(),
                series: stats.series,
                folded: stats.folded,
            })
        });
    }
    let mut out = Vec::new();
    for a in futures_util::future::join_all(asks).await {
        match a {
            Ok(a) => out.push(a),
            Err(e) => console_error!("a RUM aggregator's stats could not be read: {e}"),
        }
    }
    out
}

/// What an aggregator reports.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stats {
    series: u64,
    folded: u64,
}

/// One aggregator: a tenant's metric's running totals. See the module docs.
#[durable_object]
pub struct RumAggregator {
    state: State,
    env: Env,
    sql: SqlStorage,
    config: std::result::Result<WorkerConfig, ConfigError>,
    /// The totals, loaded from SQLite on first use; dropped when a flush or a push fails, so
    /// the next use starts again from what is stored.
    aggregator: RefCell<Option<Aggregator>>,
    /// How many times it was dropped: a flush that sees it dropped while it waited on the
    /// shards drops it again once done (what was reloaded meanwhile predates the flush).
    resets: std::cell::Cell<u64>,
}

#[derive(serde::Deserialize)]
struct TotalRow {
    total: String,
}

#[derive(serde::Deserialize)]
struct MetaRow {
    value: String,
}

impl RumAggregator {
    fn config(&self) -> Result<&WorkerConfig> {
        self.config.as_ref().map_err(config::error)
    }

    fn meta(&self, name: &str) -> Result<Option<String>> {
        let rows: Vec<MetaRow> =
            self.sql.exec("SELECT value FROM rum_meta WHERE name = ?", vec![name.into()])?.to_array()?;
        Ok(rows.into_iter().next().map(|r| r.value))
    }

    fn set_meta(&self, name: &str, value: &str) -> Result<()> {
        self.sql.exec(
            "INSERT INTO rum_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            vec![name.into(), value.into()],
        )?;
        Ok(())
    }

    /// Drops the aggregator: the next use loads what is stored.
    fn reset(&self) {
        *self.aggregator.borrow_mut() = None;
        self.resets.set(self.resets.get() + 1);
    }

    /// Runs `f` with the aggregator, loading the stored totals first if needed.
    fn with<R>(&self, f: impl FnOnce(&mut Aggregator) -> R) -> Result<R> {
        let mut slot = self.aggregator.borrow_mut();
        if slot.is_none() {
            let rum = &self.config()?.rum;
            let mut aggregator = Aggregator::new(rum.schema.clone(), rum.aggregate.clone());
            if let Some(last) = self.meta("last_flush_ms")?.and_then(|v| v.parse().ok()) {
                aggregator.flushed_at(last);
            }
            if let Some(written) = self.meta("written_ms")?.and_then(|v| v.parse().ok()) {
                aggregator.written_at(written);
            }
            let rows: Vec<TotalRow> = self.sql.exec("SELECT total FROM rum_totals", None)?.to_array()?;
            for row in rows {
                match serde_json::from_str::<Total>(&row.total) {
                    Ok(t) => aggregator.load(t),
                    Err(e) => console_error!("a stored RUM total does not read back, left out: {e}"),
                }
            }
            *slot = Some(aggregator);
        }
        Ok(f(slot.as_mut().expect("loaded above")))
    }

    /// Whether a push with this id was stored (within `push_memory_ms`).
    fn stored(&self, id: &str) -> Result<bool> {
        let rows: Vec<serde_json::Value> =
            self.sql.exec("SELECT 1 AS found FROM rum_pushes WHERE id = ?", vec![id.into()])?.to_array()?;
        Ok(!rows.is_empty())
    }

    /// Stores a push's changed totals, its id (for `push_memory_ms`: a retry is not added
    /// again) and the count of label values folded, in one transaction (`transactionSync`):
    /// all or nothing, so an id is never stored without its totals. One row write more per
    /// push for the id, and its index's.
    fn store(&self, changed: &[Total], id: Option<String>, folded: u64, now: i64) -> Result<()> {
        let mut rows = Vec::with_capacity(changed.len());
        for t in changed {
            rows.push((t.key(), serde_json::to_string(t).map_err(|e| Error::RustError(e.to_string()))?));
        }
        let sql = self.sql.clone();
        let write = move || -> Result<()> {
            for (key, json) in rows {
                sql.exec(
                    "INSERT INTO rum_totals (key, total) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET total = excluded.total",
                    vec![key.into(), json.into()],
                )?;
            }
            if let Some(id) = id {
                sql.exec("INSERT INTO rum_pushes (id, at) VALUES (?, ?)", vec![id.into(), now.into()])?;
            }
            if folded > 0 {
                sql.exec(
                    // (Numbers cross as JavaScript's floats: the sum is made of integers here.)
                    "INSERT INTO rum_meta (name, value) VALUES ('folded', ?1) ON CONFLICT (name) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + CAST(?1 AS INTEGER) AS TEXT)",
                    vec![folded.to_string().into()],
                )?;
            }
            Ok(())
        };
        transaction_sync(&self.state.storage(), write)
    }

    /// Stores a flush taken at `now` (its time `last`) through the shards' ordered path, then
    /// what follows from it being stored. Whether the aggregator keeps series (and so flushes
    /// again); an error if the flush was not stored.
    async fn send(&self, mut flush: Flush, last: i64, tenant: &str, now: i64) -> Result<bool> {
        let config = self.config()?;
        // Its time stored first: whatever happens to the sending, the next flush is later.
        self.set_meta("last_flush_ms", &last.to_string())?;
        // The rows of forgotten series, as they stand now: deleted after the flush is stored,
        // unless a push changes them meanwhile.
        let mut rows = Vec::new();
        for key in &flush.forgotten {
            let r: Vec<TotalRow> =
                self.sql.exec("SELECT total FROM rum_totals WHERE key = ?", vec![key.as_str().into()])?.to_array()?;
            rows.extend(r.into_iter().map(|r| (key.clone(), r.total)));
        }
        let settings = &config.settings;
        let (batches, refused) = Receiver::new(settings.clone()).route_own(&mut flush.request, tenant);
        if !refused.is_empty() {
            console_error!("RUM series the shards cannot take (the Worker's fault): {refused}");
        }
        let resets = self.resets.get();
        let appends = shard::appends(&self.env, tenant, &batches, settings.shards.max(1), now)?;
        let stored = futures_util::future::join_all(appends).await;
        for s in stored {
            let status = s?.status_code();
            if status != 204 {
                return Err(Error::RustError(format!("a shard answered {status}")));
            }
        }
        // Stored: series created before it are no longer new (their 0 is written).
        self.set_meta("written_ms", &last.to_string())?;
        let forget_before = config.rum.aggregate.pushes_forgotten_before(now);
        if let Err(e) = self.sql.exec("DELETE FROM rum_pushes WHERE at < ?", vec![forget_before.into()]) {
            console_error!("old RUM push ids could not be pruned (the next flush tries again): {e}");
        }
        for (key, total) in rows {
            self.sql.exec("DELETE FROM rum_totals WHERE key = ? AND total = ?", vec![key.into(), total.into()])?;
        }
        if self.resets.get() != resets {
            // Reloaded while this flush was on its way: with the series it forgot and the
            // zeros it wrote. Again, from what is stored now.
            self.reset();
        }
        // Without reloading: one dropped meanwhile loads at the next flush, which decides.
        Ok(self.aggregator.borrow().as_ref().is_none_or(|a| !a.is_empty()))
    }
}

/// Runs `write` in the storage's `transactionSync`: its SQL writes commit together, or, if it
/// fails, none does.
fn transaction_sync(storage: &Storage, write: impl FnOnce() -> Result<()> + 'static) -> Result<()> {
    let write = Closure::once(move || write().map_err(|e| JsValue::from(e.to_string())));
    let raw: &JsValue = storage.as_raw().as_ref();
    let run: js_sys::Function = js_sys::Reflect::get(raw, &"transactionSync".into())?.dyn_into()?;
    run.call1(raw, write.as_ref())?;
    Ok(())
}

impl DurableObject for RumAggregator {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        for statement in SCHEMA {
            sql.exec(statement, None).expect("create the aggregator's tables");
        }
        let config = config::parse(&env);
        RumAggregator { state, env, sql, config, aggregator: RefCell::new(None), resets: std::cell::Cell::new(0) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if (req.method(), req.path().as_str()) == (Method::Get, "/stats") {
            let series = self.with(|a| a.len() as u64)?;
            let folded = self.meta("folded")?.and_then(|v| v.parse().ok()).unwrap_or(0);
            return Response::from_json(&Stats { series, folded });
        }
        if (req.method(), req.path().as_str()) != (Method::Post, "/push") {
            return Response::error("not found", 404);
        }
        let push: Push = req.json().await?;
        let now = Date::now().as_millis() as i64;
        // A try of a push this aggregator stored already is acknowledged again, not added.
        let again = match &push.id {
            Some(id) => self.stored(id)?,
            None => false,
        };
        if !again {
            if self.meta("tenant")?.as_deref() != Some(push.tenant.as_str()) {
                self.set_meta("tenant", &push.tenant)?;
            }
            let (changed, folded) = self.with(|a| {
                let before = a.folded;
                let changed = a.apply(push.deltas, now);
                (changed, a.folded - before)
            })?;
            // Stored before the push is acknowledged, all or nothing: on a failure nothing is
            // stored and the page tries again; what is in memory may be ahead of what is
            // stored, so start again from what is stored.
            if let Err(e) = self.store(&changed, push.id, folded, now) {
                self.reset();
                return Err(e);
            }
        }
        // A flush is due within the interval: set one if none is (or if one is overdue, as
        // after a restart that missed it).
        let every = self.config()?.rum.flush_every_ms;
        if self.state.storage().get_alarm().await?.is_none_or(|at| at + (every as i64) < now) {
            self.state.storage().set_alarm(Duration::from_millis(every)).await?;
        }
        Ok(Response::empty()?.with_status(204))
    }

    async fn alarm(&self) -> Result<Response> {
        let config = self.config()?;
        let Some(tenant) = self.meta("tenant")? else { return Response::empty() };
        let now = Date::now().as_millis() as i64;
        // The flush, in one synchronous step.
        let (flush, last) = self.with(|a| {
            let f = a.flush(now);
            (f, a.last_flush_ms().unwrap_or(now))
        })?;
        // From here on, memory is flushed: if anything fails before the flush is stored, start
        // again from what is stored (the forgotten series come back, and go then) and try again.
        let next = match self.send(flush, last, &tenant, now).await {
            Ok(true) => config.rum.flush_every_ms,
            Ok(false) => return Response::empty(),
            Err(e) => {
                console_error!("a RUM flush could not be stored ({e}); it goes again in {RETRY_MS} ms");
                self.reset();
                RETRY_MS
            }
        };
        self.state.storage().set_alarm(Duration::from_millis(next)).await?;
        Response::empty()
    }
}
