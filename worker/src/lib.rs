//! edgewrite's Cloudflare Worker: accepts remote write, decides with
//! [`edgewrite::receiver::Receiver`] (sans-I/O), and appends each shard's batch to that shard's
//! Durable Object, durably, before it answers. This file only moves bytes between HTTP, the
//! receiver and the Durable Objects; the protocol logic lives in the core crate.

mod config;
mod deliver;
mod embedded;
mod query;
mod queue;
mod read;
mod rum;
mod shard;

use edgewrite::query::lookup::What;
use edgewrite::receiver::config::{Backend, QUEUE_FULL, QUEUE_FULL_RETRY_AFTER_S, WorkerConfig};
use edgewrite::receiver::metrics::{ShardStats, WorkerMetrics};
use edgewrite::receiver::{Outcome, Receiver, Reply, Request as RwRequest, Settings};
use std::cell::RefCell;
use worker::*;

pub use rum::{RumAggregator, RumLimiter};
pub use shard::Shard;

/// The Durable Object namespace of the shards.
pub(crate) const SHARDS: &str = "SHARDS";

thread_local! {
    /// One receiver per isolate, so its decode buffers are reused from request to request
    /// (rebuilt when the settings change).
    static RECEIVER: RefCell<Option<Receiver>> = const { RefCell::new(None) };
    /// This isolate's counters for `/metrics`.
    pub(crate) static METRICS: RefCell<WorkerMetrics> = RefCell::new(WorkerMetrics::default());
}

/// Runs `f` with the isolate's receiver for `settings`.
pub(crate) fn with_receiver<R>(settings: &Settings, f: impl FnOnce(&mut Receiver) -> R) -> R {
    RECEIVER.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|r| r.settings() != settings) {
            *slot = Some(Receiver::new(settings.clone()));
        }
        f(slot.as_mut().expect("set above"))
    })
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    let config = match config::get(&env) {
        Ok(config) => config,
        // The operator's to fix: the answer names the var (the details, which may name
        // tenants, go to the Worker's log), and none blames the client.
        Err((var, e)) => {
            console_error!("{e}");
            return Response::error(format!("edgewrite is misconfigured: setting {var} (see the Worker's log)\n"), 500);
        }
    };
    match (req.method(), path.as_str()) {
        (Method::Get, "/healthz") => Response::ok("ok\n"),
        (_, "/api/v1/write") => write(req, &env, &config).await,
        (_, "/api/v1/rum") => rum::push(req, &env, &config).await,
        (Method::Get | Method::Post, "/api/v1/series") => read::lookup(req, &env, &config, What::Series).await,
        (Method::Get | Method::Post, "/api/v1/labels") => read::lookup(req, &env, &config, What::Labels).await,
        (Method::Get, p) if label_of(p).is_some() => {
            let name = label_of(p).unwrap_or_default().to_string();
            read::lookup(req, &env, &config, What::Values(name)).await
        }
        (Method::Get | Method::Post, "/api/v1/query_exemplars") => read::exemplars(req, &env, &config).await,
        (Method::Get, "/api/v1/status/buildinfo") => read::json(200, edgewrite::query::api::BUILD_INFO.to_string()),
        (Method::Get, "/api/v1/samples") => read::read(&req, &env, &config, read::Read::Samples).await,
        (Method::Get, "/api/v1/metadata") => read::read(&req, &env, &config, read::Read::Metadata).await,
        (Method::Get, "/metrics") => metrics(&req, &env, &config).await,
        (Method::Get | Method::Post, "/api/v1/query") => query::query(req, &env, &config, false).await,
        (Method::Get | Method::Post, "/api/v1/query_range") => query::query(req, &env, &config, true).await,
        _ => Response::error(
            "not found: remote write goes to POST /api/v1/write, pages' RUM pushes to POST /api/v1/rum; reads to /api/v1/query, /api/v1/query_range, \
             /api/v1/query_exemplars, /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values, /api/v1/samples, /api/v1/metadata, \
             /api/v1/status/buildinfo; the Worker's metrics are at /metrics\n",
            404,
        ),
    }
}

/// The label name of a `/api/v1/label/<name>/values` path.
fn label_of(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/label/")?.strip_suffix("/values")
}

/// What the receiver reads of an HTTP request, owned (see [`Parts::request`]).
pub(crate) struct Parts {
    method: String,
    content_type: Option<String>,
    content_encoding: Option<String>,
    authorization: Option<String>,
    origin: Option<String>,
    colo: Option<String>,
    country: Option<String>,
    query: Option<String>,
    received_ms: i64,
}

impl Parts {
    pub(crate) fn of(req: &Request) -> Self {
        let header = |name: &str| req.headers().get(name).ok().flatten();
        // request.cf, read field by field (the worker crate's getters panic on a missing field).
        let cf = js_sys::Reflect::get(req.inner(), &"cf".into()).unwrap_or_default();
        let cf_field = |name: &str| js_sys::Reflect::get(&cf, &name.into()).ok().and_then(|v| v.as_string());
        let (colo, country) = if cf.is_object() { (cf_field("colo"), cf_field("country")) } else { (None, None) };
        Parts {
            method: req.method().to_string(),
            content_type: header("Content-Type"),
            content_encoding: header("Content-Encoding"),
            authorization: header("Authorization"),
            origin: header("Origin"),
            colo,
            country,
            query: req.url().ok().and_then(|u| u.query().map(str::to_string)),
            received_ms: Date::now().as_millis() as i64,
        }
    }

    pub(crate) fn request(&self) -> RwRequest<'_> {
        RwRequest {
            method: &self.method,
            content_type: self.content_type.as_deref(),
            content_encoding: self.content_encoding.as_deref(),
            authorization: self.authorization.as_deref(),
            origin: self.origin.as_deref(),
            received_ms: self.received_ms,
            colo: self.colo.as_deref(),
            country: self.country.as_deref(),
            query: self.query.as_deref(),
        }
    }
}

/// `/api/v1/write`: decide, store every batch in its shard, then answer.
async fn write(mut req: Request, env: &Env, config: &WorkerConfig) -> Result<Response> {
    let settings = &config.settings;
    let parts = Parts::of(&req);
    let request = parts.request();
    let header = |name: &str| req.headers().get(name).ok().flatten();
    if settings.limits.max_body_bytes < header("Content-Length").and_then(|l| l.parse().ok()).unwrap_or(0) {
        METRICS.with_borrow_mut(|m| m.observe(413, 0, None));
        let limit = settings.limits.max_body_bytes;
        let body = format!("request body over the size limit of {limit} bytes (MAX_BODY_BYTES)\n");
        return reply(with_receiver(settings, |r| r.reply(&request, 413, body)));
    }
    let body = if parts.method == "POST" { req.bytes().await? } else { Vec::new() };
    let shards = settings.shards.max(1);
    let outcome = with_receiver(settings, |receiver| receiver.receive(&request, &body));
    let observe = |status: u16| METRICS.with_borrow_mut(|m| m.observe(status, body.len(), Some(&outcome)));
    match &outcome {
        Outcome::Reply(r) => {
            observe(r.status);
            reply(r.clone())
        }
        Outcome::Accept(accepted) => {
            // Every shard stores its batch at the same time (each Durable Object appends in
            // arrival order, which keeps each series in order).
            let appends = shard::appends(env, &accepted.tenant, &accepted.batches, shards, request.received_ms)?;
            let stored = futures_util::future::join_all(appends).await;
            if !stored.iter().all(|s| matches!(s, Ok(r) if r.status_code() == 204)) {
                // Nothing is acknowledged that is not stored: the sender retries the whole
                // request. Shards that did store it then hold it twice, so delivery from the
                // backends keep the first of equal samples (the embedded store does; Prometheus
                // and Mimir refuse the duplicates).
                observe(503);
                // A shard answers 503 to an append only when its queue is full.
                let full = stored.iter().any(|s| matches!(s, Ok(r) if r.status_code() == 503));
                for failed in stored.iter().filter_map(|s| s.as_ref().err()) {
                    console_error!("a shard did not store its batch: {failed}");
                }
                if full {
                    let mut r = with_receiver(settings, |r| r.reply(&request, 503, QUEUE_FULL));
                    r.headers.push(("Retry-After", QUEUE_FULL_RETRY_AFTER_S.to_string()));
                    return reply(r);
                }
                let unavailable = "storage unavailable, retry\n";
                return reply(with_receiver(settings, |r| r.reply(&request, 503, unavailable)));
            }
            observe(accepted.reply.status);
            reply(accepted.reply.clone())
        }
    }
}

pub(crate) fn reply(r: Reply) -> Result<Response> {
    let headers = Headers::new();
    for (k, v) in &r.headers {
        headers.set(k, v)?;
    }
    let response = if r.body.is_empty() { Response::empty()? } else { Response::ok(r.body)? };
    Ok(response.with_status(r.status).with_headers(headers))
}

/// The linear memory of this isolate's WebAssembly instance, in bytes.
fn wasm_memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65536
}

/// `/metrics`: this isolate's counters and every shard's queue and delivery counters. Open when
/// `AUTH = "open"`; otherwise it takes `Authorization: Bearer <METRICS_TOKEN>` (a secret).
async fn metrics(req: &Request, env: &Env, config: &WorkerConfig) -> Result<Response> {
    let settings = &config.settings;
    if !config.metrics_allowed(req.headers().get("Authorization")?.as_deref()) {
        let r = Response::error("metrics need Authorization: Bearer <METRICS_TOKEN>\n", 401)?;
        r.headers().set("WWW-Authenticate", "Bearer")?;
        return Ok(r);
    }
    let namespace = env.durable_object(SHARDS)?;
    let now = Date::now().as_millis() as i64;
    let mut asks = Vec::new();
    for tenant in settings.tenants() {
        for (layout, shard) in config.layouts.shards() {
            let stub = config::shard_stub(&namespace, &tenant, shard, layout)?;
            let tenant = tenant.clone();
            asks.push(async move {
                let stats = shard::stats(&stub).await?;
                Ok::<_, Error>(ShardStats {
                    tenant,
                    shard,
                    layout,
                    queued_batches: stats.queued_batches,
                    queued_points: stats.queued_points,
                    queued_bytes: stats.queued_bytes,
                    oldest_pending_ms: stats.oldest_received_ms.map_or(0, |t| (now - t).max(0) as u64),
                    wasm_memory_bytes: stats.wasm_memory_bytes,
                    counters: stats.counters.into_iter().map(|c| (c.name, c.value)).collect(),
                })
            });
        }
    }
    let mut shards = Vec::new();
    for s in futures_util::future::join_all(asks).await {
        match s {
            Ok(s) => shards.push(s),
            Err(e) => console_error!("a shard's stats could not be read: {e}"),
        }
    }
    let forwarding = matches!(config.backend, Backend::RemoteWrite(_));
    let aggregators = rum::stats(env, config).await;
    let text = METRICS.with_borrow_mut(|m| {
        m.observe_memory(wasm_memory_bytes());
        m.render(&shards, &aggregators, forwarding)
    });
    let headers = Headers::new();
    headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")?;
    Ok(Response::ok(text)?.with_headers(headers))
}
