//! The Worker's configuration, parsed from its vars and secrets (`wrangler.toml` `[vars]`,
//! `wrangler secret put`) through a plain name -> value lookup, so that every rule is tested
//! natively. A misconfiguration is one [`ConfigError`] naming the var, never a default
//! silently taken. The Worker parses once per isolate and Durable Object instance.
//!
//! ```
//! use edgewrite::receiver::config::{Backend, WorkerConfig};
//!
//! let vars = [("AUTH", "tokens"), ("TOKENS", "c2VjcmV0LWE==team-a, dG9rZW4tYg==team-b"), ("BACKEND", "embedded")];
//! let config = WorkerConfig::from_vars(|name| vars.iter().find(|v| v.0 == name).map(|v| v.1.to_string())).unwrap();
//! assert_eq!(config.settings.tenant_of(Some("Bearer c2VjcmV0LWE=")), Some("team-a".into()));
//! assert!(matches!(config.backend, Backend::Embedded { .. }));
//! ```

use super::auth::{Auth, Token};
use super::settings::{Settings, TenantPlacement};
use crate::codec::Version;
use crate::rum::limit::Rate;
use crate::rum::{Config as RumConfig, RumSettings, Schema};
use crate::sender::forward;
use crate::store::parse_duration;
use std::fmt;

/// A var whose value cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The var holds something it cannot mean.
    Invalid {
        /// The var.
        var: &'static str,
        /// What is wrong, and what would be right.
        why: String,
    },
    /// The var is needed by another setting and is not set.
    Missing {
        /// The var.
        var: &'static str,
        /// Why it is needed.
        why: &'static str,
    },
}

impl ConfigError {
    /// The var at fault.
    pub fn var(&self) -> &'static str {
        match self {
            ConfigError::Invalid { var, .. } | ConfigError::Missing { var, .. } => var,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid { var, why } => write!(f, "setting {var}: {why}"),
            ConfigError::Missing { var, why } => write!(f, "setting {var} is not set: {why}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Where the shards hand their queues on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `BACKEND = "embedded"` (the default): kept in the shards' own SQLite.
    Embedded {
        /// `RETENTION` (a Prometheus duration, default `15d`): chunks older go.
        retention_ms: u64,
        /// `COMPACT_EVERY` (default `30s`): how long batches wait before they are compacted.
        compact_every_ms: u64,
    },
    /// `BACKEND = "remote_write"`: forwarded upstream.
    RemoteWrite(Upstream),
}

/// Where shards deliver with `BACKEND = "remote_write"`, and how.
#[derive(Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `UPSTREAM_URL`, e.g. `https://mimir.example/api/v1/push`.
    pub url: String,
    /// The secret `UPSTREAM_AUTHORIZATION`: the `Authorization` header value, if any.
    pub authorization: Option<String>,
    /// Send the tenant as `X-Scope-OrgID` (when `TENANT_LABEL = "-"`).
    pub tenant_header: bool,
    /// How: `UPSTREAM_PROTOCOL` (`v1` or `v2`), `UPSTREAM_MIN_BACKOFF`,
    /// `UPSTREAM_MAX_BACKOFF`, `UPSTREAM_MAX_RETRY_AFTER`, `UPSTREAM_RETRY_ON_429`.
    pub forward: forward::Config,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("url", &self.url)
            .field("tenant_header", &self.tenant_header)
            .field("forward", &self.forward)
            .finish_non_exhaustive()
    }
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

    /// The Durable Object name of a tenant's shard in a layout of `count` shards.
    pub fn shard_name(tenant: &str, shard: u32, count: u32) -> String {
        format!("{tenant}/{shard}/{count}")
    }
}

/// Everything the Worker is configured with.
#[derive(Clone, PartialEq)]
pub struct WorkerConfig {
    /// What the receiver decides by (auth, limits, labels, origins, shards, reorder window).
    pub settings: Settings,
    /// Where the shards deliver.
    pub backend: Backend,
    /// The shard layouts.
    pub layouts: Layouts,
    /// The secret `METRICS_TOKEN` that reads `/metrics` (open when `AUTH = "open"`).
    pub metrics_token: Option<String>,
    /// The RUM endpoint's settings.
    pub rum: RumSettings,
    /// `MAX_QUEUE_BYTES`: the bytes a shard holds acknowledged and not yet handed on (to the
    /// upstream or the embedded store's chunks) before it refuses new batches. Default 1 GiB,
    /// a tenth of a Durable Object's SQLite.
    pub max_queue_bytes: u64,
}

/// What a shard answers (503) to a batch while its queue is full.
pub const QUEUE_FULL: &str = "this shard's queue of acknowledged data is full (MAX_QUEUE_BYTES): its backend is \
                              not keeping up or is down; nothing of this request is acknowledged, retry later\n";

/// The `Retry-After` (seconds) of a write refused because a shard's queue is full.
pub const QUEUE_FULL_RETRY_AFTER_S: u32 = 10;

impl WorkerConfig {
    /// Whether a shard whose queue holds `queued` bytes takes a batch of `adding` more: while
    /// the sum stays within [`WorkerConfig::max_queue_bytes`], and always when the queue is
    /// empty (a batch larger than the limit still goes, alone). Refused, the write is answered
    /// 503 ([`QUEUE_FULL`]) and the sender retries: nothing acknowledged is dropped.
    pub fn queue_takes(&self, queued: u64, adding: u64) -> bool {
        queued == 0 || queued.saturating_add(adding) <= self.max_queue_bytes
    }
}

impl fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("settings", &self.settings)
            .field("backend", &self.backend)
            .field("layouts", &self.layouts)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<secret>"))
            .field("rum", &self.rum)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .finish()
    }
}

/// Every var the Worker reads, for documentation and tests.
pub const VARS: &[&str] = &[
    "AUTH",
    "TOKENS",
    "METRICS_TOKEN",
    "BACKEND",
    "RETENTION",
    "COMPACT_EVERY",
    "UPSTREAM_URL",
    "UPSTREAM_PROTOCOL",
    "UPSTREAM_AUTHORIZATION",
    "UPSTREAM_MIN_BACKOFF",
    "UPSTREAM_MAX_BACKOFF",
    "UPSTREAM_MAX_RETRY_AFTER",
    "UPSTREAM_RETRY_ON_429",
    "SHARD_COUNT",
    "PREVIOUS_SHARD_COUNT",
    "REORDER_WINDOW",
    "TENANT_LABEL",
    "ALLOWED_ORIGINS",
    "EDGE_LABELS",
    "DROP_LABELS",
    "REFUSE_LABELS",
    "UTF8_NAMES_IN_V1",
    "MAX_BODY_BYTES",
    "MAX_DECODED_BYTES",
    "MAX_QUEUE_BYTES",
    "MAX_SERIES_PER_REQUEST",
    "MAX_SAMPLES_PER_REQUEST",
    "MAX_LABELS_PER_REQUEST",
    "MAX_LABELS_PER_SERIES",
    "MAX_LABEL_NAME_LENGTH",
    "MAX_LABEL_VALUE_LENGTH",
    "MAX_HELP_LENGTH",
    "MAX_EXEMPLAR_LABEL_CHARS",
    "RUM_SCHEMA",
    "RUM_TENANT",
    "RUM_FLUSH_EVERY",
    "RUM_IDLE",
    "RUM_MAX_VALUES",
    "RUM_MAX_SERIES",
    "RUM_EDGE_LABELS",
    "RUM_MAX_BODY_BYTES",
    "RUM_RATE_LIMIT",
];

struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// The var's value, trimmed; unset and empty are the same.
    fn get(&self, name: &'static str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn invalid(name: &'static str, why: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { var: name, why: why.into() }
    }

    /// A comma-separated list.
    fn list(&self, name: &'static str) -> Vec<String> {
        self.get(name)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    fn number<N: std::str::FromStr>(&self, name: &'static str, default: N) -> Result<N, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| Self::invalid(name, format!("{text:?} is not a whole number"))),
        }
    }

    fn duration(&self, name: &'static str, default: &str) -> Result<u64, ConfigError> {
        parse_duration(&self.get(name).unwrap_or_else(|| default.into()))
            .map_err(|e| Self::invalid(name, e.to_string()))
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(Self::invalid(name, format!("{other:?}: write \"true\" or \"false\""))),
        }
    }

    fn one_of(&self, name: &'static str, choices: &[&'static str]) -> Result<Option<&'static str>, ConfigError> {
        let Some(value) = self.get(name) else { return Ok(None) };
        choices.iter().find(|&&c| c == value).map(|&c| Some(c)).ok_or_else(|| {
            let list = choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(" or ");
            Self::invalid(name, format!("{value:?} is not known: use {list}"))
        })
    }
}

/// Whether `secret` is a bearer token as RFC 6750 defines it (`b64token`: letters, digits,
/// `-._~+/`, then any `=` padding): what a client can send in `Authorization: Bearer`, and
/// what `openssl rand -base64 32` or `-hex 32` generate.
pub fn is_bearer_token(secret: &str) -> bool {
    let body = secret.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Whether `tenant` can name a tenant: 1 to 64 ASCII letters, digits, `-`, `_` and `.` (it
/// becomes a label value, part of Durable Object names, and the `X-Scope-OrgID` header).
pub fn is_tenant(tenant: &str) -> bool {
    (1..=64).contains(&tenant.len()) && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Parses `TOKENS`: `token=tenant` entries separated by commas or whitespace (newlines too).
/// Each entry is split at its last `=`, so base64 tokens with `=` padding work as they are
/// (tenants contain no `=`).
///
/// # Errors
/// [`ConfigError::Invalid`] naming `TOKENS` and the entry (by position, never its secret).
pub fn parse_tokens(text: &str) -> Result<Vec<Token>, ConfigError> {
    let bad = |why: String| ConfigError::Invalid { var: "TOKENS", why };
    let mut tokens: Vec<Token> = Vec::new();
    for (i, entry) in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|e| !e.is_empty()).enumerate() {
        let n = i + 1;
        let Some((secret, tenant)) = entry.rsplit_once('=') else {
            return Err(bad(format!("entry {n} has no \"=\": write token=tenant, e.g. 3q2+7w==team-a")));
        };
        if tenant.is_empty() {
            return Err(bad(format!("entry {n} has no tenant after its last \"=\": write token=tenant")));
        }
        if !is_tenant(tenant) {
            return Err(bad(format!(
                "the tenant of entry {n} is not 1 to 64 letters, digits, -, _ or . (it names Durable Objects \
                 and the X-Scope-OrgID header)"
            )));
        }
        if !is_bearer_token(secret) {
            return Err(bad(format!(
                "the token of entry {n} (tenant {tenant:?}) is not a bearer token: use letters, digits and \
                 -._~+/ with = only at the end (e.g. openssl rand -base64 32)"
            )));
        }
        if tokens.iter().any(|t| t.secret == secret) {
            return Err(bad(format!("entry {n} (tenant {tenant:?}) repeats a token given before")));
        }
        tokens.push(Token { secret: secret.into(), tenant: tenant.into() });
    }
    Ok(tokens)
}

impl WorkerConfig {
    /// Parses the configuration from `var` (a var or secret by name; `None` when unset).
    ///
    /// # Errors
    /// The first [`ConfigError`], naming its var.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<WorkerConfig, ConfigError> {
        let v = Vars(var);
        let auth = match v.one_of("AUTH", &["open", "tokens"])? {
            Some("open") => Auth::Open,
            _ => {
                let tokens = parse_tokens(&v.get("TOKENS").unwrap_or_default())?;
                if tokens.is_empty() {
                    return Err(ConfigError::Missing {
                        var: "TOKENS",
                        why: "without AUTH = \"open\" writes need bearer tokens: wrangler secret put TOKENS \
                              (token=tenant, comma-separated)",
                    });
                }
                Auth::Tokens(tokens)
            }
        };
        let metrics_token = v.get("METRICS_TOKEN");
        if let Some(t) = &metrics_token
            && !is_bearer_token(t)
        {
            return Err(Vars::<fn(&str) -> Option<String>>::invalid(
                "METRICS_TOKEN",
                "not a bearer token: use letters, digits and -._~+/ with = only at the end",
            ));
        }
        let tenant = match v.get("TENANT_LABEL").as_deref() {
            Some("-") => TenantPlacement::Header,
            Some(name) => TenantPlacement::Label(name.into()),
            None => TenantPlacement::Label("tenant".into()),
        };
        let edge_labels = edge_labels(&v, "EDGE_LABELS")?;
        let shards: u32 = v.number("SHARD_COUNT", 4)?;
        if !(1..=1024).contains(&shards) {
            return Err(ConfigError::Invalid { var: "SHARD_COUNT", why: format!("{shards}: use 1 to 1024") });
        }
        let previous: Option<u32> = match v.get("PREVIOUS_SHARD_COUNT") {
            None => None,
            Some(_) => Some(v.number("PREVIOUS_SHARD_COUNT", 0)?).filter(|&n| n > 0),
        };
        if let Some(n) = previous.filter(|n| *n > 1024) {
            return Err(ConfigError::Invalid { var: "PREVIOUS_SHARD_COUNT", why: format!("{n}: use 1 to 1024") });
        }
        let mut settings = Settings {
            auth,
            tenant,
            edge_labels,
            drop_labels: v.list("DROP_LABELS"),
            refuse_labels: v.list("REFUSE_LABELS"),
            allowed_origins: v.list("ALLOWED_ORIGINS"),
            shards,
            reorder_window_ms: match v.get("REORDER_WINDOW") {
                None => None,
                Some(_) => Some(v.duration("REORDER_WINDOW", "0s")?).filter(|&ms| ms > 0),
            },
            ..Settings::default()
        };
        let l = &mut settings.limits;
        l.max_body_bytes = v.number("MAX_BODY_BYTES", l.max_body_bytes)?;
        l.max_decoded_bytes = v.number("MAX_DECODED_BYTES", l.max_decoded_bytes)?;
        l.max_series_per_request = v.number("MAX_SERIES_PER_REQUEST", l.max_series_per_request)?;
        l.max_samples_per_request = v.number("MAX_SAMPLES_PER_REQUEST", l.max_samples_per_request)?;
        l.max_labels_per_request = v.number("MAX_LABELS_PER_REQUEST", l.max_labels_per_request)?;
        l.max_labels_per_series = v.number("MAX_LABELS_PER_SERIES", l.max_labels_per_series)?;
        l.max_label_name_length = v.number("MAX_LABEL_NAME_LENGTH", l.max_label_name_length)?;
        l.max_label_value_length = v.number("MAX_LABEL_VALUE_LENGTH", l.max_label_value_length)?;
        l.max_help_length = v.number("MAX_HELP_LENGTH", l.max_help_length)?;
        l.max_exemplar_label_chars = v.number("MAX_EXEMPLAR_LABEL_CHARS", l.max_exemplar_label_chars)?;
        l.utf8_names_in_v1 = v.flag("UTF8_NAMES_IN_V1", false)?;
        let backend = match v.one_of("BACKEND", &["embedded", "remote_write"])? {
            None | Some("embedded") => Backend::Embedded {
                retention_ms: v.duration("RETENTION", "15d")?,
                compact_every_ms: v.duration("COMPACT_EVERY", "30s")?,
            },
            Some(_) => Backend::RemoteWrite(upstream(&v, settings.tenant == TenantPlacement::Header)?),
        };
        let rum = rum(&v, &settings.auth)?;
        let max_queue_bytes = v.number("MAX_QUEUE_BYTES", 1 << 30)?;
        Ok(WorkerConfig {
            settings,
            backend,
            layouts: Layouts { current: shards, previous },
            metrics_token,
            rum,
            max_queue_bytes,
        })
    }

    /// Whether `/metrics` may be read with this `Authorization` header: always when
    /// `AUTH = "open"`, otherwise with `METRICS_TOKEN` as bearer token (constant time).
    pub fn metrics_allowed(&self, authorization: Option<&str>) -> bool {
        if matches!(self.settings.auth, Auth::Open) {
            return true;
        }
        let Some(token) = &self.metrics_token else { return false };
        let auth = Auth::Tokens(vec![Token { secret: token.clone(), tenant: String::new() }]);
        super::auth::tenant(&auth, authorization).is_some()
    }
}

/// Labels the edge adds, as `name=value` pairs (`$colo` and `$country` taken from the request).
fn edge_labels<F: Fn(&str) -> Option<String>>(
    v: &Vars<F>,
    var: &'static str,
) -> Result<Vec<(String, String)>, ConfigError> {
    v.list(var)
        .into_iter()
        .map(|pair| {
            let (name, value) =
                pair.split_once('=').filter(|(n, v)| !n.is_empty() && !v.is_empty()).ok_or_else(|| {
                    ConfigError::Invalid { var, why: format!("{pair:?}: write name=value, e.g. colo=$colo") }
                })?;
            Ok((name.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

/// The RUM endpoint's settings.
fn rum<F: Fn(&str) -> Option<String>>(v: &Vars<F>, auth: &Auth) -> Result<RumSettings, ConfigError> {
    let defaults = RumSettings::default();
    let schema = match v.get("RUM_SCHEMA") {
        None => Schema::default(),
        Some(json) => Schema::with(&json).map_err(|e| Vars::<F>::invalid("RUM_SCHEMA", e.0))?,
    };
    let max_values: usize = v.number("RUM_MAX_VALUES", defaults.aggregate.max_values)?;
    if max_values == 0 {
        return Err(Vars::<F>::invalid("RUM_MAX_VALUES", "0: a label needs at least one value"));
    }
    let max_series: usize = v.number("RUM_MAX_SERIES", defaults.aggregate.max_series)?;
    if max_series == 0 {
        return Err(Vars::<F>::invalid("RUM_MAX_SERIES", "0: a metric needs at least one series"));
    }
    let flush_every_ms = v.duration("RUM_FLUSH_EVERY", "15s")?;
    if flush_every_ms < 1_000 {
        return Err(Vars::<F>::invalid("RUM_FLUSH_EVERY", "at least 1s: each flush writes every series"));
    }
    let idle_ms = v.duration("RUM_IDLE", "30m")?;
    if idle_ms <= flush_every_ms {
        return Err(Vars::<F>::invalid(
            "RUM_IDLE",
            "must be longer than RUM_FLUSH_EVERY (a series idle that long ends)",
        ));
    }
    Ok(RumSettings {
        schema,
        aggregate: RumConfig {
            max_values,
            max_series,
            idle_ms: idle_ms.min(i64::MAX as u64) as i64,
            ..RumConfig::default()
        },
        flush_every_ms,
        // Pages hold no token: RUM data goes to a tenant the operator names, or to the open
        // tenant when writes are open anyway.
        tenant: v.get("RUM_TENANT").or_else(|| matches!(auth, Auth::Open).then(|| "anonymous".into())),
        edge_labels: edge_labels(v, "RUM_EDGE_LABELS")?,
        max_body_bytes: v.number("RUM_MAX_BODY_BYTES", defaults.max_body_bytes)?,
        rate: match v.get("RUM_RATE_LIMIT").as_deref() {
            None => defaults.rate,
            Some("off") => None,
            Some(text) => Some(Rate::parse(text).map_err(|why| Vars::<F>::invalid("RUM_RATE_LIMIT", why))?),
        },
    })
}

fn upstream<F: Fn(&str) -> Option<String>>(v: &Vars<F>, tenant_header: bool) -> Result<Upstream, ConfigError> {
    let url = v.get("UPSTREAM_URL").ok_or(ConfigError::Missing {
        var: "UPSTREAM_URL",
        why: "BACKEND = \"remote_write\" forwards to it (e.g. http://prometheus:9090/api/v1/write)",
    })?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        // The value is left out: it may hold credentials.
        return Err(Vars::<F>::invalid("UPSTREAM_URL", "not an http:// or https:// URL"));
    }
    let defaults = forward::Config::default();
    let protocol = match v.one_of("UPSTREAM_PROTOCOL", &["v1", "v2"])? {
        Some("v2") => Version::V2,
        _ => Version::V1,
    };
    let forward = forward::Config {
        protocol,
        min_backoff_ms: v.duration("UPSTREAM_MIN_BACKOFF", "30ms")?,
        max_backoff_ms: v.duration("UPSTREAM_MAX_BACKOFF", "5s")?,
        policy: crate::sender::retry::Policy {
            retry_on_429: v.flag("UPSTREAM_RETRY_ON_429", defaults.policy.retry_on_429)?,
            max_retry_after_ms: v.duration("UPSTREAM_MAX_RETRY_AFTER", "5m")?,
            detect_v1_receivers: defaults.policy.detect_v1_receivers,
        },
        ..defaults
    };
    if forward.min_backoff_ms == 0 {
        return Err(Vars::<F>::invalid("UPSTREAM_MIN_BACKOFF", "must be at least 1ms"));
    }
    if forward.max_backoff_ms < forward.min_backoff_ms {
        return Err(Vars::<F>::invalid("UPSTREAM_MAX_BACKOFF", "must be at least UPSTREAM_MIN_BACKOFF"));
    }
    Ok(Upstream { url, authorization: v.get("UPSTREAM_AUTHORIZATION"), tenant_header, forward })
}

#[cfg(test)]
mod tests;
