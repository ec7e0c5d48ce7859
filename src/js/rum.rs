//! `Rum`: the page's [`Recorder`] as a JavaScript class, for the npm package's RUM client
//! (`pkg/rum.js`, built alone with feature `js-rum`: the 1.0 encoder, snappy and the schema,
//! nothing else, since every page loads it).
//!
//! A series' labels cross once (`series()` returns its number); then each event is one call
//! with numbers only.

use crate::rum::{Kind, Metric, RecordError, Recorder, Schema};
use wasm_bindgen::prelude::*;

/// What a page recorded since its last push.
#[wasm_bindgen]
pub struct Rum(Recorder);

fn js_err(why: &str) -> JsError {
    JsError::new(&["edgewrite: ", why].concat())
}

/// A call the schema refuses, for the page: `edgewrite: ` and what went wrong.
fn refused(e: RecordError) -> JsError {
    js_err(&e.message())
}

#[wasm_bindgen]
impl Rum {
    /// A recorder for the built-in schema (page views, errors, the Web Vitals).
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Rum {
        Rum(Recorder::new(Schema::default()))
    }

    /// Declares a metric of the page's own, as the Worker's `RUM_SCHEMA` does: `kind` is
    /// `counter`, `histogram` or `gauge`; `labels` the allowed names joined by `,`; `lo` and
    /// `hi` its range (`undefined`: the widest the kind allows).
    pub fn declare(
        &mut self,
        name: &str,
        kind: &str,
        labels: &str,
        buckets: Vec<f64>,
        lo: Option<f64>,
        hi: Option<f64>,
    ) -> Result<(), JsError> {
        let kind = match kind {
            "counter" => Kind::Counter,
            "histogram" => Kind::Histogram,
            "gauge" => Kind::Gauge,
            _ => return Err(js_err(&[name, ": type \"", kind, "\" is not counter, histogram or gauge"].concat())),
        };
        let labels = labels.split(',').filter(|l| !l.is_empty()).map(str::to_string).collect();
        let widest = kind.widest_range();
        let range = (lo.unwrap_or(widest.0), hi.unwrap_or(widest.1));
        self.0.declare(name, Metric { kind, labels, buckets, range }).map_err(|e| js_err(&e.0))
    }

    /// The number of `metric`'s series with `labels`: names and values alternating, joined by
    /// `"\0"`.
    pub fn series(&mut self, metric: &str, labels: &str) -> Result<u32, JsError> {
        // By bytes, not `str::split`, whose panic paths bring string formatting into the wasm.
        let mut parts = Vec::new();
        let mut start = 0;
        for (i, b) in labels.bytes().chain([0]).enumerate() {
            if b == 0 {
                parts.push(labels.get(start..i).unwrap_or_default());
                start = i + 1;
            }
        }
        if labels.is_empty() {
            parts.clear();
        }
        let pairs: Vec<(&str, &str)> = parts.chunks(2).map(|p| (p[0], p.get(1).copied().unwrap_or_default())).collect();
        self.0.series(metric, &pairs).map_err(refused)
    }

    /// Adds `by` to a counter.
    pub fn add(&mut self, id: u32, by: f64) -> Result<(), JsError> {
        self.0.add(id, by).map_err(refused)
    }

    /// Sets a gauge.
    pub fn set(&mut self, id: u32, value: f64) -> Result<(), JsError> {
        self.0.set(id, value).map_err(refused)
    }

    /// Observes a value into a histogram.
    pub fn observe(&mut self, id: u32, value: f64) -> Result<(), JsError> {
        self.0.observe(id, value).map_err(refused)
    }

    /// The push of what was recorded since the last take, stamped `now` (ms), at most
    /// `max_bytes` long (what does not fit waits for the next take), or `undefined` when
    /// nothing was.
    pub fn take(&mut self, now: f64, max_bytes: f64) -> Option<Vec<u8>> {
        // (`as` saturates: Infinity is no limit, NaN or a negative one series a push.)
        self.0.take(now as i64, max_bytes as usize).map(<[u8]>::to_vec)
    }
}
