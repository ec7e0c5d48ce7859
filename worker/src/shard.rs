//! A shard: a Durable Object that appends each batch to its SQLite queue before the write is
//! acknowledged, then delivers the queue strictly in order, from an alarm. With
//! `BACKEND = "remote_write"` it forwards each batch upstream with the sender's retry rules
//! (5xx, 429 and network errors retried with backoff and `Retry-After`; other 4xx dropped and
//! logged with the upstream's message); the embedded store is the next step of issue 4.

use crate::config::{self, Upstream};
use edgewrite::codec::{Encoder, Version, decode_owned};
use edgewrite::sender::retry::{self, Class};
use edgewrite::{Limits, convert};
use std::time::Duration;
use worker::*;

/// Header that carries the tenant from the Worker to the shard.
pub const TENANT_HEADER: &str = "X-Edgewrite-Tenant";

/// Most batches one alarm delivers before it yields (and sets the next alarm at once).
const BATCHES_PER_ALARM: usize = 50;

/// One shard's durable queue.
#[durable_object]
pub struct Shard {
    state: State,
    env: Env,
    sql: SqlStorage,
}

#[derive(serde::Deserialize)]
struct Queued {
    seq: i64,
    tenant: String,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    attempts: i64,
}

impl DurableObject for Shard {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, \
             tenant TEXT NOT NULL, body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)",
            None,
        )
        .expect("create the batches table");
        Shard { state, env, sql }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/append") => {
                let tenant = req.headers().get(TENANT_HEADER)?.unwrap_or_default();
                let body = req.bytes().await?;
                let now = Date::now().as_millis() as i64;
                self.sql.exec(
                    "INSERT INTO batches (received_ms, tenant, body) VALUES (?, ?, ?)",
                    vec![now.into(), tenant.into(), body.into()],
                )?;
                if config::upstream(&self.env)?.is_some() && self.state.storage().get_alarm().await?.is_none() {
                    self.state.storage().set_alarm(Duration::from_millis(0)).await?;
                }
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Get, "/stats") => {
                #[derive(serde::Deserialize)]
                struct Row {
                    n: i64,
                }
                let rows: Vec<Row> = self.sql.exec("SELECT count(*) AS n FROM batches", None)?.to_array()?;
                Response::ok(rows.first().map_or(0, |r| r.n).to_string())
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        if let Some(upstream) = config::upstream(&self.env)? {
            self.deliver(&upstream).await?;
        }
        Response::ok("delivered")
    }
}

impl Shard {
    /// Sends the queue upstream, oldest first, until it is empty, a batch must wait for a
    /// retry, or this alarm has done its share.
    async fn deliver(&self, upstream: &Upstream) -> Result<()> {
        for _ in 0..BATCHES_PER_ALARM {
            let rows: Vec<Queued> = self
                .sql
                .exec("SELECT seq, tenant, body, attempts FROM batches ORDER BY seq LIMIT 1", None)?
                .to_array()?;
            let Some(row) = rows.into_iter().next() else { return Ok(()) };
            let outcome = send(upstream, &row).await;
            let (status, retry_after, message) = match outcome {
                Ok(r) => r,
                Err(e) => (0, None, e.to_string()),
            };
            let class = if status == 0 { Class::Retry } else { retry::classify(status, true) };
            match class {
                Class::Success => {}
                Class::Retry => {
                    let now = Date::now().as_millis() as i64;
                    let delay = retry_after
                        .as_deref()
                        .and_then(|v| retry::parse_retry_after(v, now))
                        .filter(|&d| d > 0)
                        .unwrap_or_else(|| backoff_ms(row.attempts));
                    self.sql.exec("UPDATE batches SET attempts = attempts + 1 WHERE seq = ?", vec![row.seq.into()])?;
                    console_warn!(
                        "upstream {} answered {status}; retrying batch {} in {delay} ms: {message}",
                        upstream.url,
                        row.seq
                    );
                    self.state.storage().set_alarm(Duration::from_millis(delay)).await?;
                    return Ok(());
                }
                Class::Unsupported | Class::Fatal => {
                    console_error!(
                        "upstream {} refused batch {} with {status}; dropped: {message}",
                        upstream.url,
                        row.seq
                    );
                }
            }
            self.sql.exec("DELETE FROM batches WHERE seq = ?", vec![row.seq.into()])?;
        }
        // More to do: continue in a fresh alarm.
        self.state.storage().set_alarm(Duration::from_millis(0)).await
    }
}

/// Exponential backoff with jitter, 30 ms to 5 s, as the sender's defaults.
fn backoff_ms(attempts: i64) -> u64 {
    let step = (30u64 << attempts.clamp(0, 20)).min(5000);
    step / 2 + (step as f64 / 2.0 * js_sys::Math::random()) as u64
}

/// POSTs one batch upstream; returns the status, `Retry-After` and the first KiB of the body.
async fn send(upstream: &Upstream, row: &Queued) -> Result<(u16, Option<String>, String)> {
    let body = match upstream.protocol {
        Version::V2 => row.body.clone(),
        Version::V1 => {
            // The queue holds 2.0 bodies; a 1.0 upstream gets the same series as 1.0.
            let mut req = decode_owned(&row.body, Version::V2, &Limits::default())
                .map_err(|e| Error::RustError(e.to_string()))?;
            convert::to_v1(&mut req);
            Encoder::new().encode(&req, Version::V1).to_vec()
        }
    };
    let headers = Headers::new();
    for (k, v) in upstream.protocol.request_headers() {
        headers.set(k, v)?;
    }
    headers.set("User-Agent", "edgewrite-worker/0.1.0")?;
    if row.attempts > 0 {
        headers.set("Retry-Attempt", &row.attempts.to_string())?;
    }
    if let Some(auth) = &upstream.authorization {
        headers.set("Authorization", auth)?;
    }
    if upstream.tenant_header {
        headers.set("X-Scope-OrgID", &row.tenant)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(js_sys::Uint8Array::from(&body[..]).into()));
    let mut response = Fetch::Request(Request::new_with_init(&upstream.url, &init)?).send().await?;
    let retry_after = response.headers().get("Retry-After")?;
    let text = response.text().await.unwrap_or_default();
    let message: String = text.chars().take(1024).collect();
    Ok((response.status_code(), retry_after, message))
}
