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
    // Limits (edgewrite::Limits; Prometheus's and Mimir's defaults when unset).
    let limits = &mut settings.limits;
    for (name, field) in [
        ("MAX_BODY_BYTES", &mut limits.max_body_bytes),
        ("MAX_DECODED_BYTES", &mut limits.max_decoded_bytes),
        ("MAX_SERIES_PER_REQUEST", &mut limits.max_series_per_request),
        ("MAX_SAMPLES_PER_REQUEST", &mut limits.max_samples_per_request),
        ("MAX_LABELS_PER_SERIES", &mut limits.max_labels_per_series),
        ("MAX_LABEL_NAME_LENGTH", &mut limits.max_label_name_length),
        ("MAX_LABEL_VALUE_LENGTH", &mut limits.max_label_value_length),
    ] {
        if let Some(text) = var(env, name) {
            *field = text
                .parse()
                .map_err(|_| worker::Error::RustError(format!("{name} = {text:?} is not a whole number")))?;
        }
    }
    limits.utf8_names_in_v1 = var(env, "UTF8_NAMES_IN_V1").as_deref() == Some("true");
    if let Some(window) = var(env, "REORDER_WINDOW") {
        let ms = edgewrite::store::parse_duration(&window)
            .map_err(|e| worker::Error::RustError(format!("REORDER_WINDOW: {e}")))?;
        settings.reorder_window_ms = Some(ms).filter(|&ms| ms > 0);
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

/// Where the shards hand their queues on.
#[derive(Clone, Debug)]
pub enum Backend {
    /// `BACKEND = "embedded"` (the default): kept in the shards' own SQLite.
    Embedded {
        /// `RETENTION` (a Prometheus duration, default `15d`): chunks older go.
        retention_ms: u64,
        /// `COMPACT_EVERY` (default `30s`): how long batches wait in the queue before they are
        /// compacted into chunks.
        compact_every_ms: u64,
    },
    /// `BACKEND = "remote_write"`: forwarded upstream.
    RemoteWrite(Upstream),
}

fn duration(env: &Env, name: &str, default: &str) -> Result<u64> {
    edgewrite::store::parse_duration(&var(env, name).unwrap_or_else(|| default.into()))
        .map_err(|e| worker::Error::RustError(format!("{name}: {e}")))
}

/// The backend the settings choose.
pub fn backend(env: &Env) -> Result<Backend> {
    match var(env, "BACKEND").as_deref() {
        None | Some("embedded") => Ok(Backend::Embedded {
            retention_ms: duration(env, "RETENTION", "15d")?,
            compact_every_ms: duration(env, "COMPACT_EVERY", "30s")?,
        }),
        Some("remote_write") => {
            let url = var(env, "UPSTREAM_URL")
                .ok_or_else(|| worker::Error::RustError("BACKEND = \"remote_write\" needs UPSTREAM_URL".into()))?;
            Ok(Backend::RemoteWrite(Upstream {
                url,
                protocol: if var(env, "UPSTREAM_PROTOCOL").as_deref() == Some("v2") {
                    edgewrite::Version::V2
                } else {
                    edgewrite::Version::V1
                },
                authorization: env
                    .secret("UPSTREAM_AUTHORIZATION")
                    .ok()
                    .map(|s| s.to_string())
                    .filter(|s| !s.is_empty()),
                tenant_header: var(env, "TENANT_LABEL").as_deref() == Some("-"),
            }))
        }
        Some(other) => Err(worker::Error::RustError(format!(
            "BACKEND = {other:?} is not known: use \"embedded\" or \"remote_write\""
        ))),
    }
}

/// Whether `/metrics` may be read: always when `AUTH = "open"`, otherwise with the secret
/// `METRICS_TOKEN` as bearer token (a var works for tests).
pub fn metrics_allowed(env: &Env, settings: &Settings, authorization: Option<&str>) -> bool {
    if matches!(settings.auth, Auth::Open) {
        return true;
    }
    let Some(token) = env.secret("METRICS_TOKEN").map(|s| s.to_string()).ok().or_else(|| var(env, "METRICS_TOKEN"))
    else {
        return false;
    };
    let auth = Auth::Tokens(vec![Token { secret: token, tenant: String::new() }]);
    Settings { auth, ..Settings::default() }.tenant_of(authorization).is_some()
}

/// The shard layouts: `SHARD_COUNT` shards take new writes; while `PREVIOUS_SHARD_COUNT` is
/// set (after a change of `SHARD_COUNT`), the previous layout's shards still drain and are
/// still read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layouts {
    /// Shards per tenant taking writes.
    pub current: u32,
    /// Shards per tenant before the last change, if it is still being drained or read.
    pub previous: Option<u32>,
}

impl Layouts {
    /// Every shard to read or report, as `(layout, shard)`: the previous layout's first (it
    /// holds the older writes), then the current one's.
    pub fn shards(&self) -> Vec<(u32, u32)> {
        let previous = self.previous.filter(|&p| p != self.current);
        previous.into_iter().chain([self.current]).flat_map(|n| (0..n).map(move |i| (n, i))).collect()
    }
}

/// The layouts the settings give.
pub fn layouts(env: &Env, settings: &Settings) -> Layouts {
    Layouts {
        current: settings.shards.max(1),
        previous: var(env, "PREVIOUS_SHARD_COUNT").and_then(|s| s.parse().ok()).filter(|&n: &u32| n > 0),
    }
}

/// The Durable Object name of a tenant's shard in a layout of `count` shards.
pub fn shard_name(tenant: &str, shard: u32, count: u32) -> String {
    format!("{tenant}/{shard}/{count}")
}

/// The stub of a tenant's shard in a layout of `count` shards, in the `SHARDS` namespace.
pub fn shard_stub(shards: &worker::ObjectNamespace, tenant: &str, shard: u32, count: u32) -> Result<worker::Stub> {
    shards.id_from_name(&shard_name(tenant, shard, count))?.get_stub()
}
