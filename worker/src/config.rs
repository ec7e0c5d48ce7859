//! The Worker's configuration: `wrangler.toml` vars and secrets, parsed by
//! [`edgewrite::receiver::config::WorkerConfig`] (natively tested) once per isolate and once
//! per Durable Object instance. This file only reads `Env`.

use edgewrite::receiver::config::{ConfigError, Layouts, WorkerConfig};
use std::cell::RefCell;
use std::rc::Rc;
use worker::{Env, Result};

pub use edgewrite::receiver::config::{Backend, Upstream};

thread_local! {
    /// The isolate's configuration (an isolate runs one deployment's `Env`).
    static CONFIG: RefCell<Option<Rc<WorkerConfig>>> = const { RefCell::new(None) };
}

/// A var or secret by name (secrets first; a plain var works for tests).
fn lookup(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().or_else(|| env.var(name).ok()).map(|v| v.to_string())
}

/// Parses the configuration from `env`.
pub fn parse(env: &Env) -> std::result::Result<WorkerConfig, ConfigError> {
    WorkerConfig::from_vars(|name| lookup(env, name))
}

/// The error a misconfiguration answers with (500: the operator's to fix, never the client's).
pub fn error(e: &ConfigError) -> worker::Error {
    worker::Error::RustError(format!("edgewrite is misconfigured: {e}"))
}

/// The isolate's configuration, parsed on first use; a misconfiguration as the var at fault
/// and the whole error.
pub fn get(env: &Env) -> std::result::Result<Rc<WorkerConfig>, (&'static str, worker::Error)> {
    CONFIG.with_borrow_mut(|slot| {
        if let Some(c) = slot {
            return Ok(c.clone());
        }
        let config = Rc::new(parse(env).map_err(|e| (e.var(), error(&e)))?);
        *slot = Some(config.clone());
        Ok(config)
    })
}

/// The stub of a tenant's shard in a layout of `count` shards, in the `SHARDS` namespace.
pub fn shard_stub(shards: &worker::ObjectNamespace, tenant: &str, shard: u32, count: u32) -> Result<worker::Stub> {
    shards.id_from_name(&Layouts::shard_name(tenant, shard, count))?.get_stub()
}
