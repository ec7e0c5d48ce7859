//! The prometheus/compliance remote-write receiver suite's cases
//! (`edgewrite::compliance`) through the receiver: each gets the status and Written counts
//! the suite expects, and what is written is what the counts say, as valid 2.0. With the
//! tenant as a label (the default, which adds a label to every series) and as a header
//! (nothing added: the receiver's own sort is all that puts the suite's labels in order).
//! Over HTTP to the Worker: `tests/js/worker-http.test.mjs`.

use edgewrite::codec::{EXEMPLARS_WRITTEN_HEADER, HISTOGRAMS_WRITTEN_HEADER, SAMPLES_WRITTEN_HEADER};
use edgewrite::compliance::{Case, Expect, receiver_cases};
use edgewrite::receiver::*;
use edgewrite::*;
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

const NOW: i64 = 1_780_000_000_000;

fn header(r: &Reply, name: &str) -> Option<u64> {
    r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.parse().expect("a number"))
}

/// Every series the batches hold, decoded, and what they hold.
fn stored(a: &Accepted) -> (Vec<Series<'static>>, Counts) {
    let mut series = Vec::new();
    let mut counts = Counts::default();
    for b in &a.batches {
        let req = edgewrite::codec::v2::decode(&b.body, &Limits::default()).expect("a batch decodes").into_owned();
        let report = validate::validate(&req, Version::V2, &Limits::default());
        assert!(report.is_valid(), "a batch is valid 2.0: {}", report.message(&req, 5));
        for s in req.series {
            counts += s.counts();
            series.push(s);
        }
    }
    (series, counts)
}

/// What is wrong with the answer to `case`, if anything.
fn check(rx: &mut Receiver, case: &Case) -> Result<(), String> {
    let version = if case.content_type.contains("v2") { Version::V2 } else { Version::V1 };
    let req = Request {
        method: "POST",
        content_type: Some(case.content_type),
        content_encoding: Some(case.content_encoding),
        received_ms: NOW,
        ..Request::default()
    };
    let (reply, written) = match rx.receive(&req, &case.body) {
        Outcome::Reply(r) => (r, Counts::default()),
        Outcome::Accept(a) => {
            let (_, in_batches) = stored(&a);
            if in_batches != a.written {
                return Err(format!("the batches hold {in_batches:?}, the answer says {:?}", a.written));
            }
            (a.reply, a.written)
        }
    };
    let headers =
        [SAMPLES_WRITTEN_HEADER, EXEMPLARS_WRITTEN_HEADER, HISTOGRAMS_WRITTEN_HEADER].map(|h| header(&reply, h));
    let said = Counts {
        samples: headers[0].unwrap_or(0),
        exemplars: headers[1].unwrap_or(0),
        histograms: headers[2].unwrap_or(0),
    };
    if version == Version::V2 && reply.status != 415 && headers.contains(&None) {
        return Err(format!("{}: Written headers missing", reply.status));
    }
    if version == Version::V2 && said != written {
        return Err(format!("the headers say {said:?}, {written:?} is written"));
    }
    match case.expect {
        Expect::Written(want) if reply.status != 204 => {
            Err(format!("{} {}, not 204 with {want:?}", reply.status, reply.body))
        }
        Expect::Written(want) if version == Version::V1 && headers != [None; 3] => {
            Err(format!("Written headers on a 1.0 answer ({want:?} written)"))
        }
        Expect::Written(want) if version == Version::V2 && said != want => Err(format!("wrote {said:?}, not {want:?}")),
        Expect::Refused(status, _) if reply.status != status => {
            Err(format!("{} {}, not {status}", reply.status, reply.body))
        }
        Expect::Refused(_, at_most) if !at_most_each(said, at_most) => {
            Err(format!("wrote {said:?}, more than {at_most:?}"))
        }
        Expect::Refused(..) if reply.body.trim().is_empty() => Err("a refusal without a message".into()),
        _ => Ok(()),
    }
}

fn at_most_each(c: Counts, max: Counts) -> bool {
    c.samples <= max.samples && c.exemplars <= max.exemplars && c.histograms <= max.histograms
}

fn run(settings: Settings) {
    let mut rx = Receiver::new(settings);
    let cases = receiver_cases(NOW);
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let failed: Vec<String> =
        cases.iter().filter_map(|c| check(&mut rx, c).err().map(|why| format!("{}: {why}", c.name))).collect();
    assert!(failed.is_empty(), "{} of {} cases failed:\n{}", failed.len(), cases.len(), failed.join("\n"));
}

#[test]
fn every_case_of_the_compliance_receiver_suite_gets_the_answer_it_expects() {
    run(Settings::default());
}

#[test]
fn every_case_passes_with_the_tenant_in_a_header_where_nothing_else_sorts_the_labels() {
    run(Settings { tenant: TenantPlacement::Header, ..Settings::default() });
}

fn case(name: &str) -> Case {
    receiver_cases(NOW).into_iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no case {name}"))
}

/// What the receiver stores of a case, with the tenant in a header: nothing added to the
/// series, so only the receiver's own sort orders their labels.
fn accepted(name: &str) -> Vec<Series<'static>> {
    let mut rx = Receiver::new(Settings { tenant: TenantPlacement::Header, ..Settings::default() });
    let req = Request {
        method: "POST",
        content_type: Some(Version::V2.content_type()),
        received_ms: NOW,
        ..Request::default()
    };
    match rx.receive(&req, &case(name).body) {
        Outcome::Accept(a) => stored(&a).0,
        Outcome::Reply(r) => panic!("{name}: {} {}", r.status, r.body),
    }
}

#[test]
fn a_series_with_only_metadata_is_taken_and_its_metadata_kept() {
    let series = accepted("TestEdgeCaseCombinations/metadata_without_data");
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].label("__name__"), Some("orphan_metric"));
    assert_eq!(series[0].metadata.metric_type, MetricType::Counter);
    assert_eq!(series[0].metadata.help, "Metadata alone");
    // 1.0 has no such series: one without data is still refused there.
    let empty = Series::from_pairs([("__name__", "nothing")]);
    let report = validate::validate(
        &WriteRequest { series: vec![empty], metadata: Vec::new() },
        Version::V1,
        &Limits::default(),
    );
    assert!(!report.is_valid());
}

#[test]
fn the_older_2_0_layouts_created_timestamp_is_skipped_and_the_rest_read() {
    let series = accepted("TestCounterWithCreatedTimestamp");
    assert_eq!(series.len(), 1);
    assert_eq!((series[0].samples[0].value, series[0].samples[0].timestamp), (100.0, NOW));
}

#[test]
fn labels_sent_unsorted_are_stored_sorted() {
    let series = accepted("TestSingleMetric/simple metric with multiple labels/1.0");
    let names: Vec<&str> = series[0].labels.iter().map(|l| l.name.as_ref()).collect();
    assert_eq!(names, ["__name__", "instance", "job"]);
}
