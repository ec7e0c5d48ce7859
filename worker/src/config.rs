//! Settings from `wrangler.toml` vars and secrets.

use edgewrite::receiver::{Auth, Settings, TenantPlacement, Token};
use worker::{Env, Result};

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty())
}

fn list(env: &Env, name: &str) -> Vec<String> {
    var(env, name)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// The receiver's settings. `AUTH = "open"` runs without tokens (local development only);
/// otherwise the secret `TOKENS` holds `token=tenant` pairs separated by commas.
pub fn settings(env: &Env) -> Result<Settings> {
    let auth = if var(env, "AUTH").as_deref() == Some("open") {
        Auth::Open
    } else {
        // A secret in production (wrangler secret put TOKENS); a plain var works for tests.
        let tokens =
            env.secret("TOKENS").map(|s| s.to_string()).ok().or_else(|| var(env, "TOKENS")).unwrap_or_default();
        Auth::Tokens(
            tokens
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(secret, tenant)| Token { secret: secret.trim().into(), tenant: tenant.trim().into() })
                .collect(),
        )
    };
    let tenant = match var(env, "TENANT_LABEL").as_deref() {
        Some("-") => TenantPlacement::Header,
        Some(name) => TenantPlacement::Label(name.into()),
        None => TenantPlacement::Label("tenant".into()),
    };
    let mut settings = Settings {
        auth,
        tenant,
        drop_labels: list(env, "DROP_LABELS"),
        refuse_labels: list(env, "REFUSE_LABELS"),
        allowed_origins: list(env, "ALLOWED_ORIGINS"),
        edge_labels: list(env, "EDGE_LABELS")
            .iter()
            .filter_map(|p| p.split_once('='))
            .map(|(n, v)| (n.into(), v.into()))
            .collect(),
        ..Settings::default()
    };
    if let Some(n) = var(env, "SHARD_COUNT").and_then(|s| s.parse().ok()) {
        settings.shards = n;
    }
    if let Some(n) = var(env, "MAX_BODY_BYTES").and_then(|s| s.parse().ok()) {
        settings.limits.max_body_bytes = n;
    }
    Ok(settings)
}

/// Where shards deliver with `BACKEND = "remote_write"`.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// `UPSTREAM_URL`, e.g. `http://127.0.0.1:9090/api/v1/write`.
    pub url: String,
    /// `UPSTREAM_PROTOCOL`: `v1` (default) or `v2`.
    pub protocol: edgewrite::Version,
    /// The secret `UPSTREAM_AUTHORIZATION`: the `Authorization` header value, if any.
    pub authorization: Option<String>,
    /// Send the tenant as `X-Scope-OrgID` (when `TENANT_LABEL = "-"`).
    pub tenant_header: bool,
}

/// The upstream, when the backend is `remote_write`.
pub fn upstream(env: &Env) -> Result<Option<Upstream>> {
    if var(env, "BACKEND").as_deref() != Some("remote_write") {
        return Ok(None);
    }
    let url = var(env, "UPSTREAM_URL")
        .ok_or_else(|| worker::Error::RustError("BACKEND = \"remote_write\" needs UPSTREAM_URL".into()))?;
    Ok(Some(Upstream {
        url,
        protocol: if var(env, "UPSTREAM_PROTOCOL").as_deref() == Some("v2") {
            edgewrite::Version::V2
        } else {
            edgewrite::Version::V1
        },
        authorization: env.secret("UPSTREAM_AUTHORIZATION").ok().map(|s| s.to_string()).filter(|s| !s.is_empty()),
        tenant_header: var(env, "TENANT_LABEL").as_deref() == Some("-"),
    }))
}
