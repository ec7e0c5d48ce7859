//! One shard's answer to a read, sans-I/O: which stored series a read selects, and how their
//! compacted chunks and still-queued batches merge into one series each. The shard feeds it
//! rows from SQLite ([`Reader::series`], then the chunks of [`Reader::chunk_series`], then
//! the queue's batches in order) and sends [`Reader::finish`]'s frame to the Worker.
//!
//! ```
//! use edgewrite::store::read::Reader;
//! use edgewrite::store::{chunk, results};
//! use edgewrite::{Metadata, Sample, query};
//!
//! let selectors = [query::parse_selector("up").unwrap()];
//! let mut reader = Reader::new(&selectors, Some((0, 100)), true);
//! reader.series(7, r#"{"__name__":"up"}"#, Metadata::default()).unwrap();
//! assert_eq!(reader.chunk_series(), [7]);
//! reader.chunk(7, &chunk::encode_samples(&[Sample::new(1.0, 10)]), &chunk::encode_histograms(&[]), &[]).unwrap();
//! let answer = results::decode(&reader.finish().unwrap()).unwrap();
//! assert_eq!(answer[0].samples, [Sample::new(1.0, 10)]);
//! ```

use super::{
    Grouper, Selector, SeriesData, chunk, merge_exemplars, merge_histograms, merge_samples, parse_key, results,
};
use crate::error::HttpStatus;
use crate::model::{Exemplar, Histogram, Label, Metadata, Sample, WriteRequest};
use std::collections::HashMap;
use std::fmt;

/// Why a read failed: stored data that cannot be read (the store's own fault, 500, never the
/// client's), or a read larger than it may be (422).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The read would load more samples than its limit (422, `execution`).
    TooManySamples(usize),
    /// A series key is not the JSON object of strings the store writes.
    CorruptKey(String),
    /// A chunk of series `series` does not decode.
    CorruptChunk {
        /// The series' id.
        series: i64,
        /// What is wrong.
        reason: String,
    },
    /// A chunk names a series the read did not ask for.
    UnknownSeries(i64),
    /// A queued batch does not decode.
    CorruptBatch(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::CorruptKey(why) => write!(f, "stored series key is corrupt: {why}"),
            StoreError::CorruptChunk { series, reason } => write!(f, "a chunk of series {series} is corrupt: {reason}"),
            StoreError::UnknownSeries(id) => write!(f, "a chunk of series {id} came back unasked"),
            StoreError::CorruptBatch(why) => write!(f, "a queued batch is corrupt: {why}"),
            StoreError::TooManySamples(limit) => write!(
                f,
                "query processing would load too many samples into memory in query execution (at most {limit} from one shard)"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

impl HttpStatus for StoreError {
    fn status(&self) -> u16 {
        match self {
            StoreError::TooManySamples(_) => 422,
            _ => 500,
        }
    }
}

/// One series' data in write order, before merging: chunk by chunk, then batch by batch.
#[derive(Default)]
struct Parts {
    samples: Vec<Vec<Sample>>,
    histograms: Vec<Vec<Histogram>>,
    exemplars: Vec<Vec<Exemplar<'static>>>,
}

/// What a read with a range returns of each series.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Returns {
    /// Samples and histograms.
    Data,
    /// Only whether the series has data in the range ([`Reader::presence_only`]).
    Presence,
    /// Only exemplars ([`Reader::exemplars_only`]).
    Exemplars,
}

/// A read in progress. See the [module docs](self).
pub struct Reader<'s> {
    selectors: &'s [Selector],
    range: Option<(i64, i64)>,
    with_data: bool,
    out: Vec<SeriesData>,
    parts: Vec<Parts>,
    by_key: HashMap<String, usize>,
    by_id: HashMap<i64, usize>,
    queued: Grouper,
    limit: usize,
    loaded: usize,
    returns: Returns,
    /// A presence read: which series have a chunk in the range.
    present: Vec<bool>,
}

impl<'s> Reader<'s> {
    /// A read of the series any of `selectors` selects, with their data in `range` (inclusive
    /// ms), or only their labels and metadata when `range` is `None`. `with_data` leaves out
    /// series that hold no data (those that only carry a 1.0 family's metadata): for listing
    /// series, not for metadata.
    pub fn new(selectors: &'s [Selector], range: Option<(i64, i64)>, with_data: bool) -> Self {
        Reader {
            selectors,
            range,
            with_data,
            out: Vec::new(),
            parts: Vec::new(),
            by_key: HashMap::new(),
            by_id: HashMap::new(),
            queued: Grouper::default(),
            limit: usize::MAX,
            loaded: 0,
            returns: Returns::Data,
            present: Vec::new(),
        }
    }

    /// A listing of the series with data in the range, without their data: the shard marks
    /// those with a chunk in the range ([`Reader::present`]) instead of reading chunks, and
    /// queued batches count where they have a sample in the range. No sample limit applies.
    pub fn presence_only(mut self) -> Self {
        self.returns = Returns::Presence;
        self
    }

    /// Whether this read lists series by presence ([`Reader::presence_only`]).
    pub fn is_presence_only(&self) -> bool {
        self.returns == Returns::Presence
    }

    /// A read of the exemplars in the range (for `/api/v1/query_exemplars`): the chunks'
    /// samples and histograms are not decoded, series without exemplars in the range are left
    /// out, and the limit counts exemplars.
    pub fn exemplars_only(mut self) -> Self {
        self.returns = Returns::Exemplars;
        self
    }

    /// Whether this read returns exemplars only ([`Reader::exemplars_only`]), so the shard
    /// need only send those of the chunks.
    pub fn is_exemplars_only(&self) -> bool {
        self.returns == Returns::Exemplars
    }

    /// Series `id` has a chunk in the range (a presence-only read).
    ///
    /// # Errors
    /// [`StoreError::UnknownSeries`].
    pub fn present(&mut self, id: i64) -> Result<(), StoreError> {
        let i = *self.by_id.get(&id).ok_or(StoreError::UnknownSeries(id))?;
        if self.is_presence_only() {
            self.present.resize(self.present.len().max(i + 1), false);
            self.present[i] = true;
        }
        Ok(())
    }

    /// Refuses the read ([`StoreError::TooManySamples`]) once it would load more than `limit`
    /// samples and histograms (exemplars, for an exemplar read).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    fn load(&mut self, n: usize) -> Result<(), StoreError> {
        self.loaded += n;
        if self.loaded > self.limit { Err(StoreError::TooManySamples(self.limit)) } else { Ok(()) }
    }

    fn selected(&self, labels: &[Label<'_>]) -> bool {
        self.selectors.iter().any(|s| s.matches(labels))
    }

    /// A compacted series (its id, key and metadata): kept if the read selects it.
    ///
    /// # Errors
    /// [`StoreError::CorruptKey`].
    pub fn series(&mut self, id: i64, key: &str, metadata: Metadata<'static>) -> Result<(), StoreError> {
        let labels = parse_key(key)?;
        if self.selected(&labels) {
            self.by_id.insert(id, self.out.len());
            self.by_key.insert(key.to_string(), self.out.len());
            self.out.push(SeriesData { metadata, key: key.to_string(), ..SeriesData::default() });
            self.parts.push(Parts::default());
        }
        Ok(())
    }

    /// The range to read chunks in, if the read wants data.
    pub fn range(&self) -> Option<(i64, i64)> {
        self.range
    }

    /// The ids of the selected series whose chunks to read (none when the read wants no data).
    pub fn chunk_series(&self) -> Vec<i64> {
        if self.range.is_none() {
            return Vec::new();
        }
        let mut ids: Vec<i64> = self.by_id.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// A chunk of series `id` (chunks in the order they were written): its samples, histograms
    /// and exemplars as stored. Only what the read returns is decoded: an exemplar read may
    /// pass empty samples and histograms, any other read empty exemplars (a chunk written
    /// before exemplars were kept has an empty exemplar column).
    ///
    /// # Errors
    /// [`StoreError::CorruptChunk`] or [`StoreError::UnknownSeries`].
    pub fn chunk(&mut self, id: i64, samples: &[u8], histograms: &[u8], exemplars: &[u8]) -> Result<(), StoreError> {
        let i = *self.by_id.get(&id).ok_or(StoreError::UnknownSeries(id))?;
        let corrupt = |e: crate::codec::DecodeError| StoreError::CorruptChunk { series: id, reason: e.to_string() };
        if self.returns == Returns::Exemplars {
            if exemplars.is_empty() {
                return Ok(());
            }
            if let chunk::Chunk::Exemplars(e) = chunk::decode(exemplars).map_err(corrupt)? {
                self.load(e.len())?;
                self.parts[i].exemplars.push(e);
            }
            return Ok(());
        }
        if let chunk::Chunk::Samples(s) = chunk::decode(samples).map_err(corrupt)? {
            self.load(s.len())?;
            self.parts[i].samples.push(s);
        }
        if let chunk::Chunk::Histograms(h) = chunk::decode(histograms).map_err(corrupt)? {
            self.load(h.len())?;
            self.parts[i].histograms.push(h);
        }
        Ok(())
    }

    /// A batch still in the queue (batches in queue order, after every chunk).
    pub fn queued(&mut self, batch: &WriteRequest<'_>) {
        self.queued.add(batch);
    }

    /// The answer, as a [`results`] frame: each selected series once, its data merged in
    /// timestamp order (the first write of a timestamp wins) and cut to the range.
    ///
    /// # Errors
    /// [`StoreError::TooManySamples`] when the queued data takes the read over its limit.
    pub fn finish(mut self) -> Result<Vec<u8>, StoreError> {
        let grouper = std::mem::take(&mut self.queued);
        let wanted: Vec<bool> =
            (0..grouper.len()).map(|i| self.selected(&grouper.labels(i).collect::<Vec<_>>())).collect();
        // (An exemplar read wants the series with exemplars: 1.0 senders may send an exemplar
        // in a series entry of its own, without samples.)
        let exemplars = self.returns == Returns::Exemplars;
        let has_data = |s: &SeriesData| {
            if exemplars { !s.exemplars.is_empty() } else { !(s.samples.is_empty() && s.histograms.is_empty()) }
        };
        for (mut s, _) in
            grouper.finish().into_iter().zip(wanted).filter(|(s, w)| *w && (!self.with_data || has_data(s)))
        {
            let i = match self.by_key.get(&s.key) {
                Some(&i) => i,
                None => {
                    self.by_key.insert(s.key.clone(), self.out.len());
                    self.out.push(SeriesData { key: s.key.clone(), ..SeriesData::default() });
                    self.parts.push(Parts::default());
                    self.out.len() - 1
                }
            };
            if !s.metadata.is_empty() {
                self.out[i].metadata = std::mem::take(&mut s.metadata);
            }
            self.loaded += match self.returns {
                Returns::Data => s.samples.len() + s.histograms.len(),
                Returns::Exemplars => s.exemplars.len(),
                Returns::Presence => 0,
            };
            let parts = &mut self.parts[i];
            parts.samples.push(s.samples);
            parts.histograms.push(s.histograms);
            parts.exemplars.push(s.exemplars);
        }
        let Some((start, end)) = self.range else {
            return Ok(results::encode(&self.out));
        };
        let within = |t: i64| (start..=end).contains(&t);
        if self.returns == Returns::Presence {
            self.present.resize(self.out.len(), false);
            let mut i = 0;
            self.out.retain(|_| {
                let p = &self.parts[i];
                let queued = p.samples.iter().flatten().any(|s| within(s.timestamp))
                    || p.histograms.iter().flatten().any(|h| within(h.timestamp));
                i += 1;
                self.present[i - 1] || queued
            });
            return Ok(results::encode(&self.out));
        }
        for (data, parts) in self.out.iter_mut().zip(self.parts) {
            if self.returns == Returns::Exemplars {
                data.exemplars = merge_exemplars(parts.exemplars);
                data.exemplars.retain(|e| within(e.timestamp));
            } else {
                data.samples = merge_samples(parts.samples);
                data.samples.retain(|s| within(s.timestamp));
                data.histograms = merge_histograms(parts.histograms);
                data.histograms.retain(|h| within(h.timestamp));
            }
        }
        self.out.retain(|d| !d.samples.is_empty() || !d.histograms.is_empty() || !d.exemplars.is_empty());
        if self.loaded > self.limit {
            return Err(StoreError::TooManySamples(self.limit));
        }
        Ok(results::encode(&self.out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricType, STALE_NAN, Series};
    use crate::store::{Matcher, Op};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn batch(name: &str, samples: &[(f64, i64)]) -> WriteRequest<'static> {
        let mut req = WriteRequest::default();
        req.series.push(Series {
            samples: samples.iter().map(|&(v, t)| Sample::new(v, t)).collect(),
            ..Series::from_pairs([("__name__", name.to_string())])
        });
        req
    }

    fn by_name(op: Op, value: &str) -> Selector {
        Selector { matchers: vec![Matcher::new("__name__", op, value).unwrap()] }
    }

    fn answer(reader: Reader<'_>) -> Vec<SeriesData> {
        results::decode(&reader.finish().unwrap()).unwrap()
    }

    #[test]
    fn chunks_then_queue_merge_in_time_order_and_the_first_write_wins() {
        let selectors = [by_name(Op::Regex, "a|b")];
        let mut r = Reader::new(&selectors, Some((0, 50)), true);
        let counter = Metadata { metric_type: MetricType::Counter, help: "A.".into(), unit: "".into() };
        r.series(1, r#"{"__name__":"a"}"#, counter.clone()).unwrap();
        r.series(2, r#"{"__name__":"c"}"#, Metadata::default()).unwrap(); // not selected
        assert_eq!(r.chunk_series(), [1]);
        r.chunk(
            1,
            &chunk::encode_samples(&[Sample::new(1.0, 10), Sample::new(2.0, 30)]),
            &chunk::encode_histograms(&[]),
            &[],
        )
        .unwrap();
        r.chunk(1, &chunk::encode_samples(&[Sample::new(3.0, 20)]), &chunk::encode_histograms(&[]), &[]).unwrap();
        // Queued after every chunk: a retried 10 does not replace the first write; 60 is out
        // of range; b lives only in the queue; c is not selected.
        r.queued(&batch("a", &[(9.0, 10), (4.0, 40), (5.0, 60)]));
        r.queued(&batch("b", &[(7.0, 5)]));
        r.queued(&batch("c", &[(8.0, 5)]));
        let got = answer(r);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].key, r#"{"__name__":"a"}"#);
        let a: Vec<(f64, i64)> = got[0].samples.iter().map(|s| (s.value, s.timestamp)).collect();
        assert_eq!(a, [(1.0, 10), (3.0, 20), (2.0, 30), (4.0, 40)]);
        assert_eq!(got[0].metadata, counter);
        assert_eq!(got[1].samples, [Sample::new(7.0, 5)]);
    }

    #[test]
    fn a_read_stops_at_its_sample_limit() {
        let selectors = [by_name(Op::Equal, "a")];
        let two = chunk::encode_samples(&[Sample::new(1.0, 10), Sample::new(2.0, 20)]);
        let mut r = Reader::new(&selectors, Some((0, 100)), true).with_limit(3);
        r.series(1, r#"{"__name__":"a"}"#, Metadata::default()).unwrap();
        r.chunk(1, &two, &chunk::encode_histograms(&[]), &[]).unwrap();
        let e = r.chunk(1, &two, &chunk::encode_histograms(&[]), &[]).unwrap_err();
        assert_eq!((e.clone(), e.status()), (StoreError::TooManySamples(3), 422));
        // Queued samples count too.
        let mut r = Reader::new(&selectors, Some((0, 100)), true).with_limit(3);
        r.series(1, r#"{"__name__":"a"}"#, Metadata::default()).unwrap();
        r.chunk(1, &two, &chunk::encode_histograms(&[]), &[]).unwrap();
        r.queued(&batch("a", &[(3.0, 30), (4.0, 40)]));
        assert_eq!(r.finish().unwrap_err(), StoreError::TooManySamples(3));
        let mut r = Reader::new(&selectors, Some((0, 100)), true).with_limit(4);
        r.series(1, r#"{"__name__":"a"}"#, Metadata::default()).unwrap();
        r.chunk(1, &two, &chunk::encode_histograms(&[]), &[]).unwrap();
        r.queued(&batch("a", &[(3.0, 30), (4.0, 40)]));
        assert_eq!(answer(r)[0].samples.len(), 4, "at the limit is within it");
    }

    #[test]
    fn a_presence_read_lists_series_with_data_in_range_and_sends_none() {
        let selectors = [by_name(Op::Regex, "a|b|c|d")];
        let mut r = Reader::new(&selectors, Some((100, 200)), true).presence_only().with_limit(1);
        assert!(r.is_presence_only());
        r.series(1, r#"{"__name__":"a"}"#, Metadata::default()).unwrap();
        r.series(2, r#"{"__name__":"b"}"#, Metadata::default()).unwrap();
        r.present(1).unwrap();
        assert!(r.present(9).is_err());
        // Queued: c has a sample in the range, d only outside it.
        r.queued(&batch("c", &[(1.0, 150), (2.0, 160)]));
        r.queued(&batch("d", &[(1.0, 50)]));
        let got = answer(r);
        assert_eq!(
            got.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
            [r#"{"__name__":"a"}"#, r#"{"__name__":"c"}"#]
        );
        assert!(got.iter().all(|s| s.samples.is_empty()), "no data is sent, so no limit is reached");
    }

    #[test]
    fn an_exemplar_read_returns_exemplars_in_range_and_no_samples() {
        let selectors = [by_name(Op::Regex, "a|b|c")];
        let ex = |trace: &'static str, value, timestamp| Exemplar {
            labels: vec![Label::new("trace_id", trace)],
            value,
            timestamp,
        };
        let mut r = Reader::new(&selectors, Some((100, 200)), true).exemplars_only().with_limit(5);
        assert!(r.is_exemplars_only());
        r.series(1, r#"{"__name__":"a"}"#, Metadata::default()).unwrap();
        r.series(2, r#"{"__name__":"b"}"#, Metadata::default()).unwrap();
        // Samples and histograms are not decoded (the shard need not send them); a chunk
        // written before exemplars were kept has none.
        r.chunk(1, &[], &[], &chunk::encode_exemplars(&[ex("t1", 1.0, 50), ex("t2", 2.0, 150)])).unwrap();
        r.chunk(2, &[], &[], &[]).unwrap();
        // Queued: a retried 150 does not replace the first write; c's exemplar is in range.
        let mut queued = batch("a", &[(1.0, 150), (1.0, 160)]);
        queued.series[0].exemplars = vec![ex("t9", 9.0, 150), ex("t3", 3.0, 160)];
        r.queued(&queued);
        let mut c = batch("c", &[(1.0, 120)]);
        c.series[0].exemplars = vec![ex("t4", 4.0, 120)];
        r.queued(&c);
        let got = answer(r);
        assert_eq!(
            got.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
            [r#"{"__name__":"a"}"#, r#"{"__name__":"c"}"#]
        );
        assert_eq!(got[0].exemplars, [ex("t2", 2.0, 150), ex("t3", 3.0, 160)]);
        assert!(got.iter().all(|s| s.samples.is_empty()), "no samples are sent");
        // An exemplar sent in a series entry of its own (no samples) is found too.
        let mut r = Reader::new(&selectors, Some((0, 200)), true).exemplars_only();
        let mut alone = batch("b", &[]);
        alone.series[0].exemplars = vec![ex("t5", 5.0, 170)];
        r.queued(&alone);
        assert_eq!(answer(r)[0].exemplars, [ex("t5", 5.0, 170)]);
        // The limit counts exemplars.
        let mut r = Reader::new(&selectors, Some((0, 200)), true).exemplars_only().with_limit(1);
        r.series(1, r#"{"__name__":"a"}"#, Metadata::default()).unwrap();
        let e = r.chunk(1, &[], &[], &chunk::encode_exemplars(&[ex("t1", 1.0, 50), ex("t2", 2.0, 150)])).unwrap_err();
        assert_eq!(e, StoreError::TooManySamples(1));
        // A data read leaves the exemplars out.
        let mut r = Reader::new(&selectors, Some((0, 200)), true);
        r.queued(&queued);
        assert!(answer(r)[0].exemplars.is_empty());
    }

    #[test]
    fn a_read_without_range_lists_series_and_metadata_only() {
        let selectors = [by_name(Op::Regex, ".+")];
        let mut r = Reader::new(&selectors, None, false);
        r.series(1, r#"{"__name__":"a"}"#, Metadata::default()).unwrap();
        assert!(r.chunk_series().is_empty(), "no chunks are read");
        // A metadata-only series (1.0 family metadata) is listed when data is not required.
        let mut meta = batch("family", &[]);
        meta.series[0].metadata.help = "Family.".into();
        r.queued(&meta);
        let got = answer(r);
        assert_eq!(
            got.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
            [r#"{"__name__":"a"}"#, r#"{"__name__":"family"}"#]
        );
        assert_eq!(got[1].metadata.help, "Family.");
        let mut listing = Reader::new(&selectors, None, true);
        listing.queued(&meta);
        assert!(answer(listing).is_empty(), "with_data leaves data-less series out");
    }

    #[test]
    fn stale_markers_survive_the_merge() {
        let selectors = [by_name(Op::Equal, "a")];
        let mut r = Reader::new(&selectors, Some((0, 100)), true);
        r.queued(&batch("a", &[(1.0, 1), (f64::from_bits(STALE_NAN.to_bits()), 2)]));
        let got = answer(r);
        assert!(got[0].samples[1].is_stale());
    }

    #[test]
    fn corrupt_stored_data_is_the_stores_fault() {
        let selectors = [by_name(Op::Equal, "a")];
        let mut r = Reader::new(&selectors, Some((0, 100)), true);
        let e = r.series(1, "{not json", Metadata::default()).unwrap_err();
        assert!(matches!(e, StoreError::CorruptKey(_)));
        assert_eq!(e.status(), 500);
        r.series(1, r#"{"__name__":"a"}"#, Metadata::default()).unwrap();
        let e = r.chunk(1, &[0xff, 1, 2], &[], &[]).unwrap_err();
        assert!(matches!(e, StoreError::CorruptChunk { series: 1, .. }), "{e}");
        assert_eq!(r.chunk(9, &[], &[], &[]), Err(StoreError::UnknownSeries(9)));
    }
}
