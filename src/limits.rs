//! Limits on what a request may hold, checked by the codec (sizes, before allocating) and by
//! [`crate::validate`] (everything else). Defaults follow Prometheus (32 MiB) and Mimir (label
//! counts and lengths).

/// Configurable limits. `Limits::default()` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest compressed body accepted, in bytes (413 above). Default 32 MiB.
    pub max_body_bytes: usize,
    /// Largest decompressed body, as declared by the snappy header, in bytes (413 above).
    /// Checked before anything is allocated. Default 32 MiB, as in Prometheus.
    pub max_decoded_bytes: usize,
    /// Most series in one request (413 above). Default 100,000.
    pub max_series_per_request: usize,
    /// Most samples, histograms and exemplars together in one request (413 above).
    /// Default 1,000,000 (Prometheus sends 2,000 by default).
    pub max_samples_per_request: usize,
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

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 << 20,
            max_decoded_bytes: 32 << 20,
            max_series_per_request: 100_000,
            max_samples_per_request: 1_000_000,
            max_labels_per_series: 30,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            max_help_length: 1024,
            max_exemplar_label_chars: 128,
            utf8_names_in_v1: false,
        }
    }
}
