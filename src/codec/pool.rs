//! Allocations kept between decodes: the series vector and each series' label and sample
//! vectors. Decoding a request reuses them instead of allocating thousands of small vectors
//! (measured: about a third of decode time went to malloc, free and first-touch page faults).
//!
//! Vectors of borrowed labels cannot outlive the buffer they borrow from, so they are emptied
//! and re-typed to `'static` on the way back into the pool by collecting an empty iterator in
//! place, which keeps the allocation (no `unsafe`).

use super::error::DecodeError;
use crate::limits::Limits;
use crate::model::{Label, Sample, Series, WriteRequest};

/// What decoding one request may still add, from the request limits. Charged as elements are
/// decoded, so that no body, however it is crafted, makes the decoder allocate more than the
/// limits allow (an empty protobuf message of 2 bytes becomes a model element of up to 240).
#[derive(Debug)]
pub(crate) struct Budget {
    samples: usize,
    labels: usize,
    limits: (usize, usize),
}

/// Which budget an element is charged to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Charge {
    Samples,
    Labels,
}

impl Budget {
    pub(crate) fn new(limits: &Limits) -> Self {
        Budget {
            samples: limits.max_samples_per_request,
            labels: limits.max_labels_per_request,
            limits: (limits.max_samples_per_request, limits.max_labels_per_request),
        }
    }

    /// Takes `n` units from one budget.
    #[inline]
    pub(crate) fn charge(&mut self, what: Charge, n: usize) -> Result<(), DecodeError> {
        let (left, error) = match what {
            Charge::Samples => (&mut self.samples, DecodeError::TooManySamples { limit: self.limits.0 }),
            Charge::Labels => (&mut self.labels, DecodeError::TooManyLabels { limit: self.limits.1 }),
        };
        match left.checked_sub(n) {
            Some(rest) => {
                *left = rest;
                Ok(())
            }
            None => Err(error),
        }
    }
}

/// Most vectors of each kind kept; beyond this they are freed.
const MAX_POOLED: usize = 1 << 17;

#[derive(Debug, Default)]
pub(crate) struct Pool {
    series: Vec<Series<'static>>,
    labels: Vec<Vec<Label<'static>>>,
    samples: Vec<Vec<Sample>>,
}

impl Pool {
    /// An empty series vector with room for `n`.
    pub(crate) fn series<'a>(&mut self, n: usize) -> Vec<Series<'a>> {
        let mut v: Vec<Series<'a>> = std::mem::take(&mut self.series);
        v.reserve(n);
        v
    }

    /// An empty label vector.
    #[inline]
    pub(crate) fn labels<'a>(&mut self) -> Vec<Label<'a>> {
        self.labels.pop().unwrap_or_default()
    }

    /// An empty sample vector.
    #[inline]
    pub(crate) fn samples(&mut self) -> Vec<Sample> {
        self.samples.pop().unwrap_or_default()
    }

    /// Takes back the allocations of a request that is no longer needed.
    pub(crate) fn recycle(&mut self, req: WriteRequest<'_>) {
        let mut series = req.series;
        for s in series.drain(..) {
            if self.labels.len() < MAX_POOLED && s.labels.capacity() > 0 {
                self.labels.push(empty_labels(s.labels));
            }
            if self.samples.len() < MAX_POOLED && s.samples.capacity() > 0 {
                let mut samples = s.samples;
                samples.clear();
                self.samples.push(samples);
            }
        }
        if series.capacity() > self.series.capacity() {
            self.series = empty_series(series);
        }
    }
}

fn empty_labels(mut v: Vec<Label<'_>>) -> Vec<Label<'static>> {
    v.clear();
    v.into_iter().map(|_| unreachable!("the vector is empty")).collect()
}

fn empty_series(mut v: Vec<Series<'_>>) -> Vec<Series<'static>> {
    v.clear();
    v.into_iter().map(|_| unreachable!("the vector is empty")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn recycling_keeps_the_allocations() {
        let owned = String::from("value");
        let mut req = WriteRequest::default();
        let mut labels = Vec::with_capacity(40);
        labels.push(Label::new("name", owned.as_str()));
        req.series = Vec::with_capacity(100);
        req.series.push(Series { labels, samples: vec![Sample::new(1.0, 1)], ..Series::default() });
        let mut pool = Pool::default();
        pool.recycle(req);
        drop(owned);
        assert!(pool.series(0).capacity() >= 100);
        let labels = pool.labels();
        assert!(labels.is_empty() && labels.capacity() >= 40);
        assert!(pool.samples().capacity() >= 1);
    }
}
