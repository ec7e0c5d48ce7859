//! The Prometheus query API over the embedded store: `/api/v1/query` and
//! `/api/v1/query_range`, GET or form-encoded POST (as Grafana, promtool and vmalert send
//! them). The parameters, what to fetch, the evaluation and the JSON are
//! `edgewrite::query::api`'s; this file reads the request and asks the shards.

use crate::read::{authorize, gather, json};
use edgewrite::error::HttpStatus;
use edgewrite::query::api::{self, ApiError};
use edgewrite::receiver::config::WorkerConfig;
use edgewrite::store::render;
use std::collections::HashMap;
use worker::*;

/// Answers `/api/v1/query` (`range` false) or `/api/v1/query_range`.
pub async fn query(mut req: Request, env: &Env, config: &WorkerConfig, range: bool) -> Result<Response> {
    let tenant = match authorize(&req, config)? {
        Ok(tenant) => tenant,
        Err(refusal) => return Ok(refusal),
    };
    // The first value of a repeated key is the one read, as Prometheus reads it.
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in crate::read::params(&mut req).await? {
        params.entry(k).or_insert(v);
    }
    match answer(env, config, &tenant, &params, range).await? {
        Ok(body) => json(200, body),
        Err(Ok(e)) => json(e.status(), render::error(e.error_type(), &e.to_string())),
        Err(Err(refusal)) => Ok(refusal),
    }
}

type Answer = std::result::Result<String, std::result::Result<ApiError, Response>>;

async fn answer(
    env: &Env,
    config: &WorkerConfig,
    tenant: &str,
    params: &HashMap<String, String>,
    range: bool,
) -> Result<Answer> {
    let get = |name: &str| params.get(name).map(String::as_str);
    let Some(text) = get("query") else {
        return Ok(Err(Ok(ApiError::BadData("invalid parameter \"query\": the query is missing".into()))));
    };
    let now = Date::now().as_millis() as i64;
    let time = |name: &str, default: i64| get(name).map_or(Ok(default), |t| api::parse_time_param(name, t));
    let (start, end, step) = if range {
        let missing = |n: &str| ApiError::BadData(format!("invalid parameter \"{n}\": missing"));
        let (Some(s), Some(e), Some(st)) = (get("start"), get("end"), get("step")) else {
            let which = ["start", "end", "step"].into_iter().find(|n| get(n).is_none()).unwrap_or("step");
            return Ok(Err(Ok(missing(which))));
        };
        match (api::parse_time("start", s), api::parse_time("end", e), api::parse_duration("step", st)) {
            (Ok(s), Ok(e), Ok(st)) => (s, e, st),
            (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => return Ok(Err(Ok(e))),
        }
    } else {
        match time("time", now) {
            Ok(t) => (t, t, 0),
            Err(e) => return Ok(Err(Ok(e))),
        }
    };
    let timeout = match get("timeout").map(|t| api::parse_duration("timeout", t)).transpose() {
        Ok(t) => t,
        Err(e) => return Ok(Err(Ok(e))),
    };
    let expr = match api::prepare(text, start, end, step) {
        Ok(expr) => expr,
        Err(e) => return Ok(Err(Ok(e))),
    };
    let fetch = api::fetch(&expr, start, end);
    let data = if fetch.selectors.is_empty() {
        Vec::new()
    } else {
        let mut shard_url = Url::parse("https://shard/read").map_err(|e| Error::RustError(e.to_string()))?;
        {
            let mut q = shard_url.query_pairs_mut();
            for s in &fetch.selectors {
                q.append_pair("match[]", &s.to_string());
            }
            q.append_pair("start", &fetch.from.to_string());
            q.append_pair("end", &fetch.to.to_string());
            q.append_pair("limit", &crate::read::shard_limit(config).to_string());
        }
        match gather(env, config, tenant, &shard_url).await? {
            Ok(merged) => api::series(merged),
            Err(refusal) => return Ok(Err(Err(refusal))),
        }
    };
    let work = api::budget(timeout);
    let result =
        if range { api::range(&expr, &data, start, end, step, work) } else { api::instant(&expr, &data, start, work) };
    Ok(result.map_err(Ok))
}
