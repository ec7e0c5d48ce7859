//! What validation finds wrong, in words a sender's operator can act on.

use crate::error::HttpStatus;
use std::fmt;

/// A rule one series (or one metadata entry) breaks. The receiver refuses that series (400)
/// and may write the rest of the request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ValidationError {
    /// The series has no `__name__` label.
    MissingMetricName,
    /// A label has an empty name.
    EmptyLabelName,
    /// A label has an empty value (an empty value means "no label": leave it out).
    EmptyLabelValue {
        /// The label's name.
        name: String,
    },
    /// Labels are not sorted by name.
    UnsortedLabels {
        /// The name that came first.
        previous: String,
        /// The name that should have come before it.
        name: String,
    },
    /// The same label name appears twice.
    DuplicateLabel {
        /// The repeated name.
        name: String,
    },
    /// The metric name breaks the naming rules of this protocol version.
    InvalidMetricName {
        /// The metric name.
        name: String,
    },
    /// A label name breaks the naming rules of this protocol version.
    InvalidLabelName {
        /// The label name.
        name: String,
    },
    /// More labels than the limit.
    TooManyLabels {
        /// How many labels the series has.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A label name longer than the limit.
    LabelNameTooLong {
        /// The start of the name.
        name: String,
        /// Its length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// A label value longer than the limit.
    LabelValueTooLong {
        /// The label's name.
        name: String,
        /// The value's length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// Samples (or histograms) are not in strictly increasing timestamp order.
    OutOfOrder {
        /// `"sample"` or `"histogram"`.
        kind: &'static str,
        /// The timestamp before.
        previous: i64,
        /// The timestamp that is not after it.
        timestamp: i64,
    },
    /// A series with neither samples nor histograms (nor exemplars).
    NoData,
    /// A 2.0 series with both samples and histograms (send them as two series).
    SamplesAndHistograms,
    /// A start timestamp later than the sample it belongs to.
    StartAfterTimestamp {
        /// The start timestamp.
        start: i64,
        /// The sample's timestamp.
        timestamp: i64,
    },
    /// A native histogram is inconsistent.
    InvalidHistogram {
        /// The histogram's timestamp.
        timestamp: i64,
        /// What is wrong.
        reason: String,
    },
    /// An exemplar's labels are longer than the limit.
    ExemplarLabelsTooLong {
        /// UTF-8 characters in names and values together.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// HELP text longer than the limit.
    HelpTooLong {
        /// Its length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// A metadata entry without a metric family name.
    MissingFamilyName,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ValidationError::*;
        match self {
            MissingMetricName => f.write_str("series has no __name__ label"),
            EmptyLabelName => f.write_str("a label has an empty name"),
            EmptyLabelValue { name } => {
                write!(f, "label {name:?} has an empty value; leave the label out instead")
            }
            UnsortedLabels { previous, name } => {
                write!(f, "labels are not sorted by name: {name:?} comes after {previous:?}")
            }
            DuplicateLabel { name } => write!(f, "label name {name:?} appears more than once"),
            InvalidMetricName { name } => {
                write!(f, "metric name {name:?} is invalid: it must match [a-zA-Z_:][a-zA-Z0-9_:]*")
            }
            InvalidLabelName { name } => {
                write!(f, "label name {name:?} is invalid: it must match [a-zA-Z_][a-zA-Z0-9_]*")
            }
            TooManyLabels { count, limit } => {
                write!(f, "series has {count} labels, over the limit of {limit}")
            }
            LabelNameTooLong { name, length, limit } => {
                write!(f, "label name {name:?}... is {length} bytes, over the limit of {limit}")
            }
            LabelValueTooLong { name, length, limit } => {
                write!(f, "value of label {name:?} is {length} bytes, over the limit of {limit}")
            }
            OutOfOrder { kind, previous, timestamp } => write!(
                f,
                "{kind}s out of order: timestamp {timestamp} does not come after {previous}; \
                 send each series' samples in increasing timestamp order"
            ),
            NoData => f.write_str("series has no samples, histograms, exemplars or metadata"),
            SamplesAndHistograms => {
                f.write_str("series has both float samples and histograms; send them as separate series")
            }
            StartAfterTimestamp { start, timestamp } => {
                write!(f, "start timestamp {start} is after the sample's timestamp {timestamp}")
            }
            InvalidHistogram { timestamp, reason } => {
                write!(f, "invalid native histogram at timestamp {timestamp}: {reason}")
            }
            ExemplarLabelsTooLong { chars, limit } => {
                write!(f, "exemplar labels have {chars} characters, over the limit of {limit}")
            }
            HelpTooLong { length, limit } => {
                write!(f, "HELP text is {length} bytes, over the limit of {limit}")
            }
            MissingFamilyName => f.write_str("metadata entry has no metric family name"),
        }
    }
}

impl std::error::Error for ValidationError {}

impl HttpStatus for ValidationError {
    fn status(&self) -> u16 {
        400
    }
}
