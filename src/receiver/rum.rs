//! `/api/v1/rum`: what to answer a page's push, and which deltas go to which aggregator. The
//! push is remote write (1.0 or 2.0; snappy), but whose samples are increments; nothing in it
//! is trusted beyond what the RUM schema declares ([`crate::rum::check`]).
//!
//! A page sending with `fetch(..., { keepalive: true })` as it closes should not wait for a
//! CORS preflight: a push without `Content-Encoding` whose `Content-Type` is missing,
//! `text/plain` or `application/octet-stream` (what a browser may send without preflight) is
//! read as snappy-compressed remote write 1.0.

use super::{Receiver, Reply, Request, relabel};
use crate::codec::{self, Version};
use crate::error::HttpStatus;
use crate::model::Label;
use crate::rum::{Delta, RumSettings, check};
use crate::validate;

/// What to do with a push.
#[derive(Clone, Debug, PartialEq)]
pub enum RumOutcome {
    /// Answer this, aggregate nothing.
    Reply(Reply),
    /// Hand each aggregator its deltas (durably), then answer.
    Accept(RumAccepted),
}

/// A push whose valid part is to be aggregated.
#[derive(Clone, Debug, PartialEq)]
pub struct RumAccepted {
    /// The tenant (`RUM_TENANT`).
    pub tenant: String,
    /// Each metric's deltas, for its aggregator (`crate::rum::aggregator_name`).
    pub pushes: Vec<(String, Vec<Delta>)>,
    /// Samples taken and refused.
    pub written: u64,
    /// See `written`.
    pub refused: u64,
    /// The answer once every aggregator has stored its deltas: 204, or 400 naming what was
    /// refused.
    pub reply: Reply,
    /// The id the page gave this push (`?push=`), the same on every try: an aggregator that
    /// stored it already acknowledges it again without adding it again. `None`: a push
    /// without one (a beacon, sent once) is added at every try.
    pub push: Option<String>,
}

/// How far before its arrival a push whose age is not given may have been taken (ms): its
/// samples' times are the page's clock, trusted this far.
pub const SKEW_MS: i64 = 60_000;

/// When a page took a push that arrived at `received_ms` (the Worker's clock), from its
/// `age` (`?age=`: ms since the page took it, given again at each try): exact whatever the
/// page's clock says. Without it, the push's own time `page_ms` within [`SKEW_MS`] before its
/// arrival. A gauge keeps the value taken last: a try that arrives late does not replace a
/// newer value.
pub fn set_time(page_ms: i64, received_ms: i64, age_ms: Option<i64>) -> i64 {
    match age_ms {
        Some(age) => received_ms.saturating_sub(age),
        None => page_ms.clamp(received_ms.saturating_sub(SKEW_MS), received_ms),
    }
}

/// The `age` in a query string: ms since the page took the push, a whole number.
fn push_age(query: Option<&str>) -> Result<Option<i64>, String> {
    let Some(age) = query.unwrap_or_default().split('&').find_map(|p| p.strip_prefix("age=")) else {
        return Ok(None);
    };
    match age.parse::<u64>() {
        // (An age past i64's milliseconds is as old as any: the page's clock is not consulted.)
        Ok(ms) => Ok(Some(i64::try_from(ms).unwrap_or(i64::MAX))),
        Err(_) => Err(format!("age {age:?} must be the milliseconds since the page took the push, a whole number")),
    }
}

/// Longest push id.
pub const MAX_PUSH_ID: usize = 64;

/// The push id in a query string (`push=<id>`): 1 to [`MAX_PUSH_ID`] of `A-Z a-z 0-9 _ -`.
pub fn push_id(query: Option<&str>) -> Result<Option<&str>, String> {
    let Some(id) = query.unwrap_or_default().split('&').find_map(|p| p.strip_prefix("push=")) else {
        return Ok(None);
    };
    let ok = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    if id.is_empty() || id.len() > MAX_PUSH_ID || !id.bytes().all(|b| ok(&b)) {
        return Err(format!(
            "push id {id:?} must be 1 to {MAX_PUSH_ID} letters, digits, _ or - (one per push, the same on every try)"
        ));
    }
    Ok(Some(id))
}

impl Receiver {
    /// The refusal (413) of a push of `length` bytes over `RUM_MAX_BODY_BYTES`, if it is: the
    /// platform asks with `Content-Length` before it reads a body, [`Receiver::receive_rum`]
    /// with the bytes.
    pub fn rum_too_large(&self, rum: &RumSettings, req: &Request<'_>, length: usize) -> Option<Reply> {
        let limit = rum.max_body_bytes;
        (length > limit)
            .then(|| self.reply(req, 413, format!("push over the size limit of {limit} bytes (RUM_MAX_BODY_BYTES)")))
    }

    /// The refusal (429, `Retry-After`) of a push from a client over `RUM_RATE_LIMIT`, which
    /// may push again in `retry_after_s` seconds.
    pub fn rum_rate_limited(&self, req: &Request<'_>, retry_after_s: u64) -> Reply {
        let mut r = self.reply(
            req,
            429,
            format!("too many pushes from this client (RUM_RATE_LIMIT): retry in {retry_after_s} s"),
        );
        r.headers.push(("Retry-After", retry_after_s.to_string()));
        r
    }

    /// Decides about one RUM push.
    pub fn receive_rum(&mut self, rum: &RumSettings, req: &Request<'_>, body: &[u8]) -> RumOutcome {
        let refuse = |r: &Receiver, status, message: String| RumOutcome::Reply(r.reply(req, status, message));
        if req.method.eq_ignore_ascii_case("OPTIONS") {
            return RumOutcome::Reply(self.preflight(req));
        }
        if !req.method.eq_ignore_ascii_case("POST") {
            let mut r = self.reply(req, 405, format!("method {} not allowed: RUM pushes take POST", req.method));
            r.headers.push(("Allow", "POST, OPTIONS".into()));
            return RumOutcome::Reply(r);
        }
        if let Some(origin) = req.origin
            && !self.settings.origin_allowed(origin)
        {
            return refuse(self, 403, format!("origin {origin} may not push RUM here (ALLOWED_ORIGINS)"));
        }
        let Some(tenant) = rum.tenant.clone() else {
            return refuse(self, 404, "RUM is off: set RUM_TENANT to the tenant whose storage takes it".into());
        };
        if let Some(r) = self.rum_too_large(rum, req, body.len()) {
            return RumOutcome::Reply(r);
        }
        let (push, age) = match (push_id(req.query), push_age(req.query)) {
            (Ok(id), Ok(age)) => (id.map(str::to_string), age),
            (Err(why), _) | (_, Err(why)) => return refuse(self, 400, why),
        };
        let simple = req.content_encoding.is_none()
            && req.content_type.is_none_or(|t| {
                let t = t.split(';').next().unwrap_or_default().trim();
                t.eq_ignore_ascii_case("text/plain") || t.eq_ignore_ascii_case("application/octet-stream")
            });
        let version = if simple {
            Version::V1
        } else {
            match codec::check_content_encoding(req.content_encoding)
                .and_then(|()| Version::from_content_type(req.content_type))
            {
                Ok(v) => v,
                Err(e) => return refuse(self, e.status(), e.to_string()),
            }
        };
        let limits = self.settings.limits.clone();
        let decided = self.decoder.decode_with(body, version, |request| {
            // The spec's rules first (names, sorted labels, sizes), then the schema's.
            let report = validate::validate(request, version, &limits);
            let mut message = if report.is_valid() { String::new() } else { report.message(request, 20) };
            let invalid = report.retain_valid(request);
            let refused = invalid.samples + invalid.histograms;
            let checked = check(request, &rum.schema);
            if !checked.message.is_empty() {
                message = if message.is_empty() { checked.message } else { format!("{message}{}", checked.message) };
            }
            (checked.deltas, checked.written, refused + checked.refused, message)
        });
        let (mut deltas, written, refused, message) = match decided {
            Ok(d) => d,
            Err(e) => return refuse(self, e.status(), e.to_string()),
        };
        // The edge's labels, which a page cannot forge (the schema refuses a label it does
        // not declare, so a page's own label of that name never gets here).
        if !rum.edge_labels.is_empty() {
            // Only the edge labels: the tenant label is the shards' to add, at the flush.
            let edge = super::Settings {
                edge_labels: rum.edge_labels.clone(),
                tenant: super::TenantPlacement::Header,
                ..super::Settings::default()
            };
            for d in &mut deltas {
                let mut labels: Vec<Label<'_>> =
                    d.labels.iter().map(|(n, v)| Label::new(n.as_str(), v.as_str())).collect();
                // Nothing is refused: the edge settings hold no refused labels.
                let _ = relabel::apply(&mut labels, &edge, &tenant, (req.colo, req.country));
                d.labels = labels.into_iter().map(|l| (l.name.into_owned(), l.value.into_owned())).collect();
            }
        }
        let mut pushes: Vec<(String, Vec<Delta>)> = Vec::new();
        for mut d in deltas {
            d.at_ms = set_time(d.at_ms, req.received_ms, age);
            match pushes.iter_mut().find(|(m, _)| *m == d.metric) {
                Some((_, v)) => v.push(d),
                None => pushes.push((d.metric.clone(), vec![d])),
            }
        }
        let status = if message.is_empty() { 204 } else { 400 };
        RumOutcome::Accept(RumAccepted {
            tenant,
            pushes,
            written,
            refused,
            reply: self.reply(req, status, message),
            push,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Encoder;
    use crate::model::{Sample, Series, WriteRequest};
    use crate::receiver::Settings;
    use crate::rum::{Change, Schema};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn body(series: Vec<Series<'static>>) -> Vec<u8> {
        Encoder::new().encode(&WriteRequest { series, metadata: Vec::new() }, Version::V1).to_vec()
    }

    fn views(route: &str, n: f64) -> Series<'static> {
        Series {
            samples: vec![Sample::new(n, 1_000)],
            ..Series::from_pairs([("__name__", "rum_page_views_total".to_string()), ("route", route.to_string())])
        }
    }

    fn receiver() -> Receiver {
        Receiver::new(Settings { allowed_origins: vec!["https://shop.example".into()], ..Settings::default() })
    }

    const PAGE: Request<'static> = Request {
        method: "POST",
        content_type: Some("text/plain;charset=UTF-8"),
        content_encoding: None,
        authorization: None,
        origin: Some("https://shop.example"),
        received_ms: 0,
        colo: Some("FRA"),
        country: Some("DE"),
        query: None,
    };

    #[test]
    fn a_page_push_without_preflight_headers_is_taken() {
        let rum = RumSettings { edge_labels: vec![("country".into(), "$country".into())], ..RumSettings::default() };
        let RumOutcome::Accept(a) = receiver().receive_rum(&rum, &PAGE, &body(vec![views("/", 2.0)])) else { panic!() };
        assert_eq!((a.reply.status, a.written, a.refused), (204, 1, 0));
        assert_eq!(a.tenant, "anonymous");
        assert!(a.reply.headers.contains(&("Access-Control-Allow-Origin", "https://shop.example".into())));
        let (n, deltas) = &a.pushes[0];
        assert_eq!(n, "rum_page_views_total");
        assert_eq!(deltas[0].change, Change::Add(2.0));
        assert_eq!(
            deltas[0].labels,
            [("country".to_string(), "DE".to_string()), ("route".to_string(), "/".to_string())],
            "the edge's labels are added"
        );
    }

    #[test]
    fn a_push_id_is_carried_to_the_aggregators_or_refused_with_its_rule() {
        let rum = RumSettings::default();
        let ok = body(vec![views("/", 1.0)]);
        let outcome = |query| receiver().receive_rum(&rum, &Request { query, ..PAGE }, &ok);
        let RumOutcome::Accept(a) = outcome(Some("v=1&push=k3f_9-A")) else { panic!() };
        assert_eq!(a.push.as_deref(), Some("k3f_9-A"));
        let RumOutcome::Accept(a) = outcome(None) else { panic!() };
        assert_eq!(a.push, None, "a beacon has none");
        let long = format!("push={}", "a".repeat(MAX_PUSH_ID + 1));
        for bad in ["push=", "push=a%20b", "push=\u{e9}", long.as_str()] {
            let RumOutcome::Reply(r) = outcome(Some(bad)) else { panic!("{bad} accepted") };
            assert_eq!(r.status, 400, "{bad}");
            assert!(r.body.contains("must be 1 to 64 letters, digits, _ or -"), "{}", r.body);
        }
    }

    #[test]
    fn a_push_is_timed_on_the_workers_clock_by_its_age_or_within_a_minute_by_the_pages() {
        let received = 10_000_000;
        // Its age given (on every try): exact, whatever the page's clock says.
        assert_eq!(set_time(received + 3_600_000, received, Some(2_500)), received - 2_500);
        assert_eq!(set_time(0, received, Some(300_000)), received - 300_000, "a try five minutes late");
        // Without: the page's clock, trusted within a minute before the arrival.
        assert_eq!(set_time(received - 20_000, received, None), received - 20_000);
        assert_eq!(set_time(received + 3_600_000, received, None), received, "a clock ahead");
        assert_eq!(set_time(received - 3_600_000, received, None), received - SKEW_MS, "a clock behind");

        let rum = RumSettings::default();
        let gauge = Schema::with(r#"{"shop_mood": {"type": "gauge", "labels": [], "range": [-1, 1]}}"#).unwrap();
        let rum = RumSettings { schema: gauge, ..rum };
        let mood = Series {
            samples: vec![Sample::new(0.5, 999)],
            ..Series::from_pairs([("__name__", "shop_mood".to_string())])
        };
        let req = Request { received_ms: received, query: Some("push=a&age=1500"), ..PAGE };
        let RumOutcome::Accept(a) = receiver().receive_rum(&rum, &req, &body(vec![mood.clone()])) else { panic!() };
        assert_eq!(a.pushes[0].1[0].at_ms, received - 1_500, "each delta on the Worker's clock");
        // Past i64's milliseconds (a u64 still): older than any value set since.
        let ancient = Request { query: Some("age=18000000000000000000"), ..req };
        let RumOutcome::Accept(a) = receiver().receive_rum(&rum, &ancient, &body(vec![mood])) else { panic!() };
        assert_eq!(a.pushes[0].1[0].at_ms, received - i64::MAX);
        let bad = Request { query: Some("push=a&age=-5"), ..req };
        let RumOutcome::Reply(r) = receiver().receive_rum(&rum, &bad, &ok_body()) else { panic!() };
        assert_eq!(r.status, 400);
        assert!(r.body.contains("age \"-5\" must be the milliseconds since the page took the push"), "{}", r.body);
    }

    fn ok_body() -> Vec<u8> {
        body(vec![views("/", 1.0)])
    }

    #[test]
    fn refusals_say_why() {
        let rum = RumSettings::default();
        let undeclared = Series {
            samples: vec![Sample::new(1.0, 1_000)],
            ..Series::from_pairs([("__name__", "rum_secret_total".to_string())])
        };
        let RumOutcome::Accept(a) = receiver().receive_rum(&rum, &PAGE, &body(vec![undeclared, views("/", 1.0)]))
        else {
            panic!()
        };
        assert_eq!((a.reply.status, a.written, a.refused), (400, 1, 1), "a partial write");
        assert!(a.reply.body.contains("rum_secret_total: not a declared RUM metric"), "{}", a.reply.body);
        let reply = |rum: &RumSettings, req: &Request<'_>, b: &[u8]| match receiver().receive_rum(rum, req, b) {
            RumOutcome::Reply(r) => (r.status, r.body),
            RumOutcome::Accept(a) => panic!("accepted: {a:?}"),
        };
        let ok = body(vec![views("/", 1.0)]);
        let elsewhere = Request { origin: Some("https://evil.example"), ..PAGE };
        assert_eq!(reply(&rum, &elsewhere, &ok).0, 403);
        assert_eq!(reply(&rum, &Request { method: "GET", ..PAGE }, &ok).0, 405);
        let small = RumSettings { max_body_bytes: 10, ..RumSettings::default() };
        assert!(reply(&small, &PAGE, &ok).1.contains("RUM_MAX_BODY_BYTES"));
        let off = RumSettings { tenant: None, ..RumSettings::default() };
        assert_eq!(
            reply(&off, &PAGE, &ok),
            (404, "RUM is off: set RUM_TENANT to the tenant whose storage takes it".into())
        );
        assert_eq!(reply(&rum, &PAGE, b"not snappy").0, 400);
        let json = Request { content_type: Some("application/json"), content_encoding: Some("snappy"), ..PAGE };
        assert_eq!(reply(&rum, &json, &ok).0, 415);
    }

    #[test]
    fn an_aggregators_flush_is_routed_with_the_tenant_label_and_checked() {
        let mut rx = Receiver::new(Settings { shards: 2, ..Settings::default() });
        let bad = Series {
            samples: vec![Sample::new(1.0, 5)],
            ..Series::from_pairs([("__name__", "rum_x_total".to_string()), ("route", String::new())])
        };
        let mut flush = WriteRequest { series: vec![views("/", 3.0), bad], metadata: Vec::new() };
        let (batches, refused) = rx.route_own(&mut flush, "web");
        assert!(refused.contains("series 1"), "the invalid series is named: {refused}");
        assert_eq!(batches.iter().map(|b| b.counts.samples).sum::<u64>(), 1, "only the valid series goes");
        let stored = crate::codec::v2::decode(&batches[0].body, &crate::Limits::default()).unwrap();
        assert_eq!(stored.series[0].label("tenant"), Some("web"), "with the tenant label");
    }
}
