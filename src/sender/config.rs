//! The sender's settings, named and defaulted as Prometheus's `queue_config` where they exist.

use crate::codec::Version;
use std::fmt;

/// What `push` does when a shard already holds `capacity` samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFull {
    /// Refuse the new data with [`super::PushError::QueueFull`] (the caller sees it).
    #[default]
    Reject,
    /// Drop the oldest pending data of that shard to make room, counted as dropped with
    /// reason `queue_full`.
    DropOldest,
}

/// Sender settings. `Config::default()` gives the documented defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Protocol to send. Default 1.0, which every receiver understands; with 2.0 a 415 (or a
    /// 2xx without Written headers, see `detect_v1_receivers`) switches the writer to 1.0 for good.
    pub protocol: Version,
    /// Number of shards: series are spread over them by a hash of their labels, each shard
    /// sends one request at a time. Default 4.
    pub shards: usize,
    /// A shard sends when it holds this many samples. Default 2000.
    pub max_samples_per_send: usize,
    /// ... or when its oldest pending sample has waited this long, in ms. Default 5000.
    pub batch_send_deadline_ms: u64,
    /// Most samples (histograms and exemplars count as samples) pending per shard, in flight
    /// included. Default 10,000.
    pub capacity: usize,
    /// What to do when a shard is full. Default [`OnFull::Reject`].
    pub on_full: OnFull,
    /// First retry delay, in ms. Default 30.
    pub min_backoff_ms: u64,
    /// Longest retry delay, in ms (the delay doubles up to it). Default 5000.
    pub max_backoff_ms: u64,
    /// Retry on 429 Too Many Requests (else drop the batch). Default true.
    pub retry_on_429: bool,
    /// Longest `Retry-After` honoured, in ms. Default 300,000 (5 minutes).
    pub max_retry_after_ms: u64,
    /// Drop samples older than this (in ms, relative to now) instead of sending or retrying
    /// them; 0 keeps everything. Default 0.
    pub sample_age_limit_ms: u64,
    /// With 2.0, treat a 2xx that has none of the Written headers as a 1.0 receiver (it decoded
    /// the 2.0 body as an empty 1.0 request). Turn off where response headers are hidden, as in
    /// browsers without `Access-Control-Expose-Headers`. Default true.
    pub detect_v1_receivers: bool,
    /// With 1.0, how often each metric family's metadata is sent again, in ms. Default 60,000.
    pub metadata_interval_ms: u64,
    /// A collection with more samples than this is split into several requests (and counted).
    /// Default 50,000.
    pub max_samples_per_request: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protocol: Version::V1,
            shards: 4,
            max_samples_per_send: 2000,
            batch_send_deadline_ms: 5000,
            capacity: 10_000,
            on_full: OnFull::Reject,
            min_backoff_ms: 30,
            max_backoff_ms: 5000,
            retry_on_429: true,
            max_retry_after_ms: 300_000,
            sample_age_limit_ms: 0,
            detect_v1_receivers: true,
            metadata_interval_ms: 60_000,
            max_samples_per_request: 50_000,
        }
    }
}

/// A setting out of range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid sender setting: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The retry rules these settings give.
    pub fn policy(&self) -> super::retry::Policy {
        super::retry::Policy {
            retry_on_429: self.retry_on_429,
            max_retry_after_ms: self.max_retry_after_ms,
            detect_v1_receivers: self.detect_v1_receivers,
        }
    }

    /// Checks the settings, as Prometheus does for `queue_config`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first setting out of range.
    pub fn check(&self) -> Result<(), ConfigError> {
        let positive = [
            ("shards", self.shards),
            ("max_samples_per_send", self.max_samples_per_send),
            ("capacity", self.capacity),
            ("max_samples_per_request", self.max_samples_per_request),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError(format!("{name} must be greater than 0")));
        }
        if self.shards > 256 {
            return Err(ConfigError("shards must be at most 256".into()));
        }
        if self.capacity < self.max_samples_per_send {
            return Err(ConfigError("capacity must be at least max_samples_per_send".into()));
        }
        if self.min_backoff_ms == 0 {
            return Err(ConfigError("min_backoff must be at least 1 ms".into()));
        }
        if self.max_backoff_ms < self.min_backoff_ms {
            return Err(ConfigError("max_backoff must be at least min_backoff".into()));
        }
        Ok(())
    }
}
