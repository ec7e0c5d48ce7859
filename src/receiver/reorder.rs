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

use crate::model::{Sample, Series, WriteRequest};
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

    /// Takes every sample still held, per series, in timestamp order (to store them until the
    /// next round).
    pub fn take_held(&mut self) -> Vec<(K, Vec<Sample>)> {
        self.held.drain().map(|(k, v)| (k, v.into_values().collect())).collect()
    }

    /// Samples held now.
    pub fn held(&self) -> usize {
        self.held.values().map(BTreeMap::len).sum()
    }
}

/// What one release round of a shard decides (see [`release_round`]).
#[derive(Debug, Default)]
pub struct Round<'a> {
    /// Series whose samples are due, each with them sorted by timestamp (and, not held, the
    /// histograms, exemplars and metadata that arrived with it): send these now.
    pub due: Vec<Series<'a>>,
    /// Series with samples still inside the window: keep these, and feed them to the next
    /// round as a batch received at the time of this one.
    pub held: Vec<Series<'a>>,
    /// Samples refused: a timestamp the series already had (the first wins), or one older than
    /// the window when it was received (the receiver refuses those before acknowledging, by the
    /// same `received_ms`, so none reach here). Never released out of order.
    pub refused: u64,
}

/// One release round over a shard's queue of `(received_ms, batch)`, oldest first: every float
/// sample is held until the clock is `window_ms` past its timestamp, then released with the
/// others of its series in timestamp order. Histograms and exemplars are not held: they go
/// out with the next release of their series, in arrival order.
///
/// Sans-I/O: the shard stores `due` (to deliver) and `held` (to feed back) in one step.
pub fn release_round<'a, 'b>(batches: &'b [(i64, WriteRequest<'a>)], window_ms: u64, now: i64) -> Round<'a> {
    let mut index: HashMap<&'b [crate::model::Label<'a>], usize> = HashMap::new();
    let mut series: Vec<Series<'a>> = Vec::new();
    let mut window = ReorderWindow::new(window_ms);
    let mut round = Round::default();
    for (received, batch) in batches {
        for s in &batch.series {
            let i = *index.entry(&s.labels[..]).or_insert_with(|| {
                series.push(Series { labels: s.labels.clone(), ..Series::default() });
                series.len() - 1
            });
            let entry = &mut series[i];
            entry.histograms.extend(s.histograms.iter().cloned());
            entry.exemplars.extend(s.exemplars.iter().cloned());
            if !s.metadata.is_empty() {
                entry.metadata = s.metadata.clone();
            }
            for &sample in &s.samples {
                if window.insert(i, sample, *received).is_err() {
                    round.refused += 1;
                }
            }
        }
    }
    let mut due: Vec<Option<Vec<Sample>>> = vec![None; series.len()];
    for (i, samples) in window.release(now) {
        due[i] = Some(samples);
    }
    let mut held: Vec<Option<Vec<Sample>>> = vec![None; series.len()];
    for (i, samples) in window.take_held() {
        held[i] = Some(samples);
    }
    for (i, s) in series.into_iter().enumerate() {
        if let Some(samples) = held[i].take() {
            round.held.push(Series {
                labels: s.labels.clone(),
                samples,
                metadata: s.metadata.clone(),
                ..Series::default()
            });
        }
        let samples = due[i].take().unwrap_or_default();
        if !samples.is_empty() || !s.histograms.is_empty() || !s.exemplars.is_empty() {
            round.due.push(Series { samples, ..s });
        }
    }
    round
}

/// Whether a sample received at `now` is too old for a window of `window_ms` (the receiver
/// refuses it before acknowledging, as the spec's FAQ says a reordering receiver does).
pub fn too_old(timestamp: i64, window_ms: u64, now: i64) -> bool {
    timestamp < now.saturating_sub(window_ms as i64)
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

    #[test]
    fn a_round_releases_due_samples_sorted_and_holds_the_rest() {
        let series = |name: &'static str, ts: &[i64]| Series {
            samples: ts.iter().map(|&t| s(t)).collect(),
            ..Series::from_pairs([("__name__", name)])
        };
        let req = |list: Vec<Series<'static>>| WriteRequest { series: list, metadata: Vec::new() };
        let mut hist = series("h", &[]);
        hist.histograms.push(crate::Histogram { timestamp: 1_500, ..Default::default() });
        let batches = [
            (10_000, req(vec![series("a", &[9_000, 9_500]), series("b", &[9_800])])),
            (10_100, req(vec![series("a", &[9_200, 9_000, 9_900]), hist])),
        ];
        let round = release_round(&batches, 1_000, 10_600);
        let view = |list: &[Series<'_>]| -> Vec<(String, Vec<i64>)> {
            list.iter()
                .map(|x| (x.label("__name__").unwrap().to_string(), x.samples.iter().map(|s| s.timestamp).collect()))
                .collect()
        };
        // Due: before 9_600. a's 9_200 came late but within the window of its arrival: sorted in.
        assert_eq!(view(&round.due), [("a".to_string(), vec![9_000, 9_200, 9_500]), ("h".to_string(), vec![])]);
        assert_eq!(round.due[1].histograms.len(), 1, "histograms are not held");
        let mut held = view(&round.held);
        held.sort();
        assert_eq!(held, [("a".to_string(), vec![9_900]), ("b".to_string(), vec![9_800])]);
        assert_eq!(round.refused, 1, "a's second 9_000: the first wins");
        // Held samples fed back as received at the round's time stay accepted.
        let again = [(10_600, req(round.held))];
        let next = release_round(&again, 1_000, 11_000);
        assert_eq!(view(&next.due), [("a".to_string(), vec![9_900]), ("b".to_string(), vec![9_800])]);
        assert!(next.held.is_empty() && next.refused == 0);
        assert!(too_old(8_999, 1_000, 10_000) && !too_old(9_000, 1_000, 10_000));
    }
}
