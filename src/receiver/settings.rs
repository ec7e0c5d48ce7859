//! What a receiver is configured with: limits, who may write, which labels the edge adds or
//! refuses, which origins may write from browsers, how many shards.

use super::auth::{self, Auth};
use crate::limits::Limits;

/// How the tenant travels to the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantPlacement {
    /// As a label with this name on every series (a client's own label of that name is
    /// replaced, so it cannot be forged).
    Label(String),
    /// As the `X-Scope-OrgID` header of the upstream request (Mimir, Cortex); nothing is added
    /// to the series.
    Header,
}

/// Receiver settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Sizes and counts.
    pub limits: Limits,
    /// Who may write.
    pub auth: Auth,
    /// How the tenant reaches the backend.
    pub tenant: TenantPlacement,
    /// Labels the edge adds to every series (e.g. `region`); a client's own labels of these
    /// names are replaced.
    pub edge_labels: Vec<(String, String)>,
    /// Labels removed from every series (e.g. a browser's `session_id`).
    pub drop_labels: Vec<String>,
    /// Labels whose presence gets a series refused (400 for that series).
    pub refuse_labels: Vec<String>,
    /// Origins browsers may write from (`*` for any); empty: no browser writes.
    pub allowed_origins: Vec<String>,
    /// Number of shards series are routed to.
    pub shards: u32,
    /// The reorder window (milliseconds), if on: samples older than this when they arrive are
    /// refused before the write is acknowledged, and the shards hold the rest for this long
    /// and release them in order ([`super::reorder`]).
    pub reorder_window_ms: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            auth: Auth::Open,
            tenant: TenantPlacement::Label("tenant".into()),
            edge_labels: Vec::new(),
            drop_labels: Vec::new(),
            refuse_labels: Vec::new(),
            allowed_origins: Vec::new(),
            shards: 4,
            reorder_window_ms: None,
        }
    }
}

impl Settings {
    /// The tenant an `Authorization` header authenticates (`anonymous` when open), or `None`
    /// for a missing or wrong token (401). Constant-time in the token.
    pub fn tenant_of(&self, authorization: Option<&str>) -> Option<String> {
        auth::tenant(&self.auth, authorization)
    }

    /// Every tenant that can write: `anonymous` when open, else the tokens' tenants.
    pub fn tenants(&self) -> Vec<String> {
        let mut out: Vec<String> = match &self.auth {
            Auth::Open => vec!["anonymous".into()],
            Auth::Tokens(tokens) => tokens.iter().map(|t| t.tenant.clone()).collect(),
        };
        out.sort();
        out.dedup();
        out
    }

    /// Whether a browser on `origin` may write.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == "*" || o == origin)
    }
}
