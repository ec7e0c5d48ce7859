//! The series a sender knows: labels registered once, then referred to by a small handle.
//!
//! Registering does the per-series work up front so that every later write is numbers only:
//! labels are sorted, empty values dropped and names checked once; the 1.0 label messages are
//! encoded once; every string gets a writer-wide symbol id so that a 2.0 request's symbol
//! table is built with array lookups, not hashing; and the shard is chosen once from a hash of
//! the labels.

use crate::model::{METRIC_NAME_LABEL, Metadata};
use crate::validate::{is_legacy_label_name, is_legacy_metric_name};
use rustc_hash::{FxHashMap, FxHasher};
use std::fmt;
use std::hash::{Hash, Hasher};

/// A handle to a registered series: its slot in the table (low 24 bits) and the slot's
/// generation (high 8 bits). A released slot is reused with the next generation, so a stale
/// handle never reaches the series registered after it; a slot whose generations are spent is
/// retired instead of reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u32);

/// Bits of a [`SeriesRef`] that hold the slot.
const INDEX_BITS: u32 = 24;
/// Most series registered at once.
pub const MAX_SERIES: usize = 1 << INDEX_BITS;

impl SeriesRef {
    fn new(index: u32, generation: u8) -> Self {
        SeriesRef(u32::from(generation) << INDEX_BITS | index)
    }

    /// The slot.
    pub(crate) fn index(self) -> u32 {
        self.0 & (MAX_SERIES as u32 - 1)
    }

    fn generation(self) -> u8 {
        (self.0 >> INDEX_BITS) as u8
    }
}

/// Why a label set cannot be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelError {
    /// No `__name__` label (or an empty one).
    MissingMetricName,
    /// The same label name twice.
    DuplicateLabel(String),
    /// A name that breaks the 1.0 naming rules (`[a-zA-Z_:][a-zA-Z0-9_:]*` for the metric,
    /// `[a-zA-Z_][a-zA-Z0-9_]*` for labels), checked when the writer may send 1.0.
    InvalidName(String),
    /// An empty label name.
    EmptyLabelName,
    /// [`MAX_SERIES`] series are registered: release some first.
    TooManySeries,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelError::MissingMetricName => f.write_str("labels have no __name__ (the metric name)"),
            LabelError::DuplicateLabel(n) => write!(f, "label \"{n}\" is given twice"),
            LabelError::InvalidName(n) => write!(
                f,
                "\"{n}\" is not a valid metric or label name (use letters, digits and _, not starting with a digit)"
            ),
            LabelError::EmptyLabelName => f.write_str("a label has an empty name"),
            LabelError::TooManySeries => {
                write!(f, "{MAX_SERIES} series are registered with this writer: release some first")
            }
        }
    }
}

impl std::error::Error for LabelError {}

/// One registered series.
#[derive(Debug)]
pub(crate) struct SeriesEntry {
    /// Symbol ids of name, value, name, value, ... sorted by name.
    pub(crate) label_ids: Vec<u32>,
    /// The 1.0 `Label` messages (field 1 of `TimeSeries`), encoded once.
    pub(crate) v1_labels: Vec<u8>,
    pub(crate) shard_hash: u64,
    pub(crate) metadata: Metadata<'static>,
    /// Symbol ids of the metadata's help and unit.
    pub(crate) help_id: u32,
    pub(crate) unit_id: u32,
    /// The metric family for 1.0 metadata (the name less `_bucket`, `_sum`, ... by type).
    pub(crate) family: u32,
    /// Registered: pushes may use the handle.
    pub(crate) live: bool,
    /// Queued or in-flight items that refer to this entry. A released entry keeps its slot
    /// (and its labels) until the last of them is delivered or dropped.
    pub(crate) queued: u32,
    /// How many times the slot was reused: handles carry it.
    pub(crate) generation: u8,
}

/// All registered series and the strings they use.
#[derive(Debug, Default)]
pub(crate) struct SeriesTable {
    strings: Vec<Box<str>>,
    string_ids: FxHashMap<Box<str>, u32>,
    entries: Vec<SeriesEntry>,
    by_labels: FxHashMap<Vec<u32>, u32>,
    free: Vec<u32>,
}

impl SeriesTable {
    pub(crate) fn symbol(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    pub(crate) fn symbol_count(&self) -> usize {
        self.strings.len()
    }

    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.into());
        self.string_ids.insert(s.into(), id);
        id
    }

    /// A registered series, for new data: `None` for a released handle, even when its slot
    /// was reused.
    pub(crate) fn get(&self, r: SeriesRef) -> Option<&SeriesEntry> {
        self.entries.get(r.index() as usize).filter(|e| e.live && e.generation == r.generation())
    }

    /// The series in slot `index` that queued data refers to (registered, or released with
    /// data still queued: the slot is not reused before that data has left).
    pub(crate) fn entry(&self, index: u32) -> Option<&SeriesEntry> {
        self.entries.get(index as usize).filter(|e| e.live || e.queued > 0)
    }

    /// One more queued item refers to series `index`.
    pub(crate) fn retain(&mut self, index: u32) {
        if let Some(e) = self.entries.get_mut(index as usize) {
            e.queued += 1;
        }
    }

    /// A queued item of series `index` was delivered or dropped; frees a released slot when it
    /// was the last.
    pub(crate) fn unretain(&mut self, index: u32) {
        if let Some(e) = self.entries.get_mut(index as usize) {
            e.queued = e.queued.saturating_sub(1);
            if !e.live && e.queued == 0 {
                Self::free_slot(e, index, &mut self.free);
            }
        }
    }

    /// Empties a released slot and offers it for reuse, unless its generations are spent.
    fn free_slot(e: &mut SeriesEntry, index: u32, free: &mut Vec<u32>) {
        e.label_ids = Vec::new();
        e.v1_labels = Vec::new();
        if e.generation < u8::MAX {
            free.push(index);
        }
    }

    /// Registers a label set (or finds it registered), normalising it: sorted by name, empty
    /// values dropped. `legacy_names` applies the 1.0 naming rules.
    pub(crate) fn register(
        &mut self,
        labels: &[(&str, &str)],
        metadata: Metadata<'_>,
        legacy_names: bool,
    ) -> Result<SeriesRef, LabelError> {
        let mut sorted: Vec<(&str, &str)> = labels.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
        sort_by_name(&mut sorted);
        let mut name = None;
        for (i, &(n, v)) in sorted.iter().enumerate() {
            if n.is_empty() {
                return Err(LabelError::EmptyLabelName);
            }
            if i > 0 && sorted[i - 1].0 == n {
                return Err(LabelError::DuplicateLabel(n.to_string()));
            }
            if n == METRIC_NAME_LABEL {
                name = Some(v);
                if legacy_names && !is_legacy_metric_name(v) {
                    return Err(LabelError::InvalidName(v.to_string()));
                }
            } else if legacy_names && !is_legacy_label_name(n) {
                return Err(LabelError::InvalidName(n.to_string()));
            }
        }
        let name = name.ok_or(LabelError::MissingMetricName)?;
        let label_ids: Vec<u32> = sorted.iter().flat_map(|&(n, v)| [n, v]).map(|s| self.intern(s)).collect();
        if let Some(&i) = self.by_labels.get(&label_ids) {
            if !metadata.is_empty() {
                let (help_id, unit_id) = (self.intern(&metadata.help), self.intern(&metadata.unit));
                let entry = &mut self.entries[i as usize];
                (entry.help_id, entry.unit_id) = (help_id, unit_id);
                entry.metadata = metadata.into_owned();
            }
            return Ok(SeriesRef::new(i, self.entries[i as usize].generation));
        }
        if self.free.is_empty() && self.entries.len() >= MAX_SERIES {
            return Err(LabelError::TooManySeries);
        }
        let mut v1_labels = Vec::new();
        let mut hasher = FxHasher::default();
        for &(n, v) in &sorted {
            crate::codec::v1::put_label_message(&mut v1_labels, n, v);
            (n, v).hash(&mut hasher);
        }
        let family = self.intern(crate::convert::family_of(name, metadata.metric_type));
        let (help_id, unit_id) = (self.intern(&metadata.help), self.intern(&metadata.unit));
        let entry = SeriesEntry {
            help_id,
            unit_id,
            label_ids: label_ids.clone(),
            v1_labels,
            shard_hash: hasher.finish(),
            metadata: metadata.into_owned(),
            family,
            live: true,
            queued: 0,
            generation: 0,
        };
        let index = match self.free.pop() {
            Some(i) => {
                let generation = self.entries[i as usize].generation + 1;
                self.entries[i as usize] = SeriesEntry { generation, ..entry };
                i
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        self.by_labels.insert(label_ids, index);
        Ok(SeriesRef::new(index, self.entries[index as usize].generation))
    }

    /// Forgets a series: its handle takes no new data, and may be reused by a later
    /// registration once the data already queued for it has left. Strings stay interned (they
    /// are few and shared).
    pub(crate) fn release(&mut self, r: SeriesRef) {
        let index = r.index();
        if let Some(e) = self.entries.get_mut(index as usize).filter(|e| e.live && e.generation == r.generation()) {
            e.live = false;
            self.by_labels.remove(&e.label_ids);
            if e.queued == 0 {
                Self::free_slot(e, index, &mut self.free);
            }
        }
    }

    /// Registered series.
    pub(crate) fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.live).count()
    }
}

/// Sorts (name, value) pairs by name (one instantiation of the sort for the whole sender).
pub(crate) fn sort_by_name(pairs: &mut [(&str, &str)]) {
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
}
