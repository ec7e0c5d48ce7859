//! Bearer tokens, compared in constant time.

/// Who may write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Anyone: for local development only. Every write belongs to tenant `anonymous`.
    Open,
    /// Bearer tokens, each mapped to the tenant its writes belong to.
    Tokens(Vec<Token>),
}

/// A bearer token and its tenant.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// The secret a client sends as `Authorization: Bearer <secret>`.
    pub secret: String,
    /// The tenant its writes belong to.
    pub tenant: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

/// The tenant for an `Authorization` header, or `None` if it does not carry a valid token.
pub fn tenant(auth: &Auth, authorization: Option<&str>) -> Option<String> {
    let tokens = match auth {
        Auth::Open => return Some("anonymous".into()),
        Auth::Tokens(tokens) => tokens,
    };
    let presented = authorization?.trim();
    let (scheme, secret) = presented.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let secret = secret.trim().as_bytes();
    // Every token is compared in full, so the time taken says nothing about which matched.
    let mut found: Option<&Token> = None;
    for t in tokens {
        if constant_time_eq(t.secret.as_bytes(), secret) {
            found = Some(t);
        }
    }
    found.map(|t| t.tenant.clone())
}

/// Compares without an early exit on the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn tokens_map_to_tenants() {
        let auth = Auth::Tokens(vec![
            Token { secret: "s3cret-a".into(), tenant: "team-a".into() },
            Token { secret: "s3cret-b".into(), tenant: "team-b".into() },
        ]);
        assert_eq!(tenant(&auth, Some("Bearer s3cret-b")), Some("team-b".into()));
        assert_eq!(tenant(&auth, Some("bearer  s3cret-a ")), Some("team-a".into()));
        assert_eq!(tenant(&auth, Some("Bearer s3cret-")), None);
        assert_eq!(tenant(&auth, Some("Bearer s3cret-aa")), None);
        assert_eq!(tenant(&auth, Some("Basic s3cret-a")), None);
        assert_eq!(tenant(&auth, None), None);
        assert_eq!(tenant(&Auth::Open, None), Some("anonymous".into()));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"a", b""));
    }
}
