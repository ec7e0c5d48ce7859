//! edgewrite's Cloudflare Worker: accepts remote write, decides with
//! [`edgewrite::receiver::Receiver`] (sans-I/O), and appends each shard's batch to that shard's
//! Durable Object, durably, before it answers. This file only moves bytes between HTTP, the
//! receiver and the Durable Objects; the protocol logic lives in the core crate.

mod config;
mod shard;

use edgewrite::receiver::{Outcome, Receiver, Reply, Request as RwRequest, Settings};
use std::cell::RefCell;
use worker::*;

pub use shard::Shard;

/// The Durable Object namespace of the shards.
const SHARDS: &str = "SHARDS";

thread_local! {
    /// One receiver per isolate, so its decode buffers are reused from request to request
    /// (rebuilt when the settings change).
    static RECEIVER: RefCell<Option<Receiver>> = const { RefCell::new(None) };
}

/// Runs `f` with the isolate's receiver for `settings`.
fn with_receiver<R>(settings: Settings, f: impl FnOnce(&mut Receiver) -> R) -> R {
    RECEIVER.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|r| *r.settings() != settings) {
            *slot = Some(Receiver::new(settings));
        }
        f(slot.as_mut().expect("set above"))
    })
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Get, "/healthz") => Response::ok("ok\n"),
        (_, "/api/v1/write") => write(req, &env).await,
        _ => Response::error("not found: remote write goes to POST /api/v1/write\n", 404),
    }
}

/// `/api/v1/write`: decide, store every batch in its shard, then answer.
async fn write(mut req: Request, env: &Env) -> Result<Response> {
    let settings = config::settings(env)?;
    let method = req.method().to_string();
    let headers = req.headers().clone();
    let header = |name: &str| headers.get(name).ok().flatten();
    let (content_type, content_encoding) = (header("Content-Type"), header("Content-Encoding"));
    let (authorization, origin) = (header("Authorization"), header("Origin"));
    let request = RwRequest {
        method: &method,
        content_type: content_type.as_deref(),
        content_encoding: content_encoding.as_deref(),
        authorization: authorization.as_deref(),
        origin: origin.as_deref(),
    };
    if settings.limits.max_body_bytes < header("Content-Length").and_then(|l| l.parse().ok()).unwrap_or(0) {
        return reply(Reply { status: 413, headers: Vec::new(), body: "request body over the size limit\n".into() });
    }
    let body = if method == "POST" { req.bytes().await? } else { Vec::new() };
    match with_receiver(settings, |receiver| receiver.receive(&request, &body)) {
        Outcome::Reply(r) => reply(r),
        Outcome::Accept(accepted) => {
            let namespace = env.durable_object(SHARDS)?;
            // Every shard stores its batch at the same time (each Durable Object appends in
            // arrival order, which keeps each series in order).
            let mut appends = Vec::with_capacity(accepted.batches.len());
            for batch in &accepted.batches {
                let stub = namespace.id_from_name(&format!("{}/{}", accepted.tenant, batch.shard))?.get_stub()?;
                let headers = Headers::new();
                headers.set(shard::TENANT_HEADER, &accepted.tenant)?;
                let mut init = RequestInit::new();
                init.with_method(Method::Post)
                    .with_headers(headers)
                    .with_body(Some(js_sys::Uint8Array::from(&batch.body[..]).into()));
                let request = Request::new_with_init("https://shard/append", &init)?;
                appends.push(async move { stub.fetch_with_request(request).await });
            }
            let stored = futures_util::future::join_all(appends).await;
            if !stored.iter().all(|s| matches!(s, Ok(r) if r.status_code() == 204)) {
                // Nothing is acknowledged that is not stored: the sender retries the whole
                // request. Shards that did store it then hold it twice, so delivery from the
                // shard queue must keep the first of equal samples (next step of issue 4).
                return reply(Reply { status: 503, headers: Vec::new(), body: "storage unavailable, retry\n".into() });
            }
            reply(accepted.reply)
        }
    }
}

fn reply(r: Reply) -> Result<Response> {
    let headers = Headers::new();
    for (k, v) in &r.headers {
        headers.set(k, v)?;
    }
    let response = if r.body.is_empty() { Response::empty()? } else { Response::ok(r.body)? };
    Ok(response.with_status(r.status).with_headers(headers))
}
