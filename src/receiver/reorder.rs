//! The reorder window: a shard holds samples for a while and releases them sorted per series,
//! so senders that cannot keep order (browsers, retried batches) still produce in-order
//! writes upstream. The remote-write spec's FAQ names this as the way to lift the in-order
//! rule.
//!
//! Time is the samples' own: a sample is held until the wall clock is `window_ms` past its
//! timestamp, then released with the others of its series in timestamp order. A sample that
//! arrives when the clock is already past that point is too old to be put in order, and is
//! refused (with a duplicate timestamp, the first sample wins and the second is refused).
//! Sans-I/O: the platform passes `now` in and stores what is released.

use crate::model::Sample;
use std::collections::{BTreeMap, HashMap};

/// Why a sample was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Older than the window: the series has moved on.
    TooOld {
        /// The oldest timestamp still accepted.
        oldest_accepted: i64,
    },
    /// The series already holds a sample at this timestamp.
    Duplicate,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::TooOld { oldest_accepted } => {
                write!(f, "sample is older than the reorder window (oldest accepted timestamp {oldest_accepted})")
            }
            Refused::Duplicate => f.write_str("a sample with this timestamp is already held for the series"),
        }
    }
}

/// Samples held per series (keyed by the caller's series key, e.g. its label hash or id).
#[derive(Debug)]
pub struct ReorderWindow<K> {
    window_ms: i64,
    held: HashMap<K, BTreeMap<i64, Sample>>,
    /// Per series, the newest timestamp released: nothing at or before it is accepted.
    released: HashMap<K, i64>,
}

impl<K: std::hash::Hash + Eq + Clone> ReorderWindow<K> {
    /// A window of `window_ms` milliseconds.
    pub fn new(window_ms: u64) -> Self {
        ReorderWindow { window_ms: window_ms as i64, held: HashMap::new(), released: HashMap::new() }
    }

    /// Holds a sample of `series` until it can be released in order.
    ///
    /// # Errors
    /// [`Refused::TooOld`] if its timestamp is before `now - window` or not after what the
    /// series already released; [`Refused::Duplicate`] for a timestamp already held.
    pub fn insert(&mut self, series: K, sample: Sample, now: i64) -> Result<(), Refused> {
        let horizon = now.saturating_sub(self.window_ms);
        let released = self.released.get(&series).copied().unwrap_or(i64::MIN);
        let oldest_accepted = horizon.max(released.saturating_add(1));
        if sample.timestamp < oldest_accepted {
            return Err(Refused::TooOld { oldest_accepted });
        }
        let held = self.held.entry(series).or_default();
        if held.contains_key(&sample.timestamp) {
            return Err(Refused::Duplicate);
        }
        held.insert(sample.timestamp, sample);
        Ok(())
    }

    /// Releases every sample whose time has come (timestamp before `now - window`), per
    /// series, in timestamp order.
    pub fn release(&mut self, now: i64) -> Vec<(K, Vec<Sample>)> {
        let horizon = now.saturating_sub(self.window_ms);
        let mut out = Vec::new();
        self.held.retain(|series, held| {
            let later = held.split_off(&horizon);
            let due = std::mem::replace(held, later);
            if let Some((&last, _)) = due.last_key_value() {
                self.released.insert(series.clone(), last);
                out.push((series.clone(), due.into_values().collect()));
            }
            !held.is_empty()
        });
        out
    }

    /// When the next held sample is due (ms), if any.
    pub fn next_release(&self) -> Option<i64> {
        self.held
            .values()
            .filter_map(|h| h.keys().next())
            .min()
            .map(|&t| t.saturating_add(self.window_ms).saturating_add(1))
    }

    /// Samples held now.
    pub fn held(&self) -> usize {
        self.held.values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn s(ts: i64) -> Sample {
        Sample::new(ts as f64, ts)
    }

    #[test]
    fn out_of_order_samples_come_out_in_order() {
        let mut w = ReorderWindow::new(10_000);
        for ts in [1_005, 1_001, 1_003, 1_002] {
            w.insert("a", s(ts), 1_010).unwrap();
        }
        w.insert("b", s(1_004), 1_010).unwrap();
        assert_eq!(w.next_release(), Some(11_002));
        assert!(w.release(11_001).is_empty(), "nothing is due before the window has passed");
        let out = w.release(11_004);
        let ts: Vec<(&str, Vec<i64>)> =
            out.iter().map(|(k, v)| (*k, v.iter().map(|x| x.timestamp).collect())).collect();
        assert_eq!(ts, [("a", vec![1_001, 1_002, 1_003])]);
        assert_eq!(w.held(), 2, "a's 1005 and b's 1004 wait");
    }

    #[test]
    fn samples_older_than_the_window_or_what_was_released_are_refused() {
        let mut w = ReorderWindow::new(1_000);
        assert_eq!(w.insert("a", s(500), 2_000), Err(Refused::TooOld { oldest_accepted: 1_000 }));
        w.insert("a", s(1_500), 2_000).unwrap();
        assert_eq!(w.insert("a", s(1_500), 2_000), Err(Refused::Duplicate));
        assert_eq!(w.release(2_600).len(), 1);
        // Series a released 1500: nothing at or before it can be put in order any more,
        // even if the clock alone would allow it.
        assert_eq!(w.insert("a", s(1_500), 2_400), Err(Refused::TooOld { oldest_accepted: 1_501 }));
        assert_eq!(w.insert("a", s(1_501), 2_400), Ok(()));
        assert!(Refused::TooOld { oldest_accepted: 7 }.to_string().contains("oldest accepted timestamp 7"));
    }
}
