//! Limits on what a request may hold. The decoder checks sizes and counts before or while it
//! allocates (so a small, malicious body cannot make it use unbounded memory: with the defaults a
//! decoded request stays under about 40 MB besides its decompressed bytes), and refuses the whole
//! request with 413; [`crate::validate`] checks the per-series limits and reports each series.
//! Defaults follow Prometheus (32 MiB) and Mimir (label counts and lengths).

/// Configurable limits. `Limits::default()` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest compressed body accepted, in bytes (413 above). Default 32 MiB.
    pub max_body_bytes: usize,
    /// Largest decompressed body, as declared by the snappy header, in bytes (413 above).
    /// Checked before anything is allocated. Default 32 MiB, as in Prometheus.
    pub max_decoded_bytes: usize,
    /// Most series in one request (413 above). Default 20,000 (Prometheus sends at most
    /// `max_samples_per_send`, 2,000 by default). Checked by the decoder before it allocates.
    pub max_series_per_request: usize,
    /// Most data points in one request (413 above): samples, exemplars and 1.0 metadata entries
    /// count one each, a native histogram 8 plus one per bucket span and bucket count.
    /// Default 200,000. Checked by the decoder as it goes, so no body can make it allocate more.
    pub max_samples_per_request: usize,
    /// Most label strings in one request (413 above): labels of series and exemplars, and 2.0
    /// symbols and symbol references. Default 400,000. Checked by the decoder as it goes.
    pub max_labels_per_request: usize,
    /// Most labels on one series, `__name__` included. Default 30 (Mimir).
    pub max_labels_per_series: usize,
    /// Longest label name in bytes. Default 1024 (Mimir).
    pub max_label_name_length: usize,
    /// Longest label value in bytes (the metric name included). Default 2048 (Mimir).
    pub max_label_value_length: usize,
    /// Longest HELP text in bytes. Default 1024 (Mimir's max metadata length).
    pub max_help_length: usize,
    /// Most UTF-8 characters in one exemplar's label names and values together. Default 128
    /// (the OpenMetrics limit Prometheus enforces).
    pub max_exemplar_label_chars: usize,
    /// Accept UTF-8 metric and label names in 1.0 requests too (1.0 requires the legacy
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` rules; 2.0 only recommends them). Default false.
    pub utf8_names_in_v1: bool,
}

impl Limits {
    /// No limits at all: for bytes the program wrote itself (a queue it keeps), never for a
    /// request from outside.
    pub fn unlimited() -> Self {
        Limits {
            max_body_bytes: usize::MAX,
            max_decoded_bytes: usize::MAX,
            max_series_per_request: usize::MAX,
            max_samples_per_request: usize::MAX,
            max_labels_per_request: usize::MAX,
            max_labels_per_series: usize::MAX,
            max_label_name_length: usize::MAX,
            max_label_value_length: usize::MAX,
            max_help_length: usize::MAX,
            max_exemplar_label_chars: usize::MAX,
            utf8_names_in_v1: true,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 << 20,
            max_decoded_bytes: 32 << 20,
            max_series_per_request: 20_000,
            max_samples_per_request: 200_000,
            max_labels_per_request: 400_000,
            max_labels_per_series: 30,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            max_help_length: 1024,
            max_exemplar_label_chars: 128,
            utf8_names_in_v1: false,
        }
    }
}
