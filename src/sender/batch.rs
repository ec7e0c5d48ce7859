//! Turns a batch of queued items into a request body, straight from the series table: 1.0
//! copies each series' pre-encoded labels, 2.0 maps writer-wide symbol ids to the request's
//! symbol table with an array lookup. Items of one series are grouped into one time series,
//! in the order they were queued.

use super::lane::{Item, QueuedExemplar};
use super::series::{SeriesEntry, SeriesTable};
use crate::codec::wire::*;
use crate::codec::{Version, histogram, sample, snappy};
use crate::model::Counts;

/// The items of one series in a batch (most series have one or two per batch).
type Members<'i> = Vec<&'i Item>;

/// Reusable buffers for encoding batches.
pub(crate) struct BatchEncoder {
    raw: Vec<u8>,
    scratch: Vec<u8>,
    out: Vec<u8>,
    snappy: snap::raw::Encoder,
    /// Item indices grouped by series (series in order of first appearance, items in queue
    /// order within each), and each group's (start, length) in `order`.
    order: Vec<u32>,
    runs: Vec<(u32, u32)>,
    /// Per series id: its group in this batch, valid where `series_stamp` equals `batch`.
    series_group: Vec<u32>,
    series_stamp: Vec<u32>,
    batch: u32,
    /// Writer-wide symbol id -> this request's ref, valid where `stamp` equals `generation`.
    refs: Vec<u32>,
    stamp: Vec<u32>,
    generation: u32,
    /// This request's symbols, as writer-wide ids (index 0 stands for "").
    symbols: Vec<u32>,
}

impl std::fmt::Debug for BatchEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchEncoder").finish_non_exhaustive()
    }
}

/// What went into a body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Encoded {
    pub(crate) counts: Counts,
    pub(crate) metadata: u64,
}

impl BatchEncoder {
    pub(crate) fn new() -> Self {
        BatchEncoder {
            raw: Vec::new(),
            scratch: Vec::new(),
            out: Vec::new(),
            snappy: snap::raw::Encoder::new(),
            order: Vec::new(),
            runs: Vec::new(),
            series_group: Vec::new(),
            series_stamp: Vec::new(),
            batch: 0,
            refs: Vec::new(),
            stamp: Vec::new(),
            generation: 0,
            symbols: Vec::new(),
        }
    }

    /// Encodes `items` as `version` and compresses the body. With 1.0, `family_metadata` is
    /// asked for each metric family in the batch whether to include its metadata.
    pub(crate) fn encode(
        &mut self,
        items: &[Item],
        table: &SeriesTable,
        version: Version,
        family_metadata: &mut dyn FnMut(u32) -> bool,
    ) -> (&[u8], Encoded) {
        self.group(items);
        self.raw.clear();
        let mut encoded = Encoded { counts: super::input::counts_of(items), metadata: 0 };
        match version {
            Version::V1 => encoded.metadata = self.encode_v1(items, table, family_metadata),
            Version::V2 => self.encode_v2(items, table),
        }
        snappy::compress_into(&mut self.snappy, &self.raw, &mut self.out);
        (&self.out, encoded)
    }

    /// Groups item indices into runs per series, series in order of first appearance (a
    /// counting sort: no hashing, no comparison sort).
    fn group(&mut self, items: &[Item]) {
        self.batch = self.batch.wrapping_add(1);
        if self.batch == 0 {
            self.series_stamp.iter_mut().for_each(|s| *s = 0);
            self.batch = 1;
        }
        self.runs.clear();
        let mut groups: Vec<u32> = Vec::with_capacity(items.len());
        for item in items {
            let s = item.series() as usize;
            if s >= self.series_stamp.len() {
                self.series_stamp.resize(s + 1, 0);
                self.series_group.resize(s + 1, 0);
            }
            if self.series_stamp[s] != self.batch {
                self.series_stamp[s] = self.batch;
                self.series_group[s] = self.runs.len() as u32;
                self.runs.push((0, 0));
            }
            let g = self.series_group[s];
            self.runs[g as usize].1 += 1;
            groups.push(g);
        }
        let mut start = 0;
        for run in &mut self.runs {
            run.0 = start;
            start += run.1;
        }
        let mut fill: Vec<u32> = self.runs.iter().map(|r| r.0).collect();
        self.order.clear();
        self.order.resize(items.len(), 0);
        for (i, g) in groups.into_iter().enumerate() {
            self.order[fill[g as usize] as usize] = i as u32;
            fill[g as usize] += 1;
        }
    }

    /// The items of group `run`.
    fn members<'i>(&self, run: (u32, u32), items: &'i [Item]) -> Members<'i> {
        self.order[run.0 as usize..(run.0 + run.1) as usize].iter().map(|&i| &items[i as usize]).collect()
    }

    fn encode_v1(&mut self, items: &[Item], table: &SeriesTable, want: &mut dyn FnMut(u32) -> bool) -> u64 {
        let mut raw = std::mem::take(&mut self.raw);
        let mut families: Vec<u32> = Vec::new();
        let mut family_series: Vec<&SeriesEntry> = Vec::new();
        for &run in &self.runs {
            let members = self.members(run, items);
            let Some(entry) = table.entry(members[0].series()) else { continue };
            put_message(&mut raw, 1, |b| {
                b.extend_from_slice(&entry.v1_labels);
                for m in &members {
                    if let Item::Sample { sample: s, .. } = m {
                        sample::encode(b, 2, s, false);
                    }
                }
                for m in &members {
                    if let Item::Exemplar { exemplar, .. } = m {
                        put_message(b, 3, |b| put_v1_exemplar(b, exemplar, table));
                    }
                }
                for m in &members {
                    if let Item::Histogram { histogram: h, .. } = m {
                        put_message(b, 4, |b| histogram::encode(b, h, false));
                    }
                }
            });
            if !entry.metadata.is_empty() && !families.contains(&entry.family) {
                families.push(entry.family);
                family_series.push(entry);
            }
        }
        let mut sent = 0;
        for (family, entry) in families.into_iter().zip(family_series) {
            if !want(family) {
                continue;
            }
            let m = &entry.metadata;
            put_message(&mut raw, 3, |b| {
                put_varint_field(b, 1, m.metric_type.to_wire() as u64);
                put_string_field(b, 2, table.symbol(family));
                put_string_field(b, 4, &m.help);
                put_string_field(b, 5, &m.unit);
            });
            sent += 1;
        }
        self.raw = raw;
        sent
    }

    fn encode_v2(&mut self, items: &[Item], table: &SeriesTable) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        if self.refs.len() < table.symbol_count() {
            self.refs.resize(table.symbol_count(), 0);
            self.stamp.resize(table.symbol_count(), 0);
        }
        self.symbols.clear();
        self.symbols.push(u32::MAX);
        let mut body = std::mem::take(&mut self.scratch);
        body.clear();
        let runs = std::mem::take(&mut self.runs);
        for &run in &runs {
            let members = self.members(run, items);
            let Some(entry) = table.entry(members[0].series()) else { continue };
            let has_samples = members.iter().any(|m| matches!(m, Item::Sample { .. }));
            let has_histograms = members.iter().any(|m| matches!(m, Item::Histogram { .. }));
            // 2.0 keeps float samples and histograms in separate time series. Exemplars go with
            // the samples, else with the histograms, else alone (as Prometheus sends them;
            // a receiver that refuses those writes the rest, and they count as failed).
            if has_samples || !has_histograms {
                self.put_v2_series(&mut body, entry, &members, false, true);
            }
            if has_histograms {
                self.put_v2_series(&mut body, entry, &members, true, !has_samples);
            }
        }
        self.runs = runs;
        for &id in &self.symbols {
            let s = if id == u32::MAX { "" } else { table.symbol(id) };
            put_key(&mut self.raw, 4, WireType::Len);
            put_varint(&mut self.raw, s.len() as u64);
            self.raw.extend_from_slice(s.as_bytes());
        }
        self.raw.extend_from_slice(&body);
        self.scratch = body;
    }

    fn put_v2_series(
        &mut self,
        out: &mut Vec<u8>,
        entry: &SeriesEntry,
        members: &[&Item],
        histograms: bool,
        with_exemplars: bool,
    ) {
        let labels: Vec<u32> = entry.label_ids.iter().map(|&id| self.local(id)).collect();
        let exemplars: Vec<(Vec<u32>, f64, i64)> = if !with_exemplars {
            Vec::new()
        } else {
            members
                .iter()
                .filter_map(|m| match m {
                    Item::Exemplar { exemplar: e, .. } => {
                        Some((e.label_ids.iter().map(|&id| self.local(id)).collect(), e.value, e.timestamp))
                    }
                    _ => None,
                })
                .collect()
        };
        let meta = &entry.metadata;
        let help = if meta.help.is_empty() { 0 } else { self.local(entry.help_id) };
        let unit = if meta.unit.is_empty() { 0 } else { self.local(entry.unit_id) };
        put_message(out, 5, |b| {
            put_packed_varints(b, 1, labels.iter().map(|&r| u64::from(r)));
            for m in members {
                match m {
                    Item::Sample { sample: s, .. } if !histograms => sample::encode(b, 2, s, true),
                    Item::Histogram { histogram: h, .. } if histograms => {
                        put_message(b, 3, |b| histogram::encode(b, h, true))
                    }
                    _ => {}
                }
            }
            for (refs, value, timestamp) in &exemplars {
                put_message(b, 4, |b| {
                    put_packed_varints(b, 1, refs.iter().map(|&r| u64::from(r)));
                    put_double_field(b, 2, *value);
                    put_varint_field(b, 3, *timestamp as u64);
                });
            }
            if !meta.is_empty() {
                put_message(b, 5, |b| {
                    put_varint_field(b, 1, meta.metric_type.to_wire() as u64);
                    put_varint_field(b, 3, u64::from(help));
                    put_varint_field(b, 4, u64::from(unit));
                });
            }
        });
    }

    /// This request's ref for a writer-wide symbol id.
    #[inline]
    fn local(&mut self, id: u32) -> u32 {
        let i = id as usize;
        if self.stamp[i] != self.generation {
            self.stamp[i] = self.generation;
            self.refs[i] = self.symbols.len() as u32;
            self.symbols.push(id);
        }
        self.refs[i]
    }
}

fn put_v1_exemplar(b: &mut Vec<u8>, e: &QueuedExemplar, table: &SeriesTable) {
    for pair in e.label_ids.chunks_exact(2) {
        crate::codec::v1::put_label_message(b, table.symbol(pair[0]), table.symbol(pair[1]));
    }
    put_double_field(b, 2, e.value);
    put_varint_field(b, 3, e.timestamp as u64);
}
