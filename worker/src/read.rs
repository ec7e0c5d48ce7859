//! The read API over the embedded store, in the shapes of Prometheus's HTTP API:
//! - `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/<name>/values` (GET or form POST;
//!   `match[]`, `start`, `end`, `limit` as `edgewrite::query::lookup` reads them);
//! - `/api/v1/query_exemplars` (GET or form POST; `query`, `start`, `end` as
//!   `edgewrite::query::exemplars` reads them);
//! - `GET /api/v1/samples?match[]=<selector>&start=<unix s>&end=<unix s>`: their samples in the
//!   range (default: the last hour), as a range-query matrix; stale markers read `"stale"`;
//! - `GET /api/v1/metadata`: type, help and unit per metric name.
//!
//! The same bearer token as for writing selects the tenant. Each read asks every shard of the
//! tenant at once and merges their answers (`edgewrite::store`).

use crate::config::{self, Backend};
use edgewrite::error::HttpStatus;
use edgewrite::query::exemplars::{self, ExemplarQuery};
use edgewrite::query::lookup::{Lookup, What};
use edgewrite::receiver::config::WorkerConfig;
use edgewrite::store::{self, render, results};
use worker::*;

/// Which read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// `/api/v1/samples`
    Samples,
    /// `/api/v1/metadata`
    Metadata,
}

pub(crate) fn json(status: u16, body: String) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::ok(body)?.with_status(status).with_headers(headers))
}

fn bad(message: impl std::fmt::Display) -> Result<Response> {
    json(400, render::error("bad_data", &message.to_string()))
}

/// Answers a read request.
pub async fn read(req: &Request, env: &Env, config: &WorkerConfig, what: Read) -> Result<Response> {
    let tenant = match authorize(req, config)? {
        Ok(tenant) => tenant,
        Err(refusal) => return Ok(refusal),
    };
    let url = req.url()?;
    let mut matches = Vec::new();
    let (mut start, mut end) = (None, None);
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "match[]" => match edgewrite::query::parse_selector(&v) {
                Ok(_) => matches.push(v.into_owned()),
                Err(e) => return bad(format!("match[]={v}: {e}")),
            },
            "start" => start = Some(v.into_owned()),
            "end" => end = Some(v.into_owned()),
            _ => {}
        }
    }
    if matches.is_empty() {
        matches.push("{__name__=~\".+\"}".into());
        if what == Read::Samples {
            return bad("give at least one series selector: match[]={__name__=\"up\"}");
        }
    }
    let mut shard_url = Url::parse("https://shard/read").map_err(|e| Error::RustError(e.to_string()))?;
    {
        let mut q = shard_url.query_pairs_mut();
        for m in &matches {
            q.append_pair("match[]", m);
        }
        if what == Read::Metadata {
            q.append_pair("what", "metadata");
        }
        if what == Read::Samples {
            let now = Date::now().as_millis() as i64;
            let end = match end.as_deref().map(|e| store::parse_time("end", e)) {
                Some(Err(e)) => return bad(e),
                Some(Ok(t)) => t,
                None => now,
            };
            let start = match start.as_deref().map(|s| store::parse_time("start", s)) {
                Some(Err(e)) => return bad(e),
                Some(Ok(t)) => t,
                None => end.saturating_sub(3_600_000),
            };
            if start > end {
                return bad("start is after end");
            }
            q.append_pair("start", &start.to_string());
            q.append_pair("end", &end.to_string());
            q.append_pair("limit", &shard_limit(config).to_string());
        }
    }
    let merged = match gather(env, config, &tenant, &shard_url).await? {
        Ok(merged) => merged,
        Err(refusal) => return Ok(refusal),
    };
    json(
        200,
        match what {
            Read::Samples => render::matrix(&merged),
            Read::Metadata => render::metadata(&merged),
        },
    )
}

/// The samples each shard may return for one read (`edgewrite::query::api::shard_limit`).
pub(crate) fn shard_limit(config: &WorkerConfig) -> usize {
    edgewrite::query::api::shard_limit(config.layouts.shards().len())
}

/// The request's parameters as Go's `ParseForm` reads them: a form body's first, then the
/// URL's, each in order (repeated keys kept; readers take the first or all).
pub(crate) async fn params(req: &mut Request) -> Result<Vec<(String, String)>> {
    let mut params = Vec::new();
    let form = req.headers().get("Content-Type")?.is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if req.method() == Method::Post && form {
        let body = req.bytes().await?;
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    params.extend(req.url()?.query_pairs().into_owned());
    Ok(params)
}

/// Answers `/api/v1/series`, `/api/v1/labels` or `/api/v1/label/<name>/values`.
pub async fn lookup(mut req: Request, env: &Env, config: &WorkerConfig, what: What) -> Result<Response> {
    let tenant = match authorize(&req, config)? {
        Ok(tenant) => tenant,
        Err(refusal) => return Ok(refusal),
    };
    let params = params(&mut req).await?;
    let lookup = match Lookup::from_params(what, params.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(lookup) => lookup,
        Err(e) => return json(e.status(), render::error(e.error_type(), &e.to_string())),
    };
    let mut shard_url = Url::parse("https://shard/read").map_err(|e| Error::RustError(e.to_string()))?;
    {
        let mut q = shard_url.query_pairs_mut();
        for m in &lookup.selectors {
            q.append_pair("match[]", m);
        }
        // With a time range, only series with data in it (to the chunk, as Prometheus answers
        // to the block), none of their data read.
        if let Some((start, end)) = lookup.range {
            q.append_pair("start", &start.to_string());
            q.append_pair("end", &end.to_string());
            q.append_pair("what", "series");
        }
    }
    match gather(env, config, &tenant, &shard_url).await? {
        Ok(merged) => json(200, lookup.answer(&merged)),
        Err(refusal) => Ok(refusal),
    }
}

/// Answers `/api/v1/query_exemplars`.
pub async fn exemplars(mut req: Request, env: &Env, config: &WorkerConfig) -> Result<Response> {
    let tenant = match authorize(&req, config)? {
        Ok(tenant) => tenant,
        Err(refusal) => return Ok(refusal),
    };
    let params = params(&mut req).await?;
    let query = match ExemplarQuery::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(Some(query)) => query,
        // No selector (`1+1`): Prometheus answers 204 No Content.
        Ok(None) => return Ok(Response::empty()?.with_status(204)),
        Err(e) => return json(e.status(), render::error(e.error_type(), &e.to_string())),
    };
    let mut shard_url = Url::parse("https://shard/read").map_err(|e| Error::RustError(e.to_string()))?;
    {
        let mut q = shard_url.query_pairs_mut();
        for s in &query.selectors {
            q.append_pair("match[]", &s.to_string());
        }
        q.append_pair("start", &query.range.0.to_string());
        q.append_pair("end", &query.range.1.to_string());
        q.append_pair("what", "exemplars");
        q.append_pair("limit", &shard_limit(config).to_string());
    }
    match gather(env, config, &tenant, &shard_url).await? {
        Ok(merged) => json(200, exemplars::answer(&merged)),
        Err(refusal) => Ok(refusal),
    }
}

/// The tenant a read's bearer token belongs to, or the answer refusing it (401; 404 when the
/// Worker forwards instead of storing).
pub(crate) fn authorize(req: &Request, config: &WorkerConfig) -> Result<std::result::Result<String, Response>> {
    let authorization = req.headers().get("Authorization")?;
    let Some(tenant) = config.settings.tenant_of(authorization.as_deref()) else {
        let r = json(
            401,
            render::error("unauthorized", "missing or invalid bearer token (Authorization: Bearer <token>)"),
        )?;
        r.headers().set("WWW-Authenticate", "Bearer")?;
        return Ok(Err(r));
    };
    if !matches!(config.backend, Backend::Embedded { .. }) {
        let message = "the read API serves the embedded backend; this Worker forwards to UPSTREAM_URL";
        return Ok(Err(json(404, render::error("not_found", message))?));
    }
    Ok(Ok(tenant))
}

/// Asks every shard of the tenant (the previous layout's too while it is set: a series
/// written before a change of SHARD_COUNT lives there) and merges their answers; or the
/// answer saying why that failed (422 for a read over its sample limit, 500 for stored data
/// that cannot be read, 503 otherwise).
pub(crate) async fn gather(
    env: &Env,
    config: &WorkerConfig,
    tenant: &str,
    shard_url: &Url,
) -> Result<std::result::Result<Vec<store::SeriesData>, Response>> {
    let namespace = env.durable_object(crate::SHARDS)?;
    let mut asks = Vec::new();
    for (layout, shard) in config.layouts.shards() {
        let stub = config::shard_stub(&namespace, tenant, shard, layout)?;
        let url = shard_url.to_string();
        asks.push(async move {
            let mut r = stub.fetch_with_str(&url).await?;
            if r.status_code() != 200 {
                return Ok(Err((r.status_code(), r.text().await.unwrap_or_default())));
            }
            let bytes = r.bytes().await?;
            // The shard's own frame: one that does not decode is the server's fault.
            Ok::<_, Error>(results::decode(&bytes).map_err(|e| (500, format!("a shard's answer does not decode: {e}"))))
        });
    }
    let mut answers = Vec::new();
    let mut loaded = 0;
    for answer in futures_util::future::join_all(asks).await {
        match answer {
            Ok(Ok(a)) => {
                // Each shard kept to its share; the whole kept to the query's limit.
                loaded += a.iter().map(|s| s.samples.len() + s.histograms.len() + s.exemplars.len()).sum::<usize>();
                if loaded > edgewrite::query::api::MAX_LOADED_SAMPLES {
                    let e = edgewrite::query::api::too_many_loaded();
                    return Ok(Err(json(e.status(), render::error(e.error_type(), &e.to_string()))?));
                }
                answers.push(a);
            }
            // Stored data that cannot be read: a retry will not help.
            // A read over its sample limit: the query's to change, not a fault.
            Ok(Err((422, message))) => return Ok(Err(json(422, render::error("execution", &message))?)),
            Ok(Err((500, message))) => {
                console_error!("read from a shard failed: {message}");
                let body = render::error("internal", &format!("stored data could not be read: {message}"));
                return Ok(Err(json(500, body)?));
            }
            Ok(Err((_, e))) => {
                console_error!("read from a shard failed: {e}");
                return Ok(Err(json(503, render::error("unavailable", "a shard could not be read; try again"))?));
            }
            Err(e) => {
                console_error!("read from a shard failed: {e}");
                return Ok(Err(json(503, render::error("unavailable", "a shard could not be read; try again"))?));
            }
        }
    }
    Ok(Ok(results::merge(answers)))
}
