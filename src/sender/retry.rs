//! What a response means for a batch, and how long to wait before trying again: pure functions
//! of the status, the headers and a random number. [`Policy::judge`] is the one place these
//! rules are applied; the in-memory [`super::Sender`] and the durable-queue
//! [`super::forward::Forwarder`] both ask it.

use super::Response;
use crate::codec::Version;
use crate::model::Counts;

/// How a response status is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// 2xx: delivered.
    Success,
    /// 5xx (and 429 when retrying it): try again after a backoff.
    Retry,
    /// 415 Unsupported Media Type: the receiver may accept the other protocol version.
    Unsupported,
    /// Any other status: the batch can never succeed; drop it and report.
    Fatal,
}

/// Classifies a response status as Prometheus's remote-write client does.
pub fn classify(status: u16, retry_on_429: bool) -> Class {
    match status {
        200..=299 => Class::Success,
        429 if retry_on_429 => Class::Retry,
        415 => Class::Unsupported,
        500..=599 => Class::Retry,
        _ => Class::Fatal,
    }
}

/// Exponential backoff with jitter: each delay is drawn between half and all of the current
/// step, which doubles from `min_ms` up to `max_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    min_ms: u64,
    max_ms: u64,
    step_ms: u64,
}

impl Backoff {
    /// A backoff starting at `min_ms`.
    pub fn new(min_ms: u64, max_ms: u64) -> Self {
        Backoff { min_ms, max_ms, step_ms: min_ms }
    }

    /// The next delay in ms; `unit` is a random number in [0, 1).
    pub fn next_delay(&mut self, unit: f64) -> u64 {
        let step = self.step_ms.max(1);
        self.step_ms = (self.step_ms * 2).clamp(self.min_ms, self.max_ms);
        step / 2 + ((step - step / 2) as f64 * unit) as u64
    }

    /// Continues after `failures` failed attempts made before this backoff existed (a queue
    /// that outlived a restart): the next delay is drawn from the step those failures reached.
    pub fn resume(&mut self, failures: u32) {
        let step = self.min_ms.saturating_mul(1u64 << failures.min(63)).min(self.max_ms);
        self.step_ms = self.step_ms.max(step);
    }

    /// Back to `min_ms`, after a success.
    pub fn reset(&mut self) {
        self.step_ms = self.min_ms;
    }
}

/// Parses a `Retry-After` header (delay seconds, or an HTTP date) into a delay in ms from
/// `now_ms`. `None` if it is malformed; 0 if the date is past.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let at_ms = parse_http_date(value)?;
    Some(at_ms.saturating_sub(now_ms).max(0) as u64)
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to ms since the epoch. Reads fixed
/// byte positions (the format has them), which keeps string searching and slicing panics out of
/// the browser's wasm.
fn parse_http_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 29
        || &b[3..5] != b", "
        || &b[25..] != b" GMT"
        || [b[7], b[11], b[16]] != [b' '; 3]
        || [b[19], b[22]] != [b':'; 2]
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    const MONTHS: &[u8; 36] = b"JanFebMarAprMayJunJulAugSepOctNovDec";
    let month = MONTHS.chunks_exact(3).position(|m| m == &b[8..11])? as i64 + 1;
    let (day, year) = (num(5, 7)?, num(12, 16)?);
    let (h, m, sec) = (num(17, 19)?, num(20, 22)?, num(23, 25)?);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = crate::time::days_from_civil(year, month, day);
    Some(((days * 24 + h) * 60 + m) * 60_000 + sec * 1000)
}

/// The retry rules a sender follows (from its settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Retry on 429 Too Many Requests (else drop the batch).
    pub retry_on_429: bool,
    /// Longest `Retry-After` honoured, in ms: a longer one waits this long.
    pub max_retry_after_ms: u64,
    /// With 2.0, a 2xx without any Written header means a 1.0 receiver (it decoded the 2.0
    /// body as an empty 1.0 request).
    pub detect_v1_receivers: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { retry_on_429: true, max_retry_after_ms: 300_000, detect_v1_receivers: true }
    }
}

/// What a response means for the request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered: the receiver wrote `written` (all that was sent, unless a 2.0 receiver's
    /// headers say less; the rest counts as failed).
    Delivered {
        /// What was written.
        written: Counts,
    },
    /// Try the same request again after `delay_ms` (5xx, 429, network error).
    Retry {
        /// The delay: `Retry-After` (capped at `max_retry_after_ms`) or the next backoff step.
        delay_ms: u64,
    },
    /// The receiver does not take 2.0 (415, or a 2xx without Written headers): send the same
    /// data again at once as 1.0.
    FallBackToV1,
    /// Refused for good (a 4xx other than 429, or 415 to 1.0): drop it. A 2.0 receiver may have
    /// written part of it (a partial write): `written`.
    Refused {
        /// What was written anyway.
        written: Counts,
    },
}

impl Policy {
    /// Judges `response` to a request of `version` that carried `sent`, at `now` (for a
    /// `Retry-After` date). A retry without `Retry-After` takes the next step of `backoff`.
    pub fn judge(
        &self,
        version: Version,
        sent: Counts,
        response: &Response<'_>,
        now: i64,
        backoff: &mut Backoff,
        jitter: &mut Jitter,
    ) -> Verdict {
        // What a 2.0 receiver says it wrote (missing headers count 0 once any is present).
        let written = match (version, response.written) {
            (Version::V2, Some(w)) => Some(Counts {
                samples: w.samples.min(sent.samples),
                histograms: w.histograms.min(sent.histograms),
                exemplars: w.exemplars.min(sent.exemplars),
            }),
            _ => None,
        };
        match classify(response.status, self.retry_on_429) {
            Class::Success
                if version == Version::V2
                    && self.detect_v1_receivers
                    && response.written.is_none()
                    && sent != Counts::default() =>
            {
                Verdict::FallBackToV1
            }
            Class::Success => Verdict::Delivered { written: written.unwrap_or(sent) },
            Class::Retry => {
                let delay_ms = response
                    .retry_after
                    .and_then(|v| parse_retry_after(v, now))
                    .filter(|&d| d > 0)
                    .map(|d| d.min(self.max_retry_after_ms))
                    .unwrap_or_else(|| backoff.next_delay(jitter.unit()));
                Verdict::Retry { delay_ms }
            }
            Class::Unsupported if version == Version::V2 => Verdict::FallBackToV1,
            Class::Unsupported | Class::Fatal => Verdict::Refused { written: written.unwrap_or_default() },
        }
    }
}

/// A small deterministic random source (xorshift64*), seeded by the platform layer: the core
/// draws jitter from it and stays reproducible in tests.
#[derive(Clone, Debug)]
pub struct Jitter(u64);

impl Jitter {
    /// A source from a seed (any value; 0 is replaced).
    pub fn new(seed: u64) -> Self {
        Jitter(seed.max(1))
    }

    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn classifies_statuses_like_prometheus() {
        assert_eq!(classify(204, true), Class::Success);
        assert_eq!(classify(503, true), Class::Retry);
        assert_eq!(classify(429, true), Class::Retry);
        assert_eq!(classify(429, false), Class::Fatal);
        assert_eq!(classify(415, true), Class::Unsupported);
        assert_eq!(classify(400, true), Class::Fatal);
        assert_eq!(classify(404, true), Class::Fatal);
    }

    #[test]
    fn backoff_doubles_from_min_to_max_with_jitter_below_each_step() {
        let mut b = Backoff::new(30, 5000);
        let steps: Vec<u64> = (0..10).map(|_| b.next_delay(0.999_999)).collect();
        assert_eq!(steps, [29, 59, 119, 239, 479, 959, 1919, 3839, 4999, 4999]);
        let mut b = Backoff::new(30, 5000);
        let lows: Vec<u64> = (0..3).map(|_| b.next_delay(0.0)).collect();
        assert_eq!(lows, [15, 30, 60]);
        b.reset();
        assert_eq!(b.next_delay(0.0), 15);
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("7", 0), Some(7000));
        // 1994-11-06T08:49:37Z is 784111777 s after the epoch.
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", 784_111_777_000), Some(3000));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", 784_111_777_000), Some(0));
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-3", 0), None);
    }

    #[test]
    fn jitter_is_uniform_enough_and_reproducible() {
        let mut a = Jitter::new(42);
        let xs: Vec<f64> = (0..1000).map(|_| a.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / 1000.0;
        assert!((0.45..0.55).contains(&mean), "{mean}");
        assert_eq!(Jitter::new(42).unit(), xs[0]);
    }
}
