//! A lane: a FIFO of queued data with at most one request in flight. Each shard is a lane, and
//! so is the lane of whole collections. A lane never sends anything newer before what it holds
//! in flight is delivered or dropped, which is what keeps each series in order.

use crate::model::{Histogram, Sample};
use std::collections::VecDeque;

/// One queued piece of data, of one registered series.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    Sample { series: u32, sample: Sample },
    Histogram { series: u32, histogram: Box<Histogram> },
    Exemplar { series: u32, exemplar: Box<QueuedExemplar> },
}

/// An exemplar with its labels as symbol ids (name, value, ...).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct QueuedExemplar {
    pub(crate) label_ids: Vec<u32>,
    pub(crate) value: f64,
    pub(crate) timestamp: i64,
}

impl Item {
    pub(crate) fn series(&self) -> u32 {
        match self {
            Item::Sample { series, .. } | Item::Histogram { series, .. } | Item::Exemplar { series, .. } => *series,
        }
    }

    pub(crate) fn timestamp(&self) -> i64 {
        match self {
            Item::Sample { sample, .. } => sample.timestamp,
            Item::Histogram { histogram, .. } => histogram.timestamp,
            Item::Exemplar { exemplar, .. } => exemplar.timestamp,
        }
    }
}

/// A batch taken from a lane and not yet delivered.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub(crate) id: u64,
    pub(crate) items: Vec<Item>,
    /// 0 for the first try.
    pub(crate) attempt: u32,
    /// `Some(t)`: waiting to be retried at `t`. `None`: a request is outstanding.
    pub(crate) retry_at: Option<i64>,
    /// When the current attempt was handed out, for the batch duration.
    pub(crate) sent_at: i64,
    /// The protocol of the current attempt (a 2.0 batch may be re-sent as 1.0).
    pub(crate) version: crate::codec::Version,
    /// Set when the batch is re-sent as 1.0 after a fallback: not a retry.
    pub(crate) fallback: bool,
    /// 1.0 metric families whose metadata the first attempt carried (retries carry them too).
    pub(crate) families: Vec<u32>,
    /// Lane sequence number of the batch's first item (see [`Lane::lowest_unsettled`]).
    pub(crate) first_seq: u64,
}

/// A shard, or the lane of collections.
#[derive(Debug, Default)]
pub(crate) struct Lane {
    pub(crate) queue: VecDeque<Item>,
    /// For the collections lane: the size of each queued collection, in order.
    pub(crate) units: VecDeque<usize>,
    /// When the oldest queued item arrived (for the batch deadline).
    pub(crate) pending_since: Option<i64>,
    pub(crate) in_flight: Option<InFlight>,
    pub(crate) flushing: bool,
    /// Items ever queued in this lane: the next item's sequence number.
    pub(crate) next_seq: u64,
    /// Sequence number of the item at the front of `queue`.
    pub(crate) front_seq: u64,
}

impl Lane {
    /// Items held: queued and in flight.
    pub(crate) fn pending(&self) -> usize {
        self.queue.len() + self.in_flight.as_ref().map_or(0, |f| f.items.len())
    }

    /// The sequence number of the oldest item not yet delivered or dropped (`next_seq` when
    /// the lane is empty): everything before it has left for good.
    pub(crate) fn lowest_unsettled(&self) -> u64 {
        match &self.in_flight {
            Some(f) => f.first_seq,
            None if !self.queue.is_empty() => self.front_seq,
            None => self.next_seq,
        }
    }

    /// Appends items (one collection when `unit`).
    pub(crate) fn enqueue(&mut self, items: impl IntoIterator<Item = Item>, unit: bool, now: i64) {
        let before = self.queue.len();
        self.queue.extend(items);
        self.next_seq += (self.queue.len() - before) as u64;
        if unit && self.queue.len() > before {
            self.units.push_back(self.queue.len() - before);
        }
        if before == 0 && !self.queue.is_empty() {
            self.pending_since = Some(now);
        }
    }

    /// Removes up to `n` of the oldest queued items (never a collection), returning them.
    pub(crate) fn drop_oldest(&mut self, n: usize) -> Vec<Item> {
        let n = n.min(self.queue.len());
        self.front_seq += n as u64;
        self.queue.drain(..n).collect()
    }

    /// Removes the oldest queued collections until at least `n` items are gone (or none is
    /// left), returning them.
    pub(crate) fn drop_oldest_units(&mut self, n: usize) -> Vec<Item> {
        let mut dropped = Vec::new();
        while dropped.len() < n {
            let Some(unit) = self.units.pop_front() else { break };
            self.front_seq += unit as u64;
            dropped.extend(self.queue.drain(..unit));
        }
        dropped
    }

    /// Puts items back at the front of the queue as one collection (the part of a split
    /// collection that did not fit in this request).
    pub(crate) fn requeue_front(&mut self, items: Vec<Item>) {
        self.front_seq -= items.len() as u64;
        self.units.push_front(items.len());
        for item in items.into_iter().rev() {
            self.queue.push_front(item);
        }
    }

    /// Whether a new batch should go out now.
    pub(crate) fn ready(&self, now: i64, max_samples: usize, deadline_ms: u64) -> bool {
        if self.in_flight.is_some() || self.queue.is_empty() {
            return false;
        }
        !self.units.is_empty()
            || self.flushing
            || self.queue.len() >= max_samples
            || self.pending_since.is_some_and(|t| now.saturating_sub(t) >= deadline_ms as i64)
    }

    /// When this lane next needs attention without new input: a retry or a batch deadline.
    pub(crate) fn deadline(&self, deadline_ms: u64) -> Option<i64> {
        match &self.in_flight {
            Some(f) => f.retry_at,
            None if self.queue.is_empty() => None,
            None => self.pending_since.map(|t| t.saturating_add(deadline_ms as i64)),
        }
    }

    /// Takes the next batch: the next collection whole, or up to `max` items.
    pub(crate) fn take_batch(&mut self, max: usize, now: i64) -> Vec<Item> {
        let n = match self.units.pop_front() {
            Some(unit) => unit,
            None => max.min(self.queue.len()),
        };
        let items: Vec<Item> = self.queue.drain(..n).collect();
        self.front_seq += n as u64;
        self.pending_since = if self.queue.is_empty() { None } else { Some(now) };
        if self.queue.is_empty() {
            self.flushing = false;
        }
        items
    }
}
