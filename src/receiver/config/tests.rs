use super::*;
use crate::Limits;
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn parse(vars: &[(&str, &str)]) -> Result<WorkerConfig, ConfigError> {
    WorkerConfig::from_vars(|name| vars.iter().find(|v| v.0 == name).map(|v| v.1.to_string()))
}

fn open(vars: &[(&str, &str)]) -> Result<WorkerConfig, ConfigError> {
    let mut all = vec![("AUTH", "open")];
    all.extend_from_slice(vars);
    parse(&all)
}

fn invalid_var(result: Result<WorkerConfig, ConfigError>) -> &'static str {
    match result {
        Err(ConfigError::Invalid { var, .. } | ConfigError::Missing { var, .. }) => var,
        Ok(c) => panic!("accepted: {c:?}"),
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = open(&[]).unwrap();
    assert_eq!(c.settings.limits, Limits::default());
    assert_eq!(c.settings.auth, Auth::Open);
    assert_eq!(c.settings.tenant, TenantPlacement::Label("tenant".into()));
    assert_eq!(c.settings.shards, 4);
    assert_eq!(c.settings.reorder_window_ms, None);
    assert_eq!(c.backend, Backend::Embedded { retention_ms: 15 * 86_400_000, compact_every_ms: 30_000 });
    assert_eq!(c.layouts, Layouts { current: 4, previous: None });
    assert!(c.metrics_allowed(None));
}

#[test]
fn base64_tokens_with_padding_are_kept_whole() {
    // A token that ends in "=" (base64 padding) was cut at the first "=" before.
    let c = parse(&[("TOKENS", "c2VjcmV0LWE==team-a,dG9rZW4=team-b , abc+/_-.~123===team-c")]).unwrap();
    let Auth::Tokens(tokens) = &c.settings.auth else { panic!("open") };
    let pairs: Vec<(&str, &str)> = tokens.iter().map(|t| (t.secret.as_str(), t.tenant.as_str())).collect();
    assert_eq!(pairs, [("c2VjcmV0LWE=", "team-a"), ("dG9rZW4", "team-b"), ("abc+/_-.~123==", "team-c")]);
    assert_eq!(c.settings.tenant_of(Some("Bearer c2VjcmV0LWE=")), Some("team-a".into()));
    assert_eq!(c.settings.tenant_of(Some("Bearer c2VjcmV0LWE")), None, "a truncated secret does not pass");
    assert_eq!(c.settings.tenant_of(Some("Bearer abc+/_-.~123==")), Some("team-c".into()));
}

#[test]
fn tokens_may_be_separated_by_newlines() {
    let c = parse(&[("TOKENS", "one=a\ntwo=b\n")]).unwrap();
    assert_eq!(c.settings.tenants(), ["a", "b"]);
}

#[test]
fn bad_tokens_are_named_without_their_secret() {
    for (tokens, says) in [
        ("just-a-secret", "entry 1 has no \"=\""),
        ("s3cret=", "entry 1 has no tenant"),
        ("ok=a,=b", "not a bearer token"),
        ("ok=a,s3c\"ret=b", "the token of entry 2 (tenant \"b\") is not a bearer token"),
        ("a=b=c=d", "not a bearer token"),
        ("same=a,same=b", "entry 2 (tenant \"b\") repeats a token"),
        ("s3c=a/b", "the tenant of entry 1 is not"),
        ("s3c=\u{30c1}\u{30fc}\u{30e0}", "the tenant of entry 1 is not"),
    ] {
        let err = parse(&[("TOKENS", tokens)]).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("setting TOKENS: "), "{tokens:?}: {text}");
        assert!(text.contains(says), "{tokens:?}: {text}");
        assert!(!text.contains("s3c"), "the secret leaked: {text}");
    }
    // A comma or space inside a token splits it: the halves are reported, not silently used.
    assert_eq!(invalid_var(parse(&[("TOKENS", "abc,def=team")])), "TOKENS");
    assert_eq!(invalid_var(parse(&[("TOKENS", "abc def=team")])), "TOKENS");
}

#[test]
fn tokens_are_required_unless_open() {
    assert!(matches!(parse(&[]), Err(ConfigError::Missing { var: "TOKENS", .. })));
    assert_eq!(invalid_var(parse(&[("AUTH", "tokens"), ("TOKENS", " , ")])), "TOKENS");
    assert_eq!(invalid_var(parse(&[("AUTH", "none")])), "AUTH");
}

#[test]
fn metrics_take_their_own_token() {
    let c = parse(&[("TOKENS", "w=a"), ("METRICS_TOKEN", "bWV0cmljcw==")]).unwrap();
    assert!(c.metrics_allowed(Some("Bearer bWV0cmljcw==")));
    assert!(!c.metrics_allowed(Some("Bearer bWV0cmljcw")));
    assert!(!c.metrics_allowed(Some("Bearer w")), "a write token does not read metrics");
    assert!(!c.metrics_allowed(None));
    let no_token = parse(&[("TOKENS", "w=a")]).unwrap();
    assert!(!no_token.metrics_allowed(Some("Bearer ")));
    assert_eq!(invalid_var(parse(&[("TOKENS", "w=a"), ("METRICS_TOKEN", "has space")])), "METRICS_TOKEN");
    let debug = format!("{c:?}");
    assert!(!debug.contains("bWV0cmljcw") && !debug.contains("\"w\""), "secrets stay out of Debug: {debug}");
}

#[test]
fn every_limit_has_its_var() {
    let vars: Vec<(&str, String)> =
        VARS.iter().filter(|v| v.starts_with("MAX_")).map(|&v| (v, "7".to_string())).collect();
    assert_eq!(vars.len(), 11);
    let mut all: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    all.push(("UTF8_NAMES_IN_V1", "true"));
    let c = open(&all).unwrap();
    assert_eq!(c.max_queue_bytes, 7);
    let l = c.settings.limits;
    assert_eq!(
        l,
        Limits {
            max_body_bytes: 7,
            max_decoded_bytes: 7,
            max_series_per_request: 7,
            max_samples_per_request: 7,
            max_labels_per_request: 7,
            max_labels_per_series: 7,
            max_label_name_length: 7,
            max_label_value_length: 7,
            max_help_length: 7,
            max_exemplar_label_chars: 7,
            utf8_names_in_v1: true,
        }
    );
    for (name, _) in &vars {
        assert_eq!(invalid_var(open(&[(name, "12k")])), *name);
        assert_eq!(invalid_var(open(&[(name, "-1")])), *name);
    }
    assert_eq!(invalid_var(open(&[("UTF8_NAMES_IN_V1", "yes")])), "UTF8_NAMES_IN_V1");
}

#[test]
fn labels_origins_and_tenant_placement() {
    let c = open(&[
        ("EDGE_LABELS", "colo=$colo, region = eu"),
        ("DROP_LABELS", "session_id, ,user"),
        ("REFUSE_LABELS", "secret"),
        ("ALLOWED_ORIGINS", "https://a.example,https://b.example"),
        ("TENANT_LABEL", "-"),
    ])
    .unwrap();
    assert_eq!(c.settings.edge_labels, [("colo".into(), "$colo".into()), ("region".into(), "eu".into())]);
    assert_eq!(c.settings.drop_labels, ["session_id", "user"]);
    assert_eq!(c.settings.refuse_labels, ["secret"]);
    assert!(c.settings.origin_allowed("https://b.example"));
    assert!(!c.settings.origin_allowed("https://c.example"));
    assert_eq!(c.settings.tenant, TenantPlacement::Header);
    assert_eq!(open(&[("TENANT_LABEL", "org")]).unwrap().settings.tenant, TenantPlacement::Label("org".into()));
    assert_eq!(invalid_var(open(&[("EDGE_LABELS", "colo")])), "EDGE_LABELS");
    assert_eq!(invalid_var(open(&[("EDGE_LABELS", "=x")])), "EDGE_LABELS");
}

#[test]
fn shards_layouts_and_reorder_window() {
    let c = open(&[("SHARD_COUNT", "3"), ("PREVIOUS_SHARD_COUNT", "4"), ("REORDER_WINDOW", "30s")]).unwrap();
    assert_eq!(c.layouts, Layouts { current: 3, previous: Some(4) });
    assert_eq!(c.layouts.shards(), [(4, 0), (4, 1), (4, 2), (4, 3), (3, 0), (3, 1), (3, 2)]);
    assert_eq!(c.settings.shards, 3);
    assert_eq!(c.settings.reorder_window_ms, Some(30_000));
    assert_eq!(open(&[("REORDER_WINDOW", "0s")]).unwrap().settings.reorder_window_ms, None);
    assert_eq!(open(&[("PREVIOUS_SHARD_COUNT", "4"), ("SHARD_COUNT", "4")]).unwrap().layouts.shards().len(), 4);
    assert_eq!(Layouts::shard_name("team", 2, 4), "team/2/4");
    assert_eq!(invalid_var(open(&[("SHARD_COUNT", "0")])), "SHARD_COUNT");
    assert_eq!(invalid_var(open(&[("SHARD_COUNT", "four")])), "SHARD_COUNT");
    assert_eq!(invalid_var(open(&[("PREVIOUS_SHARD_COUNT", "x")])), "PREVIOUS_SHARD_COUNT");
    assert_eq!(invalid_var(open(&[("PREVIOUS_SHARD_COUNT", "5000")])), "PREVIOUS_SHARD_COUNT");
    assert_eq!(invalid_var(open(&[("REORDER_WINDOW", "30")])), "REORDER_WINDOW");
}

#[test]
fn backends() {
    let c = open(&[("RETENTION", "2d"), ("COMPACT_EVERY", "1s")]).unwrap();
    assert_eq!(c.backend, Backend::Embedded { retention_ms: 2 * 86_400_000, compact_every_ms: 1000 });
    assert_eq!(invalid_var(open(&[("RETENTION", "forever")])), "RETENTION");
    assert_eq!(invalid_var(open(&[("COMPACT_EVERY", "1")])), "COMPACT_EVERY");
    assert_eq!(invalid_var(open(&[("BACKEND", "s3")])), "BACKEND");
    assert_eq!(invalid_var(open(&[("BACKEND", "remote_write")])), "UPSTREAM_URL");
    assert_eq!(invalid_var(open(&[("BACKEND", "remote_write"), ("UPSTREAM_URL", "mimir:9009")])), "UPSTREAM_URL");

    let c = open(&[
        ("BACKEND", "remote_write"),
        ("UPSTREAM_URL", "https://mimir.example/api/v1/push"),
        ("UPSTREAM_PROTOCOL", "v2"),
        ("UPSTREAM_AUTHORIZATION", "Basic dTpw"),
        ("UPSTREAM_MIN_BACKOFF", "100ms"),
        ("UPSTREAM_MAX_BACKOFF", "10s"),
        ("UPSTREAM_MAX_RETRY_AFTER", "1m"),
        ("UPSTREAM_RETRY_ON_429", "false"),
        ("TENANT_LABEL", "-"),
    ])
    .unwrap();
    let Backend::RemoteWrite(up) = c.backend else { panic!("embedded") };
    assert_eq!(up.url, "https://mimir.example/api/v1/push");
    assert_eq!(up.authorization.as_deref(), Some("Basic dTpw"));
    assert!(up.tenant_header);
    assert_eq!(up.forward.protocol, Version::V2);
    assert_eq!((up.forward.min_backoff_ms, up.forward.max_backoff_ms), (100, 10_000));
    assert_eq!(up.forward.policy.max_retry_after_ms, 60_000);
    assert!(!up.forward.policy.retry_on_429);
    assert!(!format!("{up:?}").contains("dTpw"), "the secret stays out of Debug");

    let base = [("BACKEND", "remote_write"), ("UPSTREAM_URL", "http://127.0.0.1:9090/api/v1/write")];
    let with = |extra: (&'static str, &'static str)| {
        let mut v = base.to_vec();
        v.push(extra);
        open(&v)
    };
    let Backend::RemoteWrite(up) = open(&base).unwrap().backend else { panic!() };
    assert_eq!(up.forward, forward::Config::default(), "the sender's defaults");
    assert_eq!(invalid_var(with(("UPSTREAM_PROTOCOL", "2.0"))), "UPSTREAM_PROTOCOL");
    assert_eq!(invalid_var(with(("UPSTREAM_MAX_BACKOFF", "10ms"))), "UPSTREAM_MAX_BACKOFF");
    assert_eq!(invalid_var(with(("UPSTREAM_RETRY_ON_429", "no"))), "UPSTREAM_RETRY_ON_429");
    assert_eq!(invalid_var(with(("UPSTREAM_MIN_BACKOFF", "0s"))), "UPSTREAM_MIN_BACKOFF");
    let err = open(&[("BACKEND", "remote_write"), ("UPSTREAM_URL", "ftp://user:pw@host/")]).unwrap_err();
    assert!(!err.to_string().contains("pw"), "the URL's credentials stay out of the error: {err}");
    assert_eq!(err.var(), "UPSTREAM_URL");
    assert_eq!(invalid_var(with(("UPSTREAM_MAX_RETRY_AFTER", "soon"))), "UPSTREAM_MAX_RETRY_AFTER");
}

#[test]
fn every_var_is_read() {
    // Each var in VARS changes the configuration when given a value of its kind: none is
    // listed (and documented) without being read.
    let base = [("AUTH", "tokens"), ("TOKENS", "t=a"), ("BACKEND", "remote_write"), ("UPSTREAM_URL", "http://u/w")];
    let plain = parse(&base).unwrap();
    for &name in VARS {
        let value = match name {
            "AUTH" => "open",
            "TOKENS" => "u=b",
            "METRICS_TOKEN" => "m",
            "BACKEND" => "embedded",
            "UPSTREAM_URL" => "http://v/w",
            "UPSTREAM_PROTOCOL" => "v2",
            "UPSTREAM_AUTHORIZATION" => "Bearer x",
            "UPSTREAM_RETRY_ON_429" | "UTF8_NAMES_IN_V1" => {
                if name == "UTF8_NAMES_IN_V1" {
                    "true"
                } else {
                    "false"
                }
            }
            "RETENTION" | "COMPACT_EVERY" => continue, // read with BACKEND = "embedded" (see `backends`)
            "UPSTREAM_MIN_BACKOFF" => "1s",
            n if n.starts_with("UPSTREAM_") || n == "REORDER_WINDOW" => "7s",
            "SHARD_COUNT" | "PREVIOUS_SHARD_COUNT" => "9",
            "TENANT_LABEL" => "org",
            "EDGE_LABELS" | "RUM_EDGE_LABELS" => "a=b",
            "RUM_SCHEMA" => r#"{"x_total": {"type": "counter", "range": [0, 1]}}"#,
            "RUM_TENANT" => "web",
            "RUM_RATE_LIMIT" => "7/s",
            "RUM_FLUSH_EVERY" => "7s",
            "RUM_IDLE" => "7m",
            _ => "7",
        };
        let mut vars = base.to_vec();
        vars.retain(|v| v.0 != name);
        vars.push((name, value));
        let changed = parse(&vars).unwrap_or_else(|e| panic!("{name} = {value:?}: {e}"));
        assert_ne!(changed, plain, "{name} is not read");
    }
}

#[test]
fn wrangler_toml_documents_every_var_and_its_defaults_parse() {
    let toml = include_str!("../../../wrangler.toml");
    let vars_section = toml.split("[vars]").nth(1).unwrap().split("\n[").next().unwrap();
    let vars: Vec<(&str, &str)> = vars_section
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(n, v)| (n.trim(), v.trim().trim_matches('"')))
        .collect();
    let config = parse(&vars).expect("wrangler.toml's vars parse");
    assert_eq!(config.settings.limits, Limits::default(), "wrangler.toml states the defaults");
    assert_eq!(config.rum, crate::rum::RumSettings::default(), "and the RUM defaults");
    for name in VARS {
        let secret = ["TOKENS", "METRICS_TOKEN", "UPSTREAM_AUTHORIZATION"].contains(name);
        assert!(secret || vars.iter().any(|v| v.0 == *name), "{name} is not in wrangler.toml's [vars]");
        assert!(!secret || toml.contains(name), "the secret {name} is not documented in wrangler.toml");
    }
    for (name, _) in &vars {
        assert!(VARS.contains(name), "wrangler.toml sets {name}, which the Worker does not read");
    }
}

#[test]
fn rum_settings() {
    let c = open(&[]).unwrap();
    assert_eq!(c.rum.tenant.as_deref(), Some("anonymous"), "open writes: RUM on, for the open tenant");
    let tokens = parse(&[("AUTH", "tokens"), ("TOKENS", "t=team")]).unwrap();
    assert_eq!(tokens.rum.tenant, None, "with tokens, RUM is off until RUM_TENANT names a tenant");
    let named = parse(&[("AUTH", "tokens"), ("TOKENS", "t=team"), ("RUM_TENANT", "team")]).unwrap();
    assert_eq!(named.rum.tenant.as_deref(), Some("team"));
    let c = open(&[("RUM_IDLE", "2m"), ("RUM_FLUSH_EVERY", "5s"), ("RUM_EDGE_LABELS", "country=$country")]).unwrap();
    assert_eq!((c.rum.aggregate.idle_ms, c.rum.flush_every_ms), (120_000, 5_000));
    assert_eq!(open(&[("RUM_MAX_SERIES", "50")]).unwrap().rum.aggregate.max_series, 50);
    assert_eq!(c.rum.edge_labels, [("country".to_string(), "$country".to_string())]);
    assert_eq!(open(&[("RUM_RATE_LIMIT", "off")]).unwrap().rum.rate, None);
    for (var, value) in [
        ("RUM_SCHEMA", "{\"a\": 1}"),
        ("RUM_MAX_VALUES", "0"),
        ("RUM_MAX_SERIES", "0"),
        ("RUM_MAX_SERIES", "many"),
        ("RUM_FLUSH_EVERY", "100ms"),
        ("RUM_IDLE", "soon"),
        ("RUM_IDLE", "10s"),
        ("RUM_EDGE_LABELS", "country"),
        ("RUM_MAX_BODY_BYTES", "-1"),
        ("RUM_RATE_LIMIT", "lots"),
    ] {
        assert_eq!(invalid_var(open(&[(var, value)])), var, "{var} = {value}");
    }
}

#[test]
fn a_shard_queue_takes_batches_up_to_max_queue_bytes_and_always_one_when_empty() {
    let c = open(&[]).unwrap();
    assert_eq!(c.max_queue_bytes, 1 << 30, "1 GiB by default");
    let c = open(&[("MAX_QUEUE_BYTES", "1000")]).unwrap();
    assert!(c.queue_takes(0, 5_000), "an empty queue takes even a batch over the limit");
    assert!(c.queue_takes(600, 400), "up to the limit");
    assert!(!c.queue_takes(600, 401), "not past it");
    assert!(!c.queue_takes(5_000, 1));
    assert!(!c.queue_takes(u64::MAX, u64::MAX), "no overflow");
}
