//! The sender's outputs (requests to send, deadlines, events) and the outcomes fed back.

use super::input::counts_of;
use super::retry::Verdict;
use super::*;

impl Sender {
    /// The next request to send now, if any is due: a retry whose backoff has passed, or a new
    /// batch from a lane with nothing in flight that is full, past its deadline or flushing.
    #[must_use]
    pub fn poll_transmit(&mut self, now: i64) -> Option<Transmit> {
        let n = self.lanes.len();
        for k in 0..n {
            let i = (self.next_lane + k) % n;
            if let Some(t) = self.transmit_from(i, now) {
                self.next_lane = (i + 1) % n;
                return Some(t);
            }
        }
        None
    }

    fn transmit_from(&mut self, i: usize, now: i64) -> Option<Transmit> {
        loop {
            let (items, attempt, id) = self.next_batch(i, now)?;
            let items = self.drop_too_old(items, now);
            if items.is_empty() {
                // All of it was too old: this lane is free again; look at what follows.
                self.finish(i);
                continue;
            }
            return Some(self.encode_in_flight(i, items, attempt, id, now));
        }
    }

    /// The items, attempt and id of the request lane `i` should send now, if any: its batch in
    /// flight once its retry is due, or a new batch once it is ready.
    fn next_batch(&mut self, i: usize, now: i64) -> Option<(Vec<Item>, u32, u64)> {
        let collections = i == self.config.shards;
        let lane = &mut self.lanes[i];
        let ready = lane.ready(now, self.config.max_samples_per_send, self.config.batch_send_deadline_ms);
        match &mut lane.in_flight {
            Some(f) if f.retry_at.is_some_and(|t| now >= t) => {
                f.retry_at = None;
                if !std::mem::take(&mut f.fallback) {
                    f.attempt += 1;
                }
                f.sent_at = now;
                Some((std::mem::take(&mut f.items), f.attempt, f.id))
            }
            Some(_) => None,
            None if ready => {
                let first_seq = lane.front_seq;
                let max = if collections { usize::MAX } else { self.config.max_samples_per_send };
                let mut items = lane.take_batch(max, now);
                if collections && items.len() > self.config.max_samples_per_request {
                    // Too large for one request: send it in parts, in order.
                    lane.requeue_front(items.split_off(self.config.max_samples_per_request));
                    self.stats.collections_split_total += 1;
                }
                let id = self.next_id;
                self.next_id += 1;
                lane.in_flight = Some(InFlight {
                    id,
                    items: Vec::new(),
                    attempt: 0,
                    retry_at: None,
                    sent_at: now,
                    version: self.version,
                    fallback: false,
                    families: Vec::new(),
                    first_seq,
                });
                Some((items, 0, id))
            }
            None => None,
        }
    }

    /// Encodes lane `i`'s batch in the writer's current protocol and keeps it in flight.
    fn encode_in_flight(&mut self, i: usize, items: Vec<Item>, attempt: u32, id: u64, now: i64) -> Transmit {
        let collections = i == self.config.shards;
        let interval = self.config.metadata_interval_ms as i64;
        let flight = self.lanes[i].in_flight.as_mut().expect("next_batch set it");
        let first_attempt = flight.families.is_empty() && attempt == 0;
        let (sent_at, families) = (&mut self.family_sent_at, &mut flight.families);
        // 1.0 metadata: a family is due when its interval has passed (always, in a
        // collection); a retry carries what the first attempt carried.
        let mut want = |family: u32| {
            if !first_attempt {
                return families.contains(&family);
            }
            let f = family as usize;
            if f >= sent_at.len() {
                sent_at.resize(f + 1, i64::MIN);
            }
            let due = collections || sent_at[f] == i64::MIN || now - sent_at[f] >= interval;
            if due {
                sent_at[f] = now;
                families.push(family);
            }
            due
        };
        let (body, encoded) = self.encoder.encode(&items, &self.table, self.version, &mut want);
        let body = body.to_vec();
        flight.items = items;
        flight.version = self.version;
        self.in_flight_metadata[i] = encoded.metadata;
        self.stats.bytes_total += body.len() as u64;
        if attempt > 0 {
            self.stats.kind_mut(|k, n| k.retried += n, encoded.counts);
        }
        Transmit { id, body, version: self.version, attempt, counts: encoded.counts }
    }

    /// Drops items older than `sample_age_limit`, counting and reporting them.
    fn drop_too_old(&mut self, items: Vec<Item>, now: i64) -> Vec<Item> {
        let limit = self.config.sample_age_limit_ms;
        if limit == 0 {
            return items;
        }
        let oldest = now.saturating_sub(limit as i64);
        let (items, dropped): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|it| it.timestamp() >= oldest);
        self.record_drop(DropReason::TooOld, &dropped, format!("older than sample_age_limit ({limit} ms)"));
        items
    }

    /// When to call [`Sender::poll_transmit`] again at the latest (ms, same clock as `now`),
    /// or `None` if nothing is waiting on time.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<i64> {
        self.lanes.iter().filter_map(|l| l.deadline(self.config.batch_send_deadline_ms)).min()
    }

    /// The next event for the user, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn lane_of(&self, id: u64) -> Option<usize> {
        self.lanes.iter().position(|l| l.in_flight.as_ref().is_some_and(|f| f.id == id && f.retry_at.is_none()))
    }

    /// Reports the response to request `id`. Unknown ids are ignored.
    pub fn handle_response(&mut self, id: u64, response: Response<'_>, now: i64) {
        let Some(i) = self.lane_of(id) else { return };
        let flight = self.lanes[i].in_flight.as_ref().expect("lane_of found it");
        self.stats.observe_duration(now - flight.sent_at);
        let sent = counts_of(&flight.items);
        let version = flight.version;
        let message = || {
            let body = &response.body[..response.body.len().min(MAX_ERROR_BODY)];
            String::from_utf8_lossy(body).into_owned()
        };
        let verdict =
            self.config.policy().judge(version, sent, &response, now, &mut self.backoffs[i], &mut self.jitter);
        match verdict {
            Verdict::Delivered { written } => {
                self.account(sent, written);
                self.stats.metadata_total += self.in_flight_metadata[i];
                self.stats.requests_succeeded += 1;
                self.finish(i);
            }
            Verdict::Retry { delay_ms } => self.retry_later(i, Some(response.status), delay_ms, message(), now),
            Verdict::FallBackToV1 => {
                if self.version == Version::V2 {
                    self.version = Version::V1;
                    self.stats.protocol_fallbacks_total += 1;
                    self.events.push_back(Event::FellBackToV1 { status: response.status });
                }
                // Send the same batch again at once, as 1.0 (not a retry).
                if let Some(f) = &mut self.lanes[i].in_flight {
                    f.retry_at = Some(now);
                    f.fallback = true;
                }
            }
            Verdict::Refused { written } => {
                self.stats.kind_mut(|k, n| k.total += n, written);
                let failed = minus(sent, written);
                self.stats.kind_mut(|k, n| k.failed += n, failed);
                self.stats.requests_failed += 1;
                self.events.push_back(Event::Dropped {
                    reason: DropReason::Rejected,
                    status: Some(response.status),
                    counts: failed,
                    message: message(),
                });
                self.finish(i);
            }
        }
    }

    /// Counts a delivered batch: what the receiver wrote, and the rest as failed.
    fn account(&mut self, sent: Counts, delivered: Counts) {
        self.stats.kind_mut(|k, n| k.total += n, delivered);
        let failed = minus(sent, delivered);
        if failed != Counts::default() {
            self.stats.kind_mut(|k, n| k.failed += n, failed);
            self.events.push_back(Event::PartiallyWritten { sent, written: delivered });
        }
    }

    /// Reports that request `id` failed without a response (network error, timeout): it is
    /// retried after a backoff. Unknown ids are ignored.
    pub fn handle_error(&mut self, id: u64, error: &str, now: i64) {
        let Some(i) = self.lane_of(id) else { return };
        if let Some(f) = &self.lanes[i].in_flight {
            self.stats.observe_duration(now - f.sent_at);
        }
        let delay = self.backoffs[i].next_delay(self.jitter.unit());
        self.retry_later(i, None, delay, error.to_string(), now);
    }

    fn retry_later(&mut self, i: usize, status: Option<u16>, delay_ms: u64, message: String, now: i64) {
        self.stats.requests_retried += 1;
        if let Some(f) = &mut self.lanes[i].in_flight {
            f.retry_at = Some(now.saturating_add(delay_ms as i64));
            self.events.push_back(Event::Retrying { status, attempt: f.attempt + 1, delay_ms, message });
        }
    }

    /// Lane `i`'s batch has left for good (delivered or dropped).
    fn finish(&mut self, i: usize) {
        if let Some(f) = self.lanes[i].in_flight.take() {
            self.settle(&f.items);
        }
        self.in_flight_metadata[i] = 0;
        self.backoffs[i].reset();
    }

    /// Whether nothing is queued or in flight.
    pub fn is_idle(&self) -> bool {
        self.lanes.iter().all(|l| l.pending() == 0)
    }

    /// A marker for what is queued now, for [`Sender::flushed`]: with [`Sender::flush`], how a
    /// caller waits for its own data without waiting for data pushed after it.
    pub fn flush_marker(&self) -> Vec<u64> {
        self.lanes.iter().map(|l| l.next_seq).collect()
    }

    /// Whether everything queued before `marker` was taken has been delivered or dropped.
    pub fn flushed(&self, marker: &[u64]) -> bool {
        self.lanes.iter().zip(marker).all(|(l, &m)| l.lowest_unsettled() >= m)
    }

    /// What is queued or in flight.
    pub fn pending(&self) -> Counts {
        counts_of(self.lanes.iter().flat_map(|l| l.queue.iter().chain(l.in_flight.iter().flat_map(|f| &f.items))))
    }

    /// The sender's metrics, pending counts included.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        let p = self.pending();
        s.samples.pending = p.samples;
        s.histograms.pending = p.histograms;
        s.exemplars.pending = p.exemplars;
        s
    }
}

/// `a - b` per kind.
pub(crate) fn minus(a: Counts, b: Counts) -> Counts {
    Counts {
        samples: a.samples.saturating_sub(b.samples),
        histograms: a.histograms.saturating_sub(b.histograms),
        exemplars: a.exemplars.saturating_sub(b.exemplars),
    }
}
