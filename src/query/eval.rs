//! Evaluating a parsed PromQL expression over series data, as Prometheus 2.42 does: instant
//! selectors with the 5-minute lookback and stale markers, range selectors (closed ranges),
//! subqueries, `offset` and `@`, the rate family with Prometheus's extrapolation, the
//! `*_over_time` family, math and label functions, aggregations, and binary operators with
//! vector matching. Sans-I/O: the caller hands in the series the selectors need (from the
//! shards, pushed down) and gets values out. What is not implemented yet is refused by name
//! ([`EvalError::Unsupported`]), never answered with a wrong number.

use super::ast::*;
use crate::error::HttpStatus;
use crate::model::{Histogram, Sample};
use binary::binary;
use native::FloatHistogram;
use std::collections::BTreeMap;
use std::fmt;
use window::WindowFn;

mod binary;
mod calendar;
mod histogram;
mod labels;
pub mod native;
mod sweep;
mod window;

/// A series' labels, sorted by name.
pub type Labels = Vec<(String, String)>;

/// A series' points (ms, value) over a range.
pub type Points = Vec<(i64, f64)>;

/// An aggregation's groups: each group's labels (borrowed) and its members.
type Groups<'v> = BTreeMap<Vec<(&'v str, &'v str)>, Vec<&'v (Labels, f64)>>;

/// What an `*_over_time` function makes of one series' points in its range.
type OverTime<'f> = &'f dyn Fn(&[(i64, f64)]) -> Option<f64>;

/// One series of input: labels and float samples in timestamp order (stale markers included).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Its labels, sorted by name.
    pub labels: Labels,
    /// Its samples, in timestamp order.
    pub samples: Vec<Sample>,
    /// Its native histogram samples, in timestamp order (stale markers included).
    pub histograms: Vec<Histogram>,
}

/// A value of an expression at one time.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number.
    Scalar(f64),
    /// A string.
    String(String),
    /// One value per series.
    Vector(Vec<(Labels, f64)>),
    /// Samples (ms, value) per series.
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
    /// One native histogram per series.
    Histograms(Vec<(Labels, FloatHistogram)>),
}

/// One series of a range query's answer: its float points, or its histogram points.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    /// Its labels.
    pub labels: Labels,
    /// Float points (ms, value).
    pub floats: Points,
    /// Native histogram points (ms, histogram).
    pub histograms: Vec<(i64, FloatHistogram)>,
}

/// Why a query could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// A function or feature this evaluator does not have yet (400).
    Unsupported(String),
    /// More samples than the query may load (422, `execution`).
    TooManySamples(usize),
    /// The evaluation spent its work budget, which stands in for the query's timeout
    /// (503, `timeout`).
    Timeout,
    /// The query cannot run on this data, as Prometheus's `execution` errors (422): vector
    /// matching found several series where one must be, a result holds one label set twice,
    /// or a function's argument (a regex, a label name) is invalid.
    Execution(String),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Unsupported(what) => write!(f, "{what} is not supported by this PromQL engine yet"),
            EvalError::TooManySamples(max) => {
                write!(f, "query processing would load too many samples into memory in query execution (limit {max})")
            }
            EvalError::Execution(why) => write!(f, "{why}"),
            EvalError::Timeout => write!(f, "query timed out in expression evaluation"),
        }
    }
}

impl std::error::Error for EvalError {}

impl HttpStatus for EvalError {
    fn status(&self) -> u16 {
        match self {
            EvalError::Unsupported(_) => 400,
            EvalError::TooManySamples(_) | EvalError::Execution(_) => 422,
            EvalError::Timeout => 503,
        }
    }
}

/// Prometheus's default lookback for instant selectors: 5 minutes.
pub const LOOKBACK_MS: i64 = 300_000;

/// An evaluation: the data, the query's start and end (for `@ start()` / `@ end()`), and the
/// limit on samples loaded at once.
pub struct Evaluator<'d> {
    data: &'d [Series],
    start: i64,
    end: i64,
    step: i64,
    /// Most samples in one step's result.
    pub max_samples: usize,
    /// Work left for the whole evaluation: each sample a selector reads counts one, each
    /// subquery or range step [`STEP_WORK`], so no query (`x[1y:1ms]`, say) can hold the
    /// Worker for long.
    /// (A Worker's clock stands still while code runs, so work, not time, bounds a query.)
    budget: std::cell::Cell<u64>,
    /// Per selector (by address): the series it selects, and where each one's last window
    /// began and ended, so that the next step of a range query moves on from there instead
    /// of searching each series again.
    selections: std::cell::RefCell<std::collections::HashMap<usize, Selection>>,
    /// The range query being evaluated: its start, step and number of steps.
    grid: std::cell::Cell<Option<(i64, i64, usize)>>,
    /// Expressions of that range query evaluated series by series, by address.
    sweeps: std::cell::RefCell<std::collections::HashMap<usize, sweep::Swept>>,
    /// Values the sweeps of this query hold (bounded by `sweep::MAX_CELLS`).
    swept_cells: std::cell::Cell<usize>,
}

/// A selector's series (indexes into the data) and their window cursors.
struct Selection {
    series: Vec<usize>,
    cursors: Vec<(usize, usize)>,
    /// Whether any of them has native histograms (most selections have none to look at).
    histograms: bool,
}

/// Default work budget of one evaluation (samples read plus steps taken): the share of
/// Prometheus's default timeout, 2 minutes.
pub const MAX_WORK: u64 = 5_000_000_000;

/// What one step of a range query or subquery costs against the budget: a step evaluates a
/// whole expression (allocating its vectors), some hundred times a sample read.
pub const STEP_WORK: usize = 100;

/// The evaluation interval a subquery without a step uses, as Prometheus's default.
pub const SUBQUERY_STEP_MS: i64 = 60_000;

impl<'d> Evaluator<'d> {
    /// An evaluator over `data` for a query from `start` to `end` (ms; equal for an instant
    /// query) with `step` (ms, the subquery default).
    pub fn new(data: &'d [Series], start: i64, end: i64, step: i64) -> Self {
        Evaluator {
            data,
            start,
            end,
            step: step.max(1),
            max_samples: 5_000_000,
            budget: std::cell::Cell::new(MAX_WORK),
            selections: Default::default(),
            grid: Default::default(),
            sweeps: Default::default(),
            swept_cells: Default::default(),
        }
    }

    /// Sets the work budget (see [`MAX_WORK`]).
    pub fn with_budget(self, work: u64) -> Self {
        self.budget.set(work);
        self
    }

    /// Spends `n` units of the budget.
    fn spend(&self, n: usize) -> Result<(), EvalError> {
        let left = self.budget.get();
        if (n as u64) > left {
            return Err(EvalError::Timeout);
        }
        self.budget.set(left - n as u64);
        Ok(())
    }

    /// The value of `expr` at `t` (ms).
    ///
    /// # Errors
    /// [`EvalError`].
    pub fn at(&self, expr: &Expr, t: i64) -> Result<Value, EvalError> {
        // The cursors are kept by selector address: another expression may reuse one.
        self.selections.borrow_mut().clear();
        self.sweeps.borrow_mut().clear();
        self.swept_cells.set(0);
        self.grid.set(None);
        self.step(expr, t)
    }

    /// One step of an evaluation ([`Self::at`] without forgetting the cursors).
    fn step(&self, expr: &Expr, t: i64) -> Result<Value, EvalError> {
        let v = self.eval(expr, t)?;
        let n = match &v {
            Value::Vector(v) => v.len(),
            Value::Matrix(m) => m.iter().map(|s| s.1.len()).sum(),
            Value::Histograms(h) => h.len(),
            _ => 1,
        };
        if n > self.max_samples {
            return Err(EvalError::TooManySamples(self.max_samples));
        }
        Ok(v)
    }

    /// A range query: the value of `expr` at every step from the start to the end, per series.
    ///
    /// # Errors
    /// [`EvalError`].
    pub fn range(&self, expr: &Expr) -> Result<Vec<RangeSeries>, EvalError> {
        self.selections.borrow_mut().clear();
        self.sweeps.borrow_mut().clear();
        self.swept_cells.set(0);
        let steps = if self.end < self.start { 0 } else { ((self.end - self.start) / self.step) as usize + 1 };
        self.grid.set(Some((self.start, self.step, steps)));
        // The common shapes, series by series (see `sweep`); a shape it does not cover is
        // remembered as such, so its steps do not try again.
        match self.sweep(expr) {
            sweep::Swept::Rows(rows) => return self.swept_range(rows, steps),
            sweep::Swept::Failed(e) => return Err(e),
            sweep::Swept::No => {
                self.sweeps.borrow_mut().insert(expr as *const Expr as usize, sweep::Swept::No);
            }
        }
        let mut out: BTreeMap<Labels, RangeSeries> = BTreeMap::new();
        fn entry(out: &mut BTreeMap<Labels, RangeSeries>, labels: Labels) -> &mut RangeSeries {
            // The labels are cloned only for a series not seen at an earlier step.
            if !out.contains_key(&labels) {
                let series = RangeSeries { labels: labels.clone(), floats: Vec::new(), histograms: Vec::new() };
                out.insert(labels.clone(), series);
            }
            out.get_mut(&labels).expect("inserted above")
        }
        let mut total = 0;
        let mut t = self.start;
        while t <= self.end {
            self.spend(STEP_WORK)?;
            let n = match self.step(expr, t)? {
                Value::Scalar(v) => {
                    entry(&mut out, Vec::new()).floats.push((t, v));
                    1
                }
                Value::Vector(v) => {
                    let n = v.len();
                    for (labels, x) in v {
                        entry(&mut out, labels).floats.push((t, x));
                    }
                    n
                }
                Value::Histograms(v) => {
                    let n = v.len();
                    for (labels, h) in v {
                        entry(&mut out, labels).histograms.push((t, h));
                    }
                    n
                }
                _ => return Err(EvalError::Unsupported("a range query of a range vector or string".into())),
            };
            total += n;
            if total > self.max_samples {
                return Err(EvalError::TooManySamples(self.max_samples));
            }
            let Some(next) = t.checked_add(self.step) else { break };
            t = next;
        }
        Ok(out.into_values().collect())
    }

    /// A range query's answer from a sweep's rows, with the checks and costs of its steps.
    fn swept_range(&self, rows: sweep::Rows, steps: usize) -> Result<Vec<RangeSeries>, EvalError> {
        self.spend(STEP_WORK.saturating_mul(steps))?;
        let mut total = 0;
        let mut out = Vec::with_capacity(rows.labels.len());
        for (labels, values) in rows.labels.into_iter().zip(rows.values) {
            let floats: Points =
                (0..steps).filter_map(|k| values[k].map(|v| (self.start + k as i64 * self.step, v))).collect();
            total += floats.len();
            if total > self.max_samples {
                return Err(EvalError::TooManySamples(self.max_samples));
            }
            if !floats.is_empty() {
                out.push(RangeSeries { labels, floats, histograms: Vec::new() });
            }
        }
        Ok(out)
    }

    fn eval(&self, expr: &Expr, t: i64) -> Result<Value, EvalError> {
        // An aggregation in a range query is swept across all its steps at its first one.
        if matches!(expr, Expr::Aggregate { .. })
            && let Some(value) = self.swept(expr, t)
        {
            return value;
        }
        Ok(match expr {
            Expr::Number(n) => Value::Scalar(*n),
            Expr::String(s) => Value::String(s.clone()),
            Expr::Paren(e) => self.eval(e, t)?,
            Expr::Negate(e) => match self.eval(e, t)? {
                Value::Scalar(v) => Value::Scalar(-v),
                Value::Vector(v) => distinct(Value::Vector(v.into_iter().map(|(l, x)| (drop_name(l), -x)).collect()))?,
                Value::Histograms(_) => return Err(unsupported_histograms("unary minus")),
                other => other,
            },
            Expr::Vector(s) => {
                let v = self.instant(s, t);
                let h = self.instant_histograms(s, t);
                self.spend(v.len() + h.len())?;
                match (v.is_empty(), h.is_empty()) {
                    (_, true) => Value::Vector(v),
                    (true, false) => Value::Histograms(h),
                    _ => return Err(EvalError::Unsupported("a vector mixing floats and native histograms".into())),
                }
            }
            Expr::Matrix { selector, range_ms } => {
                if self.has_histograms(selector, *range_ms, t) {
                    return Err(unsupported_histograms("a range vector other than rate(), increase() or delta()'s"));
                }
                let m = self.matrix(selector, *range_ms, t);
                self.spend(m.iter().map(|s| s.1.len()).sum())?;
                Value::Matrix(m)
            }
            Expr::Subquery { expr, range_ms, step_ms, offset_ms, at } => {
                let ts = self.time(*at, t) - offset_ms;
                let step = step_ms.unwrap_or(SUBQUERY_STEP_MS).max(1);
                // Steps aligned to multiples of the step, as Prometheus aligns them.
                let first = (ts - range_ms).div_euclid(step) * step;
                let mut series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
                let mut u = if first < ts - range_ms { first + step } else { first };
                while u <= ts {
                    self.spend(STEP_WORK)?;
                    if let Value::Vector(v) = self.eval(expr, u)? {
                        for (l, x) in v {
                            series.entry(l).or_default().push((u, x));
                        }
                    }
                    let Some(next) = u.checked_add(step) else { break };
                    u = next;
                }
                Value::Matrix(series.into_iter().collect())
            }
            Expr::Call { func, args } if may_repeat(func.name, args) => distinct(self.call(func.name, args, t)?)?,
            Expr::Call { func, args } => self.call(func.name, args, t)?,
            Expr::Aggregate { op, expr, param, grouping } => {
                self.aggregate(*op, expr, param.as_deref(), grouping, t)?
            }
            Expr::Binary { op, lhs, rhs, return_bool, matching } => {
                let (l, r) = (self.eval(lhs, t)?, self.eval(rhs, t)?);
                if matches!(l, Value::Histograms(_)) || matches!(r, Value::Histograms(_)) {
                    return Err(unsupported_histograms("binary operations"));
                }
                distinct(binary(*op, l, r, *return_bool, matching.as_ref())?)?
            }
        })
    }

    fn time(&self, at: Option<At>, t: i64) -> i64 {
        match at {
            None => t,
            Some(At::Time(ms)) => ms,
            Some(At::Start) => self.start,
            Some(At::End) => self.end,
        }
    }

    /// The newest sample of each selected series at most `LOOKBACK_MS` old; a stale marker
    /// there ends the series.
    fn instant(&self, s: &VectorSelector, t: i64) -> Vec<(Labels, f64)> {
        self.latest(s, t).into_iter().map(|(series, sample)| (series.labels.clone(), sample.value)).collect()
    }

    /// The native histogram an instant selector reads at `t` from each selected series that
    /// has one (the newest at most `LOOKBACK_MS` old, newer than its newest float sample).
    fn instant_histograms(&self, s: &VectorSelector, t: i64) -> Vec<(Labels, FloatHistogram)> {
        let ts = self.time(s.at, t) - s.offset_ms;
        let mut out = Vec::new();
        self.with_selection(s, |selection| {
            if !selection.histograms {
                return;
            }
            for &i in &selection.series {
                let series = &self.data[i];
                let Some(h) = series.histograms[..series.histograms.partition_point(|h| h.timestamp <= ts)].last()
                else {
                    continue;
                };
                let float_after = newer_float(series, h.timestamp, ts);
                if h.timestamp >= ts - LOOKBACK_MS && !h.is_stale() && !float_after {
                    out.push((series.labels.clone(), FloatHistogram::from_model(h)));
                }
            }
        });
        out
    }

    /// Whether any selected series has native histograms in `[ts - range, ts]`.
    fn has_histograms(&self, s: &VectorSelector, range: i64, t: i64) -> bool {
        let ts = self.time(s.at, t) - s.offset_ms;
        self.with_selection(s, |selection| {
            selection.histograms
                && selection
                    .series
                    .iter()
                    .any(|&i| !histogram_window(&self.data[i].histograms, ts - range, ts).is_empty())
        })
    }

    /// `rate`, `increase` or `delta` of each selected series' native histograms in
    /// `[ts - range, ts]` (stale markers left out), extrapolated as for floats.
    fn histogram_rates(&self, name: &str, s: &VectorSelector, range: i64, t: i64) -> Result<Value, EvalError> {
        let ts = self.time(s.at, t) - s.offset_ms;
        let mut out = Vec::new();
        let mut read = 0;
        self.with_selection(s, |selection| {
            for &i in &selection.series {
                let series = &self.data[i];
                let window: Vec<&Histogram> =
                    histogram_window(&series.histograms, ts - range, ts).iter().filter(|x| !x.is_stale()).collect();
                read += window.len();
                if window.len() < 2 {
                    continue;
                }
                let floats: Vec<FloatHistogram> = window.iter().map(|x| FloatHistogram::from_model(x)).collect();
                let Some(increase) = native::increase(&floats, name != "delta") else { continue };
                let (first, last) = (window[0].timestamp, window[window.len() - 1].timestamp);
                let factor = extrapolation((first, last, window.len()), ts - range, ts, None, name == "rate");
                out.push((drop_name(series.labels.clone()), increase.scale(factor)));
            }
        });
        self.spend(read)?;
        Ok(Value::Histograms(out))
    }

    /// Each selected series with the sample an instant selector reads at `t`.
    fn latest(&self, s: &VectorSelector, t: i64) -> Vec<(&'d Series, &'d Sample)> {
        let ts = self.time(s.at, t) - s.offset_ms;
        let mut out = Vec::new();
        self.with_selection(s, |selection| {
            for (&i, cursor) in selection.series.iter().zip(&mut selection.cursors) {
                let series = &self.data[i];
                cursor.1 = seek(&series.samples, cursor.1, |x| x.timestamp <= ts);
                if let Some(last) = series.samples[..cursor.1].last()
                    && last.timestamp >= ts - LOOKBACK_MS
                    && !last.is_stale()
                    && !newer_histogram(series, last.timestamp, ts)
                {
                    out.push((series, last));
                }
            }
        });
        out
    }

    /// Runs `f` with the selector's selection (made on first use).
    fn with_selection<R>(&self, s: &VectorSelector, f: impl FnOnce(&mut Selection) -> R) -> R {
        let mut selections = self.selections.borrow_mut();
        let selection = selections.entry(s as *const VectorSelector as usize).or_insert_with(|| {
            let series: Vec<usize> = (0..self.data.len()).filter(|&i| selects(s, &self.data[i])).collect();
            let histograms = series.iter().any(|&i| !self.data[i].histograms.is_empty());
            Selection { cursors: vec![(0, 0); series.len()], series, histograms }
        });
        f(selection)
    }

    /// The samples of each selected series in `[ts - range, ts]`, stale markers left out.
    fn matrix(&self, s: &VectorSelector, range: i64, t: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let mut out = Vec::new();
        self.windows(s, range, t, |series, points| out.push((series.labels.clone(), points.to_vec())));
        out
    }

    /// Calls `f` with each selected series and its window `[ts - range, ts]` (stale markers
    /// left out; series with an empty window skipped). Returns how many samples it read.
    fn windows(&self, s: &VectorSelector, range: i64, t: i64, mut f: impl FnMut(&Series, &[(i64, f64)])) -> usize {
        let ts = self.time(s.at, t) - s.offset_ms;
        let mut points = Vec::new();
        let mut read = 0;
        self.with_selection(s, |selection| {
            for (&i, cursor) in selection.series.iter().zip(&mut selection.cursors) {
                let samples = &self.data[i].samples;
                cursor.0 = seek(samples, cursor.0, |x| x.timestamp < ts - range);
                cursor.1 = seek(samples, cursor.1.max(cursor.0), |x| x.timestamp <= ts);
                points.clear();
                points.extend(
                    samples[cursor.0..cursor.1].iter().filter(|x| !x.is_stale()).map(|x| (x.timestamp, x.value)),
                );
                read += points.len();
                if !points.is_empty() {
                    f(&self.data[i], &points);
                }
            }
        });
        read
    }

    fn call(&self, name: &str, args: &[Expr], t: i64) -> Result<Value, EvalError> {
        // A windowed function's range selector is read window by window, never materialized.
        let direct = match args.first().map(strip_parens) {
            // (predict_linear too: it needs its second argument beside the window.)
            Some(Expr::Matrix { selector, range_ms })
                if WindowFn::from_name(name).is_some() || name == "predict_linear" =>
            {
                Some((selector, *range_ms))
            }
            _ => None,
        };
        if let Some((selector, range)) = direct
            && self.has_histograms(selector, range, t)
        {
            if !matches!(name, "rate" | "increase" | "delta") {
                return Err(unsupported_histograms(&format!("{name}()")));
            }
            let floats = self.windows(selector, range, t, |_, _| {});
            if floats > 0 {
                return Err(EvalError::Unsupported("a range vector mixing floats and native histograms".into()));
            }
            return self.histogram_rates(name, selector, range, t);
        }
        let values = args
            .iter()
            .enumerate()
            .map(|(i, a)| if i == 0 && direct.is_some() { Ok(Value::Matrix(Vec::new())) } else { self.eval(a, t) })
            .collect::<Result<Vec<_>, _>>()?;
        let histogram_arg = values.iter().position(|v| matches!(v, Value::Histograms(_)));
        if let Some(i) = histogram_arg {
            let Some(Value::Histograms(hs)) = values.into_iter().nth(i) else { unreachable!("found above") };
            return self.histogram_call(name, args, hs, t);
        }
        // Each argument is read once: vectors, matrices and strings are moved out, not copied.
        let values = std::cell::RefCell::new(values);
        let take = |i: usize| values.borrow_mut().get_mut(i).map(|v| std::mem::replace(v, Value::Scalar(f64::NAN)));
        let scalar = |i: usize| match values.borrow().get(i) {
            Some(Value::Scalar(v)) => *v,
            _ => f64::NAN,
        };
        let vector = |i: usize| match take(i) {
            Some(Value::Vector(v)) => v,
            _ => Vec::new(),
        };
        let string = |i: usize| match take(i) {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        let matrix_at = |i: usize| match take(i) {
            Some(Value::Matrix(m)) => m,
            _ => Vec::new(),
        };
        let matrix = || matrix_at(0);
        let range_of = |e: &Expr| match strip_parens(e) {
            Expr::Matrix { range_ms, .. } | Expr::Subquery { range_ms, .. } => *range_ms,
            _ => 0,
        };
        let per_sample =
            |f: &dyn Fn(f64) -> f64| Value::Vector(vector(0).into_iter().map(|(l, v)| (drop_name(l), f(v))).collect());
        let over_time = |keep_name: bool, f: OverTime<'_>| -> Result<Value, EvalError> {
            let label = |l: &Labels| {
                if keep_name { l.clone() } else { l.iter().filter(|(n, _)| n != "__name__").cloned().collect() }
            };
            let mut out = Vec::new();
            match direct {
                Some((selector, range)) => {
                    let read = self.windows(selector, range, t, |series, points| {
                        if let Some(v) = f(points) {
                            out.push((label(&series.labels), v));
                        }
                    });
                    self.spend(read)?;
                }
                None => out.extend(matrix().into_iter().filter_map(|(l, pts)| f(&pts).map(|v| (label(&l), v)))),
            }
            Ok(Value::Vector(out))
        };
        if let Some(f) = WindowFn::from_name(name) {
            let range = range_of(&args[0]);
            let ts = match strip_parens(&args[0]) {
                Expr::Matrix { selector, .. } => self.time(selector.at, t) - selector.offset_ms,
                Expr::Subquery { at, offset_ms, .. } => self.time(*at, t) - offset_ms,
                _ => t,
            };
            return over_time(f.keeps_name(), &|p| f.value(p, ts, range, true));
        }
        Ok(match name {
            "predict_linear" => {
                let by = scalar(1);
                over_time(false, &|p| regression(p, t).map(|(slope, icpt)| icpt + slope * by))?
            }
            "quantile_over_time" => {
                let q = scalar(0);
                Value::Vector(
                    matrix_at(1)
                        .into_iter()
                        .map(|(l, p)| (drop_name(l), quantile(q, p.iter().map(|x| x.1).collect())))
                        .collect(),
                )
            }
            "abs" => per_sample(&f64::abs),
            "ceil" => per_sample(&f64::ceil),
            "floor" => per_sample(&f64::floor),
            "exp" => per_sample(&f64::exp),
            "ln" => per_sample(&f64::ln),
            "log2" => per_sample(&f64::log2),
            "log10" => per_sample(&f64::log10),
            "sqrt" => per_sample(&f64::sqrt),
            "sin" => per_sample(&f64::sin),
            "cos" => per_sample(&f64::cos),
            "tan" => per_sample(&f64::tan),
            "asin" => per_sample(&f64::asin),
            "acos" => per_sample(&f64::acos),
            "atan" => per_sample(&f64::atan),
            "sinh" => per_sample(&f64::sinh),
            "cosh" => per_sample(&f64::cosh),
            "tanh" => per_sample(&f64::tanh),
            "asinh" => per_sample(&f64::asinh),
            "acosh" => per_sample(&f64::acosh),
            "atanh" => per_sample(&f64::atanh),
            "deg" => per_sample(&|v: f64| v * 180.0 / std::f64::consts::PI),
            "rad" => per_sample(&|v: f64| v * std::f64::consts::PI / 180.0),
            "year" | "month" | "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute" => {
                let part = |v: f64| calendar::part(name, v).unwrap_or(f64::NAN);
                if args.is_empty() {
                    Value::Vector(vec![(Vec::new(), part(t as f64 / 1000.0))])
                } else {
                    per_sample(&part)
                }
            }
            "label_replace" => {
                Value::Vector(labels::replace(vector(0), &string(1), &string(2), &string(3), &string(4))?)
            }
            "label_join" => {
                let sources: Vec<String> = (3..args.len()).map(string).collect();
                Value::Vector(labels::join(vector(0), &string(1), &string(2), &sources)?)
            }
            "histogram_quantile" => Value::Vector(histogram::quantile(scalar(0), vector(1))),
            // Of float samples: nothing, as in Prometheus (they apply to native histograms).
            "histogram_count" | "histogram_sum" | "histogram_fraction" => Value::Vector(Vec::new()),
            "sgn" => per_sample(&|v: f64| {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else {
                    v
                }
            }),
            "round" => {
                // As Prometheus: by the inverse of the step, so round(1.23, 0.1) is 1.2.
                let inverse = 1.0 / if args.len() > 1 { scalar(1) } else { 1.0 };
                per_sample(&|v: f64| (v * inverse + 0.5).floor() / inverse)
            }
            "clamp" => {
                let (lo, hi) = (scalar(1), scalar(2));
                if lo > hi { Value::Vector(Vec::new()) } else { per_sample(&|v: f64| go_min(go_max(v, lo), hi)) }
            }
            "clamp_min" => {
                let lo = scalar(1);
                per_sample(&|v: f64| go_max(v, lo))
            }
            "clamp_max" => {
                let hi = scalar(1);
                per_sample(&|v: f64| go_min(v, hi))
            }
            "time" => Value::Scalar(t as f64 / 1000.0),
            "pi" => Value::Scalar(std::f64::consts::PI),
            "vector" => Value::Vector(vec![(Vec::new(), scalar(0))]),
            "scalar" => match vector(0).as_slice() {
                [(_, v)] => Value::Scalar(*v),
                _ => Value::Scalar(f64::NAN),
            },
            "timestamp" => {
                // The timestamp of the sample each series' value came from.
                let Some(Expr::Vector(s)) = args.first().map(strip_parens) else {
                    return Err(EvalError::Unsupported("timestamp() of an expression other than a selector".into()));
                };
                Value::Vector(
                    self.latest(s, t)
                        .into_iter()
                        .map(|(series, sample)| (drop_name(series.labels.clone()), sample.timestamp as f64 / 1000.0))
                        .collect(),
                )
            }
            "sort" | "sort_desc" => {
                // NaN last either way, as Prometheus sorts.
                let mut v = vector(0);
                v.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                    (true, _) | (_, true) => a.1.is_nan().cmp(&b.1.is_nan()),
                    _ if name == "sort" => a.1.total_cmp(&b.1),
                    _ => b.1.total_cmp(&a.1),
                });
                Value::Vector(v)
            }
            "absent" | "absent_over_time" => {
                let present = match values.borrow().first() {
                    Some(Value::Vector(v)) => !v.is_empty(),
                    Some(Value::Matrix(m)) => !m.is_empty(),
                    _ => true,
                };
                if present {
                    Value::Vector(Vec::new())
                } else {
                    // A label the selector pins with one equality matcher becomes a label; one
                    // it also matches otherwise (or pins twice) is left out, as Prometheus does.
                    let mut labels: Labels = Vec::new();
                    let mut unsure: Vec<&str> = Vec::new();
                    if let Some(Expr::Vector(s) | Expr::Matrix { selector: s, .. }) = args.first().map(strip_parens) {
                        for m in s.matchers.iter().filter(|m| m.name != "__name__") {
                            if m.op == crate::store::Op::Equal && !labels.iter().any(|(n, _)| *n == m.name) {
                                labels.push((m.name.clone(), m.value.clone()));
                            } else {
                                unsure.push(&m.name);
                            }
                        }
                    }
                    // An empty value is no label.
                    labels.retain(|(n, v)| !unsure.contains(&n.as_str()) && !v.is_empty());
                    labels.sort();
                    Value::Vector(vec![(labels, 1.0)])
                }
            }
            other => return Err(EvalError::Unsupported(format!("function \"{other}\""))),
        })
    }

    /// A function called with an instant vector of native histograms (`hs`).
    fn histogram_call(
        &self,
        name: &str,
        args: &[Expr],
        hs: Vec<(Labels, FloatHistogram)>,
        t: i64,
    ) -> Result<Value, EvalError> {
        let scalar = |i: usize| -> Result<f64, EvalError> {
            Ok(match self.eval(&args[i], t)? {
                Value::Scalar(v) => v,
                _ => f64::NAN,
            })
        };
        let each = |f: &dyn Fn(&FloatHistogram) -> f64| {
            Value::Vector(hs.iter().map(|(l, h)| (drop_name(l.clone()), f(h))).collect())
        };
        Ok(match name {
            "histogram_count" => each(&|h| h.count),
            "histogram_sum" => each(&|h| h.sum),
            "histogram_quantile" => {
                let q = scalar(0)?;
                each(&|h| h.quantile(q))
            }
            "histogram_fraction" => {
                let (lower, upper) = (scalar(0)?, scalar(1)?);
                each(&|h| h.fraction(lower, upper))
            }
            _ => return Err(unsupported_histograms(&format!("{name}()"))),
        })
    }

    fn aggregate(
        &self,
        op: AggregateOp,
        expr: &Expr,
        param: Option<&Expr>,
        grouping: &Option<Grouping>,
        t: i64,
    ) -> Result<Value, EvalError> {
        let input = match self.eval(expr, t)? {
            Value::Vector(input) => input,
            Value::Histograms(hs) => return aggregate_histograms(op, hs, grouping),
            _ => return Ok(Value::Vector(Vec::new())),
        };
        let param = param.map(|p| self.eval(p, t)).transpose()?;
        // count_values, as Prometheus runs it: each series takes its value as the label first,
        // then they are counted in groups, by that label too (unless `without`).
        let (op, input, grouping) = match (op, &param) {
            (AggregateOp::CountValues, Some(Value::String(label))) => {
                if !crate::query::lookup::valid_label_name(label) {
                    return Err(EvalError::Execution(format!("invalid label name {label:?}")));
                }
                let input = input
                    .into_iter()
                    .map(|(mut l, v)| {
                        labels::set(&mut l, label, crate::store::render::format_value(v));
                        (l, v)
                    })
                    .collect();
                let grouping = match grouping {
                    Some(Grouping::Without(drop)) => Grouping::Without(drop.clone()),
                    Some(Grouping::By(keep)) => Grouping::By(keep.iter().cloned().chain([label.clone()]).collect()),
                    None => Grouping::By(vec![label.clone()]),
                };
                (AggregateOp::Count, input, std::borrow::Cow::Owned(Some(grouping)))
            }
            _ => (op, input, std::borrow::Cow::Borrowed(grouping)),
        };
        let grouping = grouping.as_ref();
        // Groups keyed by borrowed label pairs: one owned key per group, not one per member.
        let mut groups: Groups<'_> = BTreeMap::new();
        for member in &input {
            groups.entry(group_key(&member.0, grouping)).or_default().push(member);
        }
        let mut out = Vec::new();
        for (k, members) in groups {
            let k = owned(k);
            let values = || members.iter().map(|m| m.1);
            match op {
                AggregateOp::Sum => out.push((k, values().sum())),
                AggregateOp::Avg => out.push((k, values().sum::<f64>() / members.len() as f64)),
                AggregateOp::Count => out.push((k, members.len() as f64)),
                AggregateOp::Group => out.push((k, 1.0)),
                AggregateOp::Min => out.push((k, values().fold(f64::NAN, min))),
                AggregateOp::Max => out.push((k, values().fold(f64::NAN, max))),
                AggregateOp::Stddev => out.push((k, variance(values()).sqrt())),
                AggregateOp::Stdvar => out.push((k, variance(values()))),
                AggregateOp::Quantile => {
                    let q = match param {
                        Some(Value::Scalar(q)) => q,
                        _ => f64::NAN,
                    };
                    out.push((k, quantile(q, values().collect())));
                }
                AggregateOp::Topk | AggregateOp::Bottomk => {
                    let n = match param {
                        Some(Value::Scalar(n)) if n >= 1.0 => n.min(members.len() as f64) as usize,
                        _ => 0,
                    };
                    let mut m = members.clone();
                    // NaN sorts last either way, as in Prometheus.
                    m.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if op == AggregateOp::Topk => b.1.total_cmp(&a.1),
                        _ => a.1.total_cmp(&b.1),
                    });
                    out.extend(m.into_iter().take(n).cloned());
                }
                // Rewritten as Count above (the parser gives it its string).
                AggregateOp::CountValues => {}
            }
        }
        Ok(Value::Vector(out))
    }
}

/// The value, unless it is a vector holding one label set twice (a function or operator
/// that dropped the names of `a{x="1"}` and `b{x="1"}`, say), which Prometheus refuses.
fn distinct(value: Value) -> Result<Value, EvalError> {
    let sets: Vec<&Labels> = match &value {
        Value::Vector(v) => v.iter().map(|(l, _)| l).collect(),
        Value::Histograms(v) => v.iter().map(|(l, _)| l).collect(),
        _ => Vec::new(),
    };
    if sets.len() > 1 {
        let mut sets = sets;
        sets.sort_unstable();
        if sets.windows(2).any(|w| w[0] == w[1]) {
            return Err(EvalError::Execution("vector cannot contain metrics with the same labelset".into()));
        }
    }
    Ok(value)
}

/// The refusal of native histograms where this engine does not take them yet.
fn unsupported_histograms(where_: &str) -> EvalError {
    EvalError::Unsupported(format!("native histograms in {where_}"))
}

/// Whether the series has a native histogram newer than `after` and at most `ts`.
fn newer_histogram(series: &Series, after: i64, ts: i64) -> bool {
    let h = &series.histograms;
    !h.is_empty() && h[..h.partition_point(|x| x.timestamp <= ts)].last().is_some_and(|x| x.timestamp > after)
}

/// Whether the series has a float sample newer than `after` and at most `ts`.
fn newer_float(series: &Series, after: i64, ts: i64) -> bool {
    let s = &series.samples;
    s[..s.partition_point(|x| x.timestamp <= ts)].last().is_some_and(|x| x.timestamp > after)
}

/// `sum`, `avg`, `count` and `group` of native histograms, as Prometheus 2.42 has them.
fn aggregate_histograms(
    op: AggregateOp,
    hs: Vec<(Labels, FloatHistogram)>,
    grouping: &Option<Grouping>,
) -> Result<Value, EvalError> {
    let mut groups: BTreeMap<Vec<(&str, &str)>, Vec<&FloatHistogram>> = BTreeMap::new();
    for (l, h) in &hs {
        groups.entry(group_key(l, grouping)).or_default().push(h);
    }
    let sum = |members: &[&FloatHistogram]| members[1..].iter().fold(members[0].clone(), |acc, h| acc.add(h));
    Ok(match op {
        AggregateOp::Sum => Value::Histograms(groups.into_iter().map(|(k, m)| (owned(k), sum(&m))).collect()),
        AggregateOp::Avg => Value::Histograms(
            groups.into_iter().map(|(k, m)| (owned(k), sum(&m).scale(1.0 / m.len() as f64))).collect(),
        ),
        AggregateOp::Count => Value::Vector(groups.into_iter().map(|(k, m)| (owned(k), m.len() as f64)).collect()),
        AggregateOp::Group => Value::Vector(groups.into_keys().map(|k| (owned(k), 1.0)).collect()),
        other => return Err(unsupported_histograms(&format!("{}()", other.name()))),
    })
}

/// Whether the selector selects the series.
fn selects(s: &VectorSelector, series: &Series) -> bool {
    s.matchers.iter().all(|m| {
        let v = series.labels.iter().find(|(n, _)| *n == m.name).map_or("", |(_, v)| v.as_str());
        m.matches_value(v)
    })
}

/// The partition point of `before` in `samples` (true, then false), searched from `hint`:
/// forward a few samples from it when the answer lies just ahead (a range query's next step),
/// by binary search otherwise.
fn seek<T>(samples: &[T], hint: usize, before: impl Fn(&T) -> bool) -> usize {
    let hint = hint.min(samples.len());
    if hint > 0 && !before(&samples[hint - 1]) {
        return samples[..hint].partition_point(before);
    }
    let mut i = hint;
    for _ in 0..8 {
        if i == samples.len() || !before(&samples[i]) {
            return i;
        }
        i += 1;
    }
    i + samples[i..].partition_point(before)
}

/// Whether a call's result may hold one label set twice (and must be checked): it rewrites
/// labels, or one of its vector arguments is more than series of one metric name (whose
/// label sets stay distinct when the name is dropped).
fn may_repeat(name: &str, args: &[Expr]) -> bool {
    let one_metric = |e: &Expr| match strip_parens(e) {
        Expr::Vector(s) | Expr::Matrix { selector: s, .. } => {
            s.matchers.iter().any(|m| m.name == "__name__" && m.op == crate::store::Op::Equal)
        }
        Expr::Number(_) | Expr::String(_) => true,
        _ => false,
    };
    matches!(name, "label_replace" | "label_join") || !args.iter().all(one_metric)
}

/// A group's borrowed labels, owned.
fn owned(key: Vec<(&str, &str)>) -> Labels {
    key.into_iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

/// The labels a series is aggregated by, borrowed from it.
fn group_key<'l>(l: &'l Labels, grouping: &Option<Grouping>) -> Vec<(&'l str, &'l str)> {
    let pairs = l.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    match grouping {
        Some(Grouping::By(keep)) => pairs.filter(|(n, _)| keep.iter().any(|k| k == n)).collect(),
        Some(Grouping::Without(drop)) => {
            pairs.filter(|(n, _)| *n != "__name__" && !drop.iter().any(|d| d == n)).collect()
        }
        None => Vec::new(),
    }
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(inner) => strip_parens(inner),
        e => e,
    }
}

fn drop_name(mut l: Labels) -> Labels {
    l.retain(|(n, _)| n != "__name__");
    l
}

/// Go's `math.Max`: a NaN wins (Rust's `f64::max` would drop it).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

/// Go's `math.Min`.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
}

/// Equal as Prometheus compares for `changes` (two NaNs are the same value).
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// `min` where a NaN loses to any number, as Prometheus's `min` aggregation.
fn min(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v < acc { v } else { acc }
}

fn max(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v > acc { v } else { acc }
}

/// Population variance.
fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
    for v in values {
        n += 1.0;
        let d = v - mean;
        mean += d / n;
        m2 += d * (v - mean);
    }
    m2 / n
}

/// The φ-quantile, interpolated between the nearest ranks as Prometheus does.
fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN first, as Go's sort.Float64s orders them.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, _) | (_, true) => b.is_nan().cmp(&a.is_nan()),
        _ => a.total_cmp(b),
    });
    let rank = q * (values.len() - 1) as f64;
    let lower = rank.floor() as usize;
    let upper = (lower + 1).min(values.len() - 1);
    let weight = rank - rank.floor();
    values[lower] * (1.0 - weight) + values[upper] * weight
}

/// Least-squares slope and intercept at `at` (ms) of the points, per second.
fn regression(p: &[(i64, f64)], at: i64) -> Option<(f64, f64)> {
    if p.len() < 2 {
        return None;
    }
    let n = p.len() as f64;
    let (mut sx, mut sy, mut sxy, mut sxx) = (0.0, 0.0, 0.0, 0.0);
    for &(t, v) in p {
        let x = (t - at) as f64 / 1000.0;
        sx += x;
        sy += v;
        sxy += x * v;
        sxx += x * x;
    }
    let cov = sxy - sx * sy / n;
    let var = sxx - sx * sx / n;
    let slope = cov / var;
    Some((slope, sy / n - slope * sx / n))
}

/// `rate`, `increase` and `delta`: the change over the samples, extrapolated towards the
/// range's ends as Prometheus's `extrapolatedRate` does.
/// `may_reset` false says the points hold no counter reset (the caller knows), so they are not
/// searched for one.
fn extrapolated(
    p: &[(i64, f64)],
    (range_start, range_end): (i64, i64),
    counter: bool,
    per_second: bool,
    may_reset: bool,
) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (first, last) = (p[0], p[p.len() - 1]);
    let mut result = last.1 - first.1;
    if counter && may_reset {
        for w in p.windows(2) {
            if w[1].1 < w[0].1 {
                result += w[0].1;
            }
        }
    }
    // A counter is not extrapolated below zero.
    let to_zero =
        (counter && result > 0.0 && first.1 >= 0.0).then(|| (last.0 - first.0) as f64 / 1000.0 * (first.1 / result));
    Some(result * extrapolation((first.0, last.0, p.len()), range_start, range_end, to_zero, per_second))
}

/// The factor that extrapolates a change over `n` (at least 2) points from `first` to `last`
/// (ms) to the range (per second of the range when `per_second`); `to_zero`, in seconds, bounds
/// the extension at the start.
fn extrapolation(
    (first, last, n): (i64, i64, usize),
    range_start: i64,
    range_end: i64,
    to_zero: Option<f64>,
    per_second: bool,
) -> f64 {
    let mut to_start = (first - range_start) as f64 / 1000.0;
    let to_end = (range_end - last) as f64 / 1000.0;
    let sampled = (last - first) as f64 / 1000.0;
    let average = sampled / (n - 1) as f64;
    if let Some(z) = to_zero
        && z < to_start
    {
        to_start = z;
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold { to_start } else { average / 2.0 };
    interval += if to_end < threshold { to_end } else { average / 2.0 };
    let mut factor = interval / sampled;
    if per_second {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    factor
}

/// The histograms of a series in `[from, to]` (ms).
fn histogram_window(h: &[Histogram], from: i64, to: i64) -> &[Histogram] {
    &h[h.partition_point(|x| x.timestamp < from)..h.partition_point(|x| x.timestamp <= to)]
}
