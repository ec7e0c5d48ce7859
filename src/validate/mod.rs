//! The spec's rules and the configured [`Limits`], applied to a decoded request.
//!
//! [`validate`] finds every problem and says which series (or metadata entry) it came from, so
//! a receiver can write the valid part of a request and refuse the rest with one 400 that lists
//! what was wrong (a partial write, as remote write 2.0 allows):
//!
//! ```
//! use edgewrite::{Limits, Version, WriteRequest, Series, Sample, validate};
//! let mut req = WriteRequest::default();
//! req.series.push(Series { samples: vec![Sample::new(1.0, 1000)], ..Series::from_pairs([("__name__", "up")]) });
//! req.series.push(Series { samples: vec![Sample::new(1.0, 1000)], ..Series::from_pairs([("job", "api")]) });
//! let report = validate::validate(&req, Version::V2, &Limits::default());
//! assert_eq!(report.problems().len(), 1); // the second series has no __name__
//! let refused = report.retain_valid(&mut req);
//! assert_eq!((req.series.len(), refused.samples), (1, 1));
//! ```
//!
//! Exemplar-only series (labels and exemplars, no samples) are accepted in both versions:
//! Prometheus sends every exemplar that way, although the 2.0 spec forbids it.

mod error;
mod histogram;
mod labels;

pub use error::ValidationError;
pub use histogram::{CUSTOM_BUCKETS_SCHEMA, check as check_histogram};
pub use labels::{is_legacy_label_name, is_legacy_metric_name};

use crate::codec::Version;
use crate::limits::Limits;
use crate::model::{Counts, Series, WriteRequest};
use std::fmt::Write as _;

/// Where in a request a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// `WriteRequest::series[i]`.
    Series(usize),
    /// `WriteRequest::metadata[i]` (1.0 metadata entries).
    Metadata(usize),
}

/// One problem and where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Which series or metadata entry.
    pub location: Location,
    /// What is wrong with it.
    pub error: ValidationError,
}

/// Everything [`validate`] found, in request order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    problems: Vec<Problem>,
}

impl Report {
    /// Whether the request broke no rule.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every problem found, series problems first, in request order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Removes the series and metadata entries that have problems from `req`, keeping the rest
    /// in order, and returns what was removed (for counting and for the Written headers).
    pub fn retain_valid(&self, req: &mut WriteRequest<'_>) -> Counts {
        let mut refused = Counts::default();
        if self.problems.is_empty() {
            return refused;
        }
        let bad_series = self.indices(|l| match l {
            Location::Series(i) => Some(i),
            Location::Metadata(_) => None,
        });
        let bad_meta = self.indices(|l| match l {
            Location::Metadata(i) => Some(i),
            Location::Series(_) => None,
        });
        let mut i = 0;
        req.series.retain(|s| {
            i += 1;
            let keep = bad_series.binary_search(&(i - 1)).is_err();
            if !keep {
                refused += s.counts();
            }
            keep
        });
        let mut i = 0;
        req.metadata.retain(|_| {
            i += 1;
            bad_meta.binary_search(&(i - 1)).is_err()
        });
        refused
    }

    /// The distinct indices, sorted, of the locations `pick` selects.
    fn indices(&self, pick: impl Fn(Location) -> Option<usize>) -> Vec<usize> {
        let mut v: Vec<usize> = self.problems.iter().filter_map(|p| pick(p.location)).collect();
        v.dedup();
        v
    }

    /// A message for the response body: how many entries were refused and why, one line each,
    /// at most `max_lines` lines (the rest summarised). Call it before
    /// [`Report::retain_valid`]: it names series by their index in `req` as validated.
    pub fn message(&self, req: &WriteRequest<'_>, max_lines: usize) -> String {
        let mut out = String::new();
        let series = self.indices(|l| match l {
            Location::Series(i) => Some(i),
            Location::Metadata(_) => None,
        });
        let metadata = self.indices(|l| match l {
            Location::Metadata(i) => Some(i),
            Location::Series(_) => None,
        });
        let _ = write!(out, "{} of {} series refused", series.len(), req.series.len());
        if !metadata.is_empty() {
            let _ = write!(out, ", {} of {} metadata entries refused", metadata.len(), req.metadata.len());
        }
        let _ = writeln!(out, "; the rest were accepted:");
        for p in self.problems.iter().take(max_lines) {
            match p.location {
                Location::Series(i) => {
                    let name = req.series.get(i).and_then(Series::metric_name).unwrap_or("");
                    let _ = writeln!(out, "series {i} ({}): {}", labels::truncate(name, 128), p.error);
                }
                Location::Metadata(i) => {
                    let _ = writeln!(out, "metadata {i}: {}", p.error);
                }
            }
        }
        if self.problems.len() > max_lines {
            let _ = writeln!(out, "... and {} more problems", self.problems.len() - max_lines);
        }
        out
    }
}

/// Checks `req` against the rules of `version` and the per-series `limits`, reporting every
/// problem with where it was found. (The request-wide limits, series and samples per request,
/// are the decoder's: it refuses such a request before allocating for it.)
pub fn validate(req: &WriteRequest<'_>, version: Version, limits: &Limits) -> Report {
    let legacy_names = version == Version::V1 && !limits.utf8_names_in_v1;
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for (i, s) in req.series.iter().enumerate() {
        check_series(s, version, legacy_names, limits, &mut found);
        problems.extend(found.drain(..).map(|error| Problem { location: Location::Series(i), error }));
    }
    for (i, m) in req.metadata.iter().enumerate() {
        if m.metric_family_name.is_empty() {
            found.push(ValidationError::MissingFamilyName);
        }
        if m.metadata.help.len() > limits.max_help_length {
            found.push(ValidationError::HelpTooLong { length: m.metadata.help.len(), limit: limits.max_help_length });
        }
        problems.extend(found.drain(..).map(|error| Problem { location: Location::Metadata(i), error }));
    }
    Report { problems }
}

fn check_series(s: &Series<'_>, version: Version, legacy_names: bool, limits: &Limits, out: &mut Vec<ValidationError>) {
    labels::check(&s.labels, legacy_names, limits, out);
    // (A 2.0 series may carry only its metadata: the compliance suite sends such series.)
    if s.samples.is_empty() && s.histograms.is_empty() && s.exemplars.is_empty() && s.metadata.is_empty() {
        out.push(ValidationError::NoData);
    }
    if version == Version::V2 && !s.samples.is_empty() && !s.histograms.is_empty() {
        out.push(ValidationError::SamplesAndHistograms);
    }
    in_order("sample", s.samples.iter().map(|x| (x.timestamp, x.start_timestamp)), out);
    in_order("histogram", s.histograms.iter().map(|h| (h.timestamp, h.start_timestamp)), out);
    for h in &s.histograms {
        if let Err(reason) = histogram::check(h) {
            out.push(ValidationError::InvalidHistogram { timestamp: h.timestamp, reason });
        }
    }
    for e in &s.exemplars {
        let chars: usize = e.labels.iter().map(|l| l.name.chars().count() + l.value.chars().count()).sum();
        if chars > limits.max_exemplar_label_chars {
            out.push(ValidationError::ExemplarLabelsTooLong { chars, limit: limits.max_exemplar_label_chars });
        }
    }
    if s.metadata.help.len() > limits.max_help_length {
        out.push(ValidationError::HelpTooLong { length: s.metadata.help.len(), limit: limits.max_help_length });
    }
}

/// Timestamps strictly increasing; start timestamps (when set) not after their sample.
fn in_order(kind: &'static str, stamps: impl Iterator<Item = (i64, i64)>, out: &mut Vec<ValidationError>) {
    let mut previous: Option<i64> = None;
    for (timestamp, start) in stamps {
        if let Some(previous) = previous.filter(|&p| timestamp <= p) {
            out.push(ValidationError::OutOfOrder { kind, previous, timestamp });
        }
        if start != 0 && start > timestamp {
            out.push(ValidationError::StartAfterTimestamp { start, timestamp });
        }
        previous = Some(timestamp);
    }
}
