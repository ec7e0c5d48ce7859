//! A compaction in slices: the queued batches a compaction takes are gathered once
//! ([`Grouper`](super::Grouper)), then their series are written out a slice at a time, each
//! slice its own short step (a Durable Object's alarm turn), so appends to the shard wait for
//! one slice, never for the whole compaction, and chunks stay as large as the whole compaction
//! makes them.
//!
//! Resuming: each step records how far it got ([`Compaction::progress`]) with what it wrote,
//! atomically; the queued batches go only with the last slice. After a restart the same batches
//! (all up to the recorded sequence number) are gathered again, in the same order, so the same
//! series come out in the same order, and the ones already written are skipped
//! ([`Compaction::resume`]): nothing is written twice, nothing lost.

use super::SeriesData;

/// Most samples, histograms and exemplars one slice writes (one series more only if a single
/// series holds more).
pub const POINTS_PER_SLICE: usize = 4096;
/// Most series one slice writes (a new series costs a few statements of its own).
pub const SERIES_PER_SLICE: usize = 512;

/// Where a compaction stands: the sequence number of the last batch it takes, and how many of
/// its series are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The last queued batch the compaction takes (it takes every batch up to it).
    pub last_seq: i64,
    /// Series written so far, in the order gathered.
    pub written: usize,
}

/// One compaction's series, written out slice by slice.
#[derive(Debug)]
pub struct Compaction {
    series: Vec<SeriesData>,
    progress: Progress,
}

impl Compaction {
    /// A compaction of `series` (gathered from the batches up to `last_seq`, in queue order).
    pub fn new(series: Vec<SeriesData>, last_seq: i64) -> Self {
        Compaction { series, progress: Progress { last_seq, written: 0 } }
    }

    /// The compaction recorded as `progress`, its batches gathered again into `series`: the
    /// series already written are skipped.
    pub fn resume(series: Vec<SeriesData>, progress: Progress) -> Self {
        let written = progress.written.min(series.len());
        Compaction { series, progress: Progress { written, ..progress } }
    }

    /// The next slice to write: series from where the last slice ended, up to
    /// [`POINTS_PER_SLICE`] points and [`SERIES_PER_SLICE`] series (at least one series, while
    /// any is left); empty once all are written. The slice counts as written.
    pub fn next_slice(&mut self) -> &[SeriesData] {
        let start = self.progress.written;
        let mut end = start;
        let mut points = 0;
        for s in &self.series[start..] {
            let n = s.samples.len() + s.histograms.len() + s.exemplars.len();
            if end > start && (points + n > POINTS_PER_SLICE || end - start >= SERIES_PER_SLICE) {
                break;
            }
            points += n;
            end += 1;
        }
        self.progress.written = end;
        &self.series[start..end]
    }

    /// Whether every series is written (the batches may go).
    pub fn is_done(&self) -> bool {
        self.progress.written >= self.series.len()
    }

    /// How far it got: to be recorded with each slice written.
    pub fn progress(&self) -> Progress {
        self.progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn series(points: &[usize]) -> Vec<SeriesData> {
        points
            .iter()
            .enumerate()
            .map(|(i, &n)| SeriesData {
                key: format!("s{i}"),
                samples: (0..n as i64).map(|t| Sample::new(1.0, t)).collect(),
                ..SeriesData::default()
            })
            .collect()
    }

    fn keys(slice: &[SeriesData]) -> Vec<&str> {
        slice.iter().map(|s| s.key.as_str()).collect()
    }

    #[test]
    fn slices_stop_at_the_point_budget_and_take_one_large_series_alone() {
        let mut c = Compaction::new(series(&[2000, 2000, 2000, 9000, 1]), 7);
        assert_eq!(keys(c.next_slice()), ["s0", "s1"], "4000 points; a third series would pass 4096");
        assert_eq!(keys(c.next_slice()), ["s2"]);
        assert_eq!(keys(c.next_slice()), ["s3"], "larger than a slice: alone");
        assert!(!c.is_done());
        assert_eq!(keys(c.next_slice()), ["s4"]);
        assert!(c.is_done());
        assert!(c.next_slice().is_empty());
        assert_eq!(c.progress(), Progress { last_seq: 7, written: 5 });
    }

    #[test]
    fn slices_stop_at_the_series_budget() {
        let mut c = Compaction::new(series(&[1; 1100]), 1);
        assert_eq!(c.next_slice().len(), SERIES_PER_SLICE);
        assert_eq!(c.next_slice().len(), SERIES_PER_SLICE);
        assert_eq!(c.next_slice().len(), 1100 - 2 * SERIES_PER_SLICE);
        assert!(c.is_done());
    }

    #[test]
    fn a_resumed_compaction_skips_what_was_written_and_goes_on_from_there() {
        let mut first = Compaction::new(series(&[3000, 3000, 3000]), 42);
        assert_eq!(keys(first.next_slice()), ["s0"]);
        let recorded = first.progress();
        // The instance goes; the same batches gathered again give the same series.
        let mut again = Compaction::resume(series(&[3000, 3000, 3000]), recorded);
        assert_eq!(keys(again.next_slice()), ["s1"]);
        assert_eq!(keys(again.next_slice()), ["s2"]);
        assert!(again.is_done());
        assert_eq!(again.progress().last_seq, 42);
        // A record past the end (cannot happen, but must not panic): done.
        assert!(Compaction::resume(series(&[1]), Progress { last_seq: 1, written: 9 }).is_done());
    }
}
