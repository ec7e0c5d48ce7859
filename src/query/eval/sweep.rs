//! Series-major evaluation of a range query's common shapes: a windowed function of a range
//! selector (`rate(x[5m])`), and an aggregation (`sum`, `avg`, `count`, `group`, `min`, `max`)
//! of one or of an instant selector (`sum by (job) (rate(x[5m]))`), as Prometheus evaluates
//! matrix functions series by series.
//!
//! Step by step, every step clones each series' labels, keys it into its group and builds the
//! group map again. A sweep walks each series once across all the query's steps: its output
//! labels and its group are found once, its windows move forward with two cursors, and its
//! values are added into its group's row, step by step. The answers are those of the step by
//! step evaluation exactly (the same values added in the same order); a shape this does not
//! cover, native histograms, or label sets a function would repeat are left to it.

use super::window::{Resets, WindowFn};
use super::{
    AggregateOp, EvalError, Evaluator, Expr, LOOKBACK_MS, Labels, VectorSelector, drop_name, group_key, max, min,
    owned, seek, strip_parens,
};
use std::collections::BTreeMap;

/// A swept expression's answer: rows (output series) in the order step by step evaluation
/// gives them, each with its value at each step of the query, if it has one.
pub(super) struct Rows {
    pub labels: Vec<Labels>,
    pub values: Vec<Vec<Option<f64>>>,
}

impl Rows {
    /// The rows with a value at step `k`, as an instant vector.
    pub fn at(&self, k: usize) -> Vec<(Labels, f64)> {
        self.labels.iter().zip(&self.values).filter_map(|(l, v)| v[k].map(|x| (l.clone(), x))).collect()
    }
}

/// What a sweep made of an expression (cached per expression for the whole range query).
pub(super) enum Swept {
    /// Not a shape a sweep covers: evaluate it step by step.
    No,
    /// Its rows.
    Rows(Rows),
    /// Its evaluation failed (the work budget ran out).
    Failed(EvalError),
}

/// Where each series' value at a step comes from.
enum Input<'e> {
    /// `f(selector[range])`.
    Window { f: WindowFn, selector: &'e VectorSelector, range: i64 },
    /// `selector`.
    Instant(&'e VectorSelector),
}

impl<'e> Input<'e> {
    fn of(expr: &'e Expr) -> Option<Self> {
        match strip_parens(expr) {
            Expr::Call { func, args } if args.len() == 1 => {
                match (WindowFn::from_name(func.name)?, strip_parens(&args[0])) {
                    (f, Expr::Matrix { selector, range_ms }) => Some(Input::Window { f, selector, range: *range_ms }),
                    _ => None,
                }
            }
            Expr::Vector(selector) => Some(Input::Instant(selector)),
            _ => None,
        }
    }

    fn selector(&self) -> &'e VectorSelector {
        match self {
            Input::Window { selector, .. } | Input::Instant(selector) => selector,
        }
    }

    /// A series' labels in the input's result.
    fn labels(&self, l: &Labels) -> Labels {
        match self {
            Input::Window { f, .. } if f.keeps_name() => l.clone(),
            Input::Instant(_) => l.clone(),
            Input::Window { .. } => drop_name(l.clone()),
        }
    }
}

impl Evaluator<'_> {
    /// The swept value of `expr` at grid time `t`, or `None` when `t` is not a step of the
    /// range query being evaluated or `expr` is not a shape a sweep covers.
    pub(super) fn swept(&self, expr: &Expr, t: i64) -> Option<Result<super::Value, EvalError>> {
        let k = self.grid_step(t)?;
        let key = expr as *const Expr as usize;
        if !self.sweeps.borrow().contains_key(&key) {
            let swept = self.sweep(expr);
            self.sweeps.borrow_mut().insert(key, swept);
        }
        match self.sweeps.borrow().get(&key)? {
            Swept::No => None,
            Swept::Failed(e) => Some(Err(e.clone())),
            Swept::Rows(rows) => Some(Ok(super::Value::Vector(rows.at(k)))),
        }
    }

    /// Which step of the range query being evaluated `t` is.
    fn grid_step(&self, t: i64) -> Option<usize> {
        let (start, step, steps) = self.grid.get()?;
        // In i64: usize is 32 bits in wasm, and a step may be longer than 2^32 ms.
        let d = t.checked_sub(start)?;
        (d >= 0 && d % step == 0).then(|| usize::try_from(d / step).ok()).flatten().filter(|&k| k < steps)
    }

    /// Sweeps `expr` across the range query's steps, if it is a shape a sweep covers.
    pub(super) fn sweep(&self, expr: &Expr) -> Swept {
        let Some((start, step, steps)) = self.grid.get() else { return Swept::No };
        let (input, op, grouping) = match strip_parens(expr) {
            Expr::Aggregate { op, expr, param: None, grouping } if SWEPT_OPS.contains(op) => match Input::of(expr) {
                Some(input) => (input, Some(*op), grouping),
                None => return Swept::No,
            },
            e @ Expr::Call { .. } => match Input::of(e) {
                Some(input @ Input::Window { .. }) => (input, None, &None),
                _ => return Swept::No,
            },
            _ => return Swept::No,
        };
        let selector = input.selector();
        let Some(series) = self.with_selection(selector, |s| (!s.histograms).then(|| s.series.clone())) else {
            return Swept::No;
        };
        // A function whose result would hold one label set twice is refused step by step (at
        // the step where both have a value): leave that to it.
        let outputs: Vec<Labels> = series.iter().map(|&i| input.labels(&self.data[i].labels)).collect();
        let mut distinct: Vec<&Labels> = outputs.iter().collect();
        distinct.sort_unstable();
        if distinct.windows(2).any(|w| w[0] == w[1]) {
            return Swept::No;
        }
        // Each series' row: its own (a function's result) or its group's.
        let mut rows: BTreeMap<Labels, usize> = BTreeMap::new();
        let mut row_of = Vec::with_capacity(series.len());
        for out in outputs {
            let key = match op {
                Some(_) => owned(group_key(&out, grouping)),
                None => out,
            };
            let next = rows.len();
            row_of.push(*rows.entry(key).or_insert(next));
        }
        // Every row holds a value per step: past this many in the whole query (every sweep is
        // kept until it ends), step by step uses less memory.
        let cells = self.swept_cells.get().saturating_add(rows.len().saturating_mul(steps));
        if cells > MAX_CELLS {
            return Swept::No;
        }
        self.swept_cells.set(cells);
        let mut acc = vec![Acc::new(op, steps); rows.len()];
        let mut points = Vec::new();
        let mut resets = Resets::default();
        for (&i, &row) in series.iter().zip(&row_of) {
            let samples = &self.data[i].samples;
            // A window leaves stale markers out: it is a slice of the series' other samples,
            // taken once, with where its counter resets are.
            if let Input::Window { f, .. } = input {
                points.clear();
                points.extend(samples.iter().filter(|x| !x.is_stale()).map(|x| (x.timestamp, x.value)));
                if f.sees_resets() {
                    resets.build(&points);
                }
            }
            let acc = &mut acc[row];
            let mut read = 0;
            let mut cursor = (0, 0);
            for k in 0..steps {
                let t = start + k as i64 * step;
                let ts = self.time(selector.at, t) - selector.offset_ms;
                let value = match input {
                    Input::Window { f, range, .. } => {
                        let (lo, hi) = cursor;
                        cursor.0 = seek(&points, lo, |x| x.0 < ts - range);
                        cursor.1 = seek(&points, hi.max(cursor.0), |x| x.0 <= ts);
                        let (lo, hi) = cursor;
                        read += hi - lo;
                        let may_reset = f.sees_resets() && lo < hi && resets.within(lo, hi);
                        if lo == hi { None } else { f.value(&points[lo..hi], ts, range, may_reset) }
                    }
                    Input::Instant(_) => {
                        cursor.1 = seek(samples, cursor.1, |x| x.timestamp <= ts);
                        let last =
                            samples[..cursor.1].last().filter(|x| x.timestamp >= ts - LOOKBACK_MS && !x.is_stale());
                        read += usize::from(last.is_some());
                        last.map(|x| x.value)
                    }
                };
                if let Some(v) = value {
                    acc.add(k, v);
                }
            }
            if let Err(e) = self.spend(read) {
                return Swept::Failed(e);
            }
        }
        // Rows in label order, as step by step evaluation gives groups (and range results).
        let (labels, values) = rows.into_iter().map(|(l, row)| (l, std::mem::take(&mut acc[row]).finish())).unzip();
        Swept::Rows(Rows { labels, values })
    }
}

/// Most values (rows times steps) the sweeps of one query hold: 1M values take some 28 MB
/// while they are added up, a fifth of a Worker's memory.
const MAX_CELLS: usize = 1_000_000;

/// The aggregations a sweep computes (those that need no parameter and no sorting).
const SWEPT_OPS: &[AggregateOp] =
    &[AggregateOp::Sum, AggregateOp::Avg, AggregateOp::Count, AggregateOp::Group, AggregateOp::Min, AggregateOp::Max];

/// One row's values at each step as they are added: its members' sum (or min, max) and count.
#[derive(Clone, Default)]
struct Acc {
    op: Option<AggregateOp>,
    value: Vec<f64>,
    count: Vec<u32>,
}

impl Acc {
    fn new(op: Option<AggregateOp>, steps: usize) -> Self {
        // Sums start at -0.0, as Rust's `Sum` does (so a lone -0.0 stays -0.0); min and max
        // at NaN, which any number replaces.
        let first = if matches!(op, Some(AggregateOp::Min | AggregateOp::Max)) { f64::NAN } else { -0.0 };
        Acc { op, value: vec![first; steps], count: vec![0; steps] }
    }

    fn add(&mut self, k: usize, v: f64) {
        self.count[k] += 1;
        self.value[k] = match self.op {
            None => v,
            Some(AggregateOp::Min) => min(self.value[k], v),
            Some(AggregateOp::Max) => max(self.value[k], v),
            Some(_) => self.value[k] + v,
        };
    }

    fn finish(self) -> Vec<Option<f64>> {
        let op = self.op;
        self.value
            .into_iter()
            .zip(self.count)
            .map(|(v, n)| {
                (n > 0).then(|| match op {
                    Some(AggregateOp::Avg) => v / f64::from(n),
                    Some(AggregateOp::Count) => f64::from(n),
                    Some(AggregateOp::Group) => 1.0,
                    _ => v,
                })
            })
            .collect()
    }
}
