//! The sender's inputs: series registration and the data to send.

use super::*;

impl Sender {
    /// A sender with `config`; `seed` seeds the retry jitter (pass something random).
    ///
    /// # Errors
    /// [`ConfigError`] if a setting is out of range.
    pub fn new(config: Config, seed: u64) -> Result<Self, ConfigError> {
        config.check()?;
        let lanes = config.shards + 1;
        Ok(Sender {
            version: config.protocol,
            table: SeriesTable::default(),
            lanes: (0..lanes).map(|_| Lane::default()).collect(),
            backoffs: vec![Backoff::new(config.min_backoff_ms, config.max_backoff_ms); lanes],
            in_flight_metadata: vec![0; lanes],
            encoder: BatchEncoder::new(),
            jitter: Jitter::new(seed),
            next_id: 1,
            next_lane: 0,
            stats: Stats::default(),
            events: VecDeque::new(),
            family_sent_at: Vec::new(),
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The protocol requests are sent in now (2.0 may have fallen back to 1.0).
    pub fn protocol(&self) -> Version {
        self.version
    }

    /// Registers a series (or finds it registered) and returns its handle. Labels are sorted,
    /// empty values dropped; `__name__` is required. Do this once per series and keep the
    /// handle: every later write is then numbers only.
    ///
    /// # Errors
    /// [`LabelError`] for a label set no receiver would accept. Names must follow the 1.0
    /// rules unless the writer sends 2.0.
    pub fn series(&mut self, labels: &[(&str, &str)]) -> Result<SeriesRef, LabelError> {
        self.series_with_metadata(labels, Metadata::default())
    }

    /// [`Sender::series`] with metadata (type, help, unit), sent with the series in 2.0 and
    /// per metric family in 1.0.
    ///
    /// # Errors
    /// As [`Sender::series`].
    pub fn series_with_metadata(
        &mut self,
        labels: &[(&str, &str)],
        metadata: Metadata<'_>,
    ) -> Result<SeriesRef, LabelError> {
        self.table.register(labels, metadata, self.config.protocol == Version::V1)
    }

    /// Forgets a series. Data already queued for it is still sent. The handle is dead from
    /// now on: a push through it fails with [`PushError::UnknownSeries`], even after its slot
    /// is reused by a later registration (handles carry a generation).
    pub fn release(&mut self, series: SeriesRef) {
        self.table.release(series);
    }

    /// Number of registered series.
    pub fn series_count(&self) -> usize {
        self.table.len()
    }

    /// Queues one sample of `series`.
    ///
    /// # Errors
    /// [`PushError::QueueFull`] when the shard is full and `on_full` is `Reject`;
    /// [`PushError::UnknownSeries`] for a handle this sender does not know.
    pub fn push(&mut self, series: SeriesRef, sample: Sample, now: i64) -> Result<(), PushError> {
        self.enqueue(series, Item::Sample { series: series.index(), sample }, now)
    }

    /// Queues a native histogram sample of `series`.
    ///
    /// # Errors
    /// As [`Sender::push`].
    pub fn push_histogram(&mut self, series: SeriesRef, histogram: Histogram, now: i64) -> Result<(), PushError> {
        self.enqueue(series, Item::Histogram { series: series.index(), histogram: Box::new(histogram) }, now)
    }

    /// Queues an exemplar of `series` (e.g. labels `[("trace_id", "...")]`).
    ///
    /// # Errors
    /// As [`Sender::push`], and [`PushError::Label`] for an empty label name.
    pub fn push_exemplar(
        &mut self,
        series: SeriesRef,
        labels: &[(&str, &str)],
        value: f64,
        timestamp: i64,
        now: i64,
    ) -> Result<(), PushError> {
        let exemplar = self.queued_exemplar(labels, value, timestamp)?;
        self.enqueue(series, Item::Exemplar { series: series.index(), exemplar: Box::new(exemplar) }, now)
    }

    fn queued_exemplar(
        &mut self,
        labels: &[(&str, &str)],
        value: f64,
        timestamp: i64,
    ) -> Result<QueuedExemplar, PushError> {
        if labels.iter().any(|(n, _)| n.is_empty()) {
            return Err(PushError::Label(LabelError::EmptyLabelName));
        }
        let mut sorted: Vec<(&str, &str)> = labels.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
        super::series::sort_by_name(&mut sorted);
        let label_ids = sorted.iter().flat_map(|&(n, v)| [n, v]).map(|s| self.table.intern(s)).collect();
        Ok(QueuedExemplar { label_ids, value, timestamp })
    }

    fn enqueue(&mut self, series: SeriesRef, item: Item, now: i64) -> Result<(), PushError> {
        let entry = self.table.get(series).ok_or(PushError::UnknownSeries(series))?;
        let lane = (entry.shard_hash % self.config.shards as u64) as usize;
        self.make_room(lane, std::slice::from_ref(&item))?;
        self.table.retain(series.index());
        self.lanes[lane].enqueue([item], false, now);
        Ok(())
    }

    /// Items that `lane` may hold: `capacity`, and for the collections lane at least one
    /// whole collection of `max_samples_per_request` (larger ones are split when sent).
    fn lane_capacity(&self, lane: usize) -> usize {
        if lane == self.config.shards {
            self.config.capacity.max(self.config.max_samples_per_request)
        } else {
            self.config.capacity
        }
    }

    /// Makes room for `new` items in `lane`, by the `on_full` policy.
    fn make_room(&mut self, lane: usize, new: &[Item]) -> Result<(), PushError> {
        let capacity = self.lane_capacity(lane);
        let (n, pending) = (new.len(), self.lanes[lane].pending());
        // A collection larger than the lane is taken when the lane is empty (it is in memory
        // already), and sent split in requests of `max_samples_per_request`.
        if pending + n <= capacity || (lane == self.config.shards && pending == 0) {
            return Ok(());
        }
        let refuse = |this: &mut Self| {
            let counts = counts_of(new);
            this.stats.kind_mut(|k, n| k.dropped_queue_full += n, counts);
            Err(PushError::QueueFull { capacity })
        };
        // Dropping old data only helps if the new data then fits beside the batch in flight.
        let in_flight = pending - self.lanes[lane].queue.len();
        if self.config.on_full == OnFull::Reject || in_flight + n > capacity {
            return refuse(self);
        }
        let excess = pending + n - capacity;
        let dropped = if lane == self.config.shards {
            self.lanes[lane].drop_oldest_units(excess)
        } else {
            self.lanes[lane].drop_oldest(excess)
        };
        self.record_drop(
            DropReason::QueueFull,
            &dropped,
            format!("queue full: dropped the {} oldest pending items", dropped.len()),
        );
        Ok(())
    }

    /// Items have left for good (delivered or dropped): their series may be freed.
    pub(crate) fn settle(&mut self, items: &[Item]) {
        for item in items {
            self.table.unretain(item.series());
        }
    }

    /// Counts dropped items and tells the user.
    pub(crate) fn record_drop(&mut self, reason: DropReason, dropped: &[Item], message: String) {
        if dropped.is_empty() {
            return;
        }
        let counts = counts_of(dropped);
        match reason {
            DropReason::QueueFull => self.stats.kind_mut(|k, n| k.dropped_queue_full += n, counts),
            DropReason::TooOld => self.stats.kind_mut(|k, n| k.dropped_too_old += n, counts),
            DropReason::Rejected | DropReason::Corrupt => self.stats.kind_mut(|k, n| k.failed += n, counts),
        }
        self.settle(dropped);
        self.events.push_back(Event::Dropped { reason, status: None, counts, message });
    }

    /// Queues a collection: it is sent as one request (split only if it holds more than
    /// `max_samples_per_request` items), after the collections queued before it.
    ///
    /// Collections travel in a lane of their own, beside the shards: write each series either
    /// in collections or with [`Sender::push`], not both, or its samples may leave out of order.
    ///
    /// # Errors
    /// [`PushError::UnknownSeries`] if any handle is unknown (nothing is queued then);
    /// [`PushError::QueueFull`] as for [`Sender::push`].
    pub fn write_collection(&mut self, collection: Collection, now: i64) -> Result<(), PushError> {
        if let Some((s, _)) = collection.items.iter().find(|(s, _)| self.table.get(*s).is_none()) {
            return Err(PushError::UnknownSeries(*s));
        }
        let mut items = Vec::with_capacity(collection.items.len());
        for (s, p) in collection.items {
            items.push(match p {
                Pending::Sample(sample) => Item::Sample { series: s.index(), sample },
                Pending::Histogram(histogram) => Item::Histogram { series: s.index(), histogram },
                Pending::Exemplar(labels, value, ts) => {
                    let labels: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                    Item::Exemplar { series: s.index(), exemplar: Box::new(self.queued_exemplar(&labels, value, ts)?) }
                }
            });
        }
        if items.is_empty() {
            return Ok(());
        }
        let lane = self.config.shards;
        self.make_room(lane, &items)?;
        for item in &items {
            self.table.retain(item.series());
        }
        self.lanes[lane].enqueue(items, true, now);
        Ok(())
    }

    /// Sends everything queued now, without waiting for full batches or deadlines. Poll
    /// [`Sender::poll_transmit`] after it; [`Sender::is_idle`] says when all is delivered.
    pub fn flush(&mut self) {
        for lane in &mut self.lanes {
            if !lane.queue.is_empty() {
                lane.flushing = true;
            }
        }
    }
}

/// Samples, histograms and exemplars among `items`.
pub(crate) fn counts_of<'a>(items: impl IntoIterator<Item = &'a Item>) -> Counts {
    let mut c = Counts::default();
    for i in items {
        match i {
            Item::Sample { .. } => c.samples += 1,
            Item::Histogram { .. } => c.histograms += 1,
            Item::Exemplar { .. } => c.exemplars += 1,
        }
    }
    c
}
