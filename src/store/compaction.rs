//! A compaction in short steps (a Durable Object's alarm turns), so that appends to the shard
//! wait for one step, never for a whole compaction, while chunks stay as large as the whole
//! compaction makes them: first the queued batches it takes are gathered by series
//! ([`Grouper`], [`GATHER_PER_STEP`] batches a step, up to [`MAX_BATCHES`] batches or
//! [`MAX_POINTS`] points in all), then their series are written out a slice a step
//! ([`Compaction::next_slice`]).
//!
//! Resuming: each slice's step records how far it got ([`Compaction::progress`]) with what it
//! wrote, atomically; the queued batches go only with the last slice; gathering writes nothing.
//! After a restart the same batches (all up to the recorded sequence number) are gathered
//! again, in the same order, so the same series come out in the same order, and the ones
//! already written are skipped ([`Compaction::resume`]): nothing is written twice, nothing lost.
//!
//! Reads while a compaction is under way find the series it has written both in chunks and in
//! the queue: the merge keeps one of each timestamp, but both count against a read's limit.

use super::{Grouper, SeriesData};
use crate::model::WriteRequest;

/// Queued batches one step decodes and groups.
pub const GATHER_PER_STEP: usize = 8;
/// Most queued batches one compaction takes (its chunks hold what they carry of each series).
pub const MAX_BATCHES: usize = 200;
/// Samples, histograms and exemplars after which a compaction stops gathering (it holds them
/// in memory: a Durable Object has 128 MB): at the end of the step that reaches this, so it
/// may hold up to [`GATHER_PER_STEP`] batches more.
pub const MAX_POINTS: u64 = 250_000;

/// Most samples, histograms and exemplars one slice writes (one series more only if a single
/// series holds more).
pub const POINTS_PER_SLICE: usize = 4096;
/// Most series one slice writes (a new series costs a few statements of its own).
pub const SERIES_PER_SLICE: usize = 512;

/// Where a compaction stands: the sequence number of the last batch it takes, how many of its
/// series are written, and the last of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The last queued batch the compaction takes (it takes every batch up to it).
    pub last_seq: i64,
    /// Series written so far, in the order gathered.
    pub written: usize,
    /// The key of the last series written (empty if none): a resumed compaction whose series
    /// come out in another order (a release that groups differently) starts its writing over.
    pub last_key: String,
}

impl Progress {
    /// The progress as one line of text (`last_seq written last_key`), to be recorded.
    pub fn to_text(&self) -> String {
        format!("{} {} {}", self.last_seq, self.written, self.last_key)
    }

    /// The progress recorded by [`Progress::to_text`] (or by the release before it, without
    /// the key); `None` if it is not that.
    pub fn from_text(text: &str) -> Option<Progress> {
        let mut parts = text.splitn(3, ' ');
        let last_seq = parts.next()?.parse().ok()?;
        let written = parts.next()?.parse().ok()?;
        Some(Progress { last_seq, written, last_key: parts.next().unwrap_or_default().to_string() })
    }
}

/// When the next compaction should start, after one ended (`now_ms`), given what the queue
/// holds (`batches` holding `points`, the oldest received at `oldest_ms`): at once if that
/// is a whole compaction or the oldest has waited `every_ms` (`COMPACT_EVERY`), else once it
/// has; `None` if nothing is queued. So that a compaction, whose appends run between its
/// steps, does not start the next at once with the few batches that came meanwhile.
pub fn next_start(batches: u64, points: u64, oldest_ms: Option<i64>, now_ms: i64, every_ms: u64) -> Option<u64> {
    let oldest = oldest_ms.filter(|_| batches > 0)?;
    if batches >= MAX_BATCHES as u64 || points >= MAX_POINTS {
        return Some(0);
    }
    Some(oldest.saturating_add(every_ms.min(i64::MAX as u64) as i64).saturating_sub(now_ms).max(0) as u64)
}

/// Which queued batches a gathering step reads: those after sequence number `after`, up to
/// `until` if set, at most `limit`, in sequence order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    /// The last batch gathered so far (0 before the first: sequence numbers start at 1).
    pub after: i64,
    /// The last batch a resumed compaction takes.
    pub until: Option<i64>,
    /// How many.
    pub limit: usize,
}

/// One compaction: gathering batches, then writing its series slice by slice.
#[derive(Default)]
pub struct Compaction {
    grouper: Option<Grouper>,
    series: Vec<SeriesData>,
    /// The last batch gathered.
    last_seq: i64,
    batches: usize,
    points: u64,
    /// Set when resuming: the batches to gather again, and the series already written.
    resumed: Option<Progress>,
    written: usize,
}

impl Compaction {
    /// A compaction of the oldest queued batches.
    pub fn new() -> Self {
        Compaction { grouper: Some(Grouper::default()), ..Compaction::default() }
    }

    /// The compaction recorded as `progress`: its batches are gathered again, and the series
    /// already written are skipped (all are written again if the series come out otherwise).
    pub fn resume(progress: Progress) -> Self {
        Compaction { resumed: Some(progress), ..Compaction::new() }
    }

    /// What the next gathering step reads; `None` once gathering is over.
    pub fn next_read(&self) -> Option<Read> {
        self.grouper.as_ref()?;
        Some(Read { after: self.last_seq, until: self.resumed.as_ref().map(|p| p.last_seq), limit: GATHER_PER_STEP })
    }

    /// Adds a batch read (sequence number `seq`, holding `points`), in sequence order.
    pub fn add(&mut self, seq: i64, points: u64, batch: &WriteRequest<'_>) {
        if let Some(g) = &mut self.grouper {
            g.add(batch);
            self.last_seq = seq;
            self.batches += 1;
            self.points += points;
        }
    }

    /// Ends a gathering step that read `n` batches: gathering is over when the queue (or the
    /// resumed compaction's batches) gave fewer than asked, or the compaction is full.
    pub fn gathered(&mut self, n: usize) {
        let until = self.resumed.as_ref().map(|p| p.last_seq);
        let over = n < GATHER_PER_STEP
            || until.is_some_and(|u| self.last_seq >= u)
            || (until.is_none() && (self.batches >= MAX_BATCHES || self.points >= MAX_POINTS));
        if over && let Some(g) = self.grouper.take() {
            self.series = g.finish();
            self.written = match &self.resumed {
                // (A record without a key was made by the release before keys were recorded,
                // which grouped the same way.)
                Some(p) if p.last_key.is_empty() => p.written.min(self.series.len()),
                Some(p) if p.written > 0 && self.series.get(p.written - 1).is_some_and(|s| s.key == p.last_key) => {
                    p.written
                }
                _ => 0,
            };
        }
    }

    /// Whether it is still gathering.
    pub fn is_gathering(&self) -> bool {
        self.grouper.is_some()
    }

    /// Whether it gathered no batch (the queue was empty).
    pub fn is_empty(&self) -> bool {
        self.batches == 0
    }

    /// The next slice to write: series from where the last slice ended, up to
    /// [`POINTS_PER_SLICE`] points and [`SERIES_PER_SLICE`] series (at least one series, while
    /// any is left); empty once all are written. It counts as written once [`Compaction::wrote`]
    /// says so.
    pub fn next_slice(&self) -> &[SeriesData] {
        let start = self.written;
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
        &self.series[start..end]
    }

    /// Counts the slice [`Compaction::next_slice`] gave as written.
    pub fn wrote(&mut self) {
        self.written += self.next_slice().len();
    }

    /// Whether it is gathered and every series is written (the batches may go).
    pub fn is_done(&self) -> bool {
        !self.is_gathering() && self.written >= self.series.len()
    }

    /// How far it got: to be recorded with each slice written.
    pub fn progress(&self) -> Progress {
        let last_key = self.written.checked_sub(1).map_or(String::new(), |i| self.series[i].key.clone());
        Progress { last_seq: self.last_seq, written: self.written, last_key }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Sample, Series};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A queue: batch `i` (sequence number `i + 1`) holds series `s{i}` with `points[i]` samples.
    fn queue(points: &[usize]) -> Vec<WriteRequest<'static>> {
        (points.iter().enumerate())
            .map(|(i, &n)| WriteRequest {
                series: vec![Series {
                    samples: (0..n as i64).map(|t| Sample::new(1.0, t)).collect(),
                    ..Series::from_pairs([("__name__", format!("s{i}"))])
                }],
                metadata: Vec::new(),
            })
            .collect()
    }

    /// Runs `c`'s gathering steps over `queue` as a shard does; returns the steps taken.
    fn gather(c: &mut Compaction, queue: &[WriteRequest<'_>]) -> usize {
        let mut steps = 0;
        while let Some(read) = c.next_read() {
            let from = read.after as usize; // sequence numbers are indices + 1
            let to = (from + read.limit).min(read.until.map_or(queue.len(), |u| u as usize)).min(queue.len());
            for (i, batch) in queue[from..to].iter().enumerate() {
                c.add((from + i + 1) as i64, batch.series[0].samples.len() as u64, batch);
            }
            c.gathered(to - from);
            steps += 1;
        }
        steps
    }

    /// The names of the next slice's series, then counts it written.
    fn slice(c: &mut Compaction) -> Vec<String> {
        let names = c.next_slice().iter().map(|s| s.key[13..s.key.len() - 2].to_string()).collect();
        c.wrote();
        names
    }

    #[test]
    fn gathering_takes_a_few_batches_a_step_until_the_queue_ends() {
        let q = queue(&[1; 20]);
        let mut c = Compaction::new();
        assert_eq!(c.next_read(), Some(Read { after: 0, until: None, limit: GATHER_PER_STEP }));
        assert_eq!(gather(&mut c, &q), 3, "8 + 8 + 4 batches");
        assert!(!c.is_gathering());
        assert_eq!(c.progress(), Progress { last_seq: 20, ..Progress::default() });
        let mut empty = Compaction::new();
        assert_eq!(gather(&mut empty, &[]), 1);
        assert!(empty.is_empty() && empty.is_done());
    }

    #[test]
    fn gathering_stops_at_the_batch_and_point_limits() {
        let mut c = Compaction::new();
        gather(&mut c, &queue(&[1; 300]));
        assert_eq!(c.progress().last_seq, MAX_BATCHES as i64);
        let mut c = Compaction::new();
        gather(&mut c, &queue(&[100_000; 10]));
        assert_eq!(c.progress().last_seq, 8, "the first step (8 batches) passes 250,000 points");
    }

    #[test]
    fn slices_stop_at_the_point_budget_and_take_one_large_series_alone() {
        let mut c = Compaction::new();
        gather(&mut c, &queue(&[2000, 2000, 2000, 9000, 1]));
        assert_eq!(slice(&mut c), ["s0", "s1"], "4000 points; a third series would pass 4096");
        assert_eq!(slice(&mut c), ["s2"]);
        assert_eq!(slice(&mut c), ["s3"], "larger than a slice: alone");
        assert!(!c.is_done());
        assert_eq!(slice(&mut c), ["s4"]);
        assert!(c.is_done());
        assert!(c.next_slice().is_empty());
        assert_eq!(c.progress(), Progress { last_seq: 5, written: 5, last_key: r#"{"__name__":"s4"}"#.into() });
    }

    #[test]
    fn slices_stop_at_the_series_budget() {
        let q = queue(&[1; 1100]);
        let one = WriteRequest { series: q.iter().flat_map(|b| b.series.clone()).collect(), metadata: Vec::new() };
        let mut c = Compaction::new();
        gather(&mut c, &[one]);
        assert_eq!(slice(&mut c).len(), SERIES_PER_SLICE);
        assert_eq!(slice(&mut c).len(), SERIES_PER_SLICE);
        assert!(!c.is_done());
        assert_eq!(slice(&mut c).len(), 1100 - 2 * SERIES_PER_SLICE);
        assert!(c.is_done());
    }

    #[test]
    fn a_slice_not_counted_written_is_given_again() {
        let mut c = Compaction::new();
        gather(&mut c, &queue(&[3000, 3000]));
        assert_eq!(c.next_slice().len(), 1);
        // (Its writes failed: not counted.)
        assert_eq!(c.progress().written, 0);
        assert_eq!(slice(&mut c), ["s0"]);
        assert_eq!(slice(&mut c), ["s1"]);
    }

    #[test]
    fn a_resumed_compaction_gathers_the_same_batches_and_skips_what_was_written() {
        let q = queue(&[3000; 12]);
        let mut first = Compaction::new();
        gather(&mut first, &q[..10]);
        assert_eq!(slice(&mut first), ["s0"]);
        let recorded = first.progress();
        assert_eq!(Progress::from_text(&recorded.to_text()), Some(recorded.clone()));
        assert_eq!(recorded.to_text(), r#"10 1 {"__name__":"s0"}"#);
        // The instance goes; more batches were queued meanwhile; the same ten are gathered again.
        let mut again = Compaction::resume(recorded.clone());
        assert_eq!(again.next_read().unwrap().until, Some(10));
        gather(&mut again, &q);
        assert_eq!(again.progress(), recorded);
        assert_eq!(slice(&mut again), ["s1"]);
        for _ in 2..10 {
            slice(&mut again);
        }
        assert!(again.is_done());
        // Series that come out in another order (another release's grouping): all written again.
        let mut other = Compaction::resume(Progress { last_key: r#"{"__name__":"s5"}"#.into(), ..recorded });
        gather(&mut other, &q);
        assert_eq!(slice(&mut other), ["s0"]);
        // A record of the release before keys were recorded: its count is trusted.
        let old = Progress::from_text("10 3").unwrap();
        assert_eq!(old, Progress { last_seq: 10, written: 3, last_key: String::new() });
        let mut upgraded = Compaction::resume(old);
        gather(&mut upgraded, &q);
        assert_eq!(slice(&mut upgraded), ["s3"]);
        // A record past the end (cannot happen, but must not panic): written over from the start.
        let mut past = Compaction::resume(Progress { last_seq: 1, written: 9, last_key: "x".into() });
        gather(&mut past, &q);
        assert_eq!(slice(&mut past), ["s0"]);
        assert!(past.is_done());
    }

    #[test]
    fn the_next_compaction_waits_for_compact_every_unless_a_whole_one_is_queued() {
        let every = 30_000;
        assert_eq!(next_start(0, 0, None, 1_000_000, every), None, "nothing queued");
        assert_eq!(
            next_start(3, 1500, Some(990_000), 1_000_000, every),
            Some(20_000),
            "the oldest has waited 10 s of 30"
        );
        assert_eq!(next_start(3, 1500, Some(900_000), 1_000_000, every), Some(0), "the oldest has waited longer");
        assert_eq!(
            next_start(MAX_BATCHES as u64, 10, Some(999_000), 1_000_000, every),
            Some(0),
            "a whole compaction's batches"
        );
        assert_eq!(next_start(2, MAX_POINTS, Some(999_000), 1_000_000, every), Some(0), "a whole compaction's points");
    }
}
