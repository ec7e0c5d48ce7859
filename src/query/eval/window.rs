//! The functions of one range selector whose value over a window needs only the window's
//! points, its end and its length: the rate family, `resets`, `changes`, `deriv` and the
//! `*_over_time` family. They (and `predict_linear`) read each series' window straight from
//! the data, never a materialized matrix; a range query sweeps them series by series
//! (`sweep`).

use super::{extrapolated, max, min, regression, same, variance};

/// One of those functions, named once (not compared by name at every window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WindowFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Resets,
    Changes,
    Deriv,
    AvgOverTime,
    SumOverTime,
    CountOverTime,
    MinOverTime,
    MaxOverTime,
    LastOverTime,
    PresentOverTime,
    StddevOverTime,
    StdvarOverTime,
}

impl WindowFn {
    /// The function called `name`, if it is one of these.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "rate" => WindowFn::Rate,
            "increase" => WindowFn::Increase,
            "delta" => WindowFn::Delta,
            "irate" => WindowFn::Irate,
            "idelta" => WindowFn::Idelta,
            "resets" => WindowFn::Resets,
            "changes" => WindowFn::Changes,
            "deriv" => WindowFn::Deriv,
            "avg_over_time" => WindowFn::AvgOverTime,
            "sum_over_time" => WindowFn::SumOverTime,
            "count_over_time" => WindowFn::CountOverTime,
            "min_over_time" => WindowFn::MinOverTime,
            "max_over_time" => WindowFn::MaxOverTime,
            "last_over_time" => WindowFn::LastOverTime,
            "present_over_time" => WindowFn::PresentOverTime,
            "stddev_over_time" => WindowFn::StddevOverTime,
            "stdvar_over_time" => WindowFn::StdvarOverTime,
            _ => return None,
        })
    }

    /// Whether its result keeps the metric name (only `last_over_time` does).
    pub fn keeps_name(self) -> bool {
        self == WindowFn::LastOverTime
    }

    /// Whether its value depends on counter resets in the window (which a caller that knows
    /// where they are can rule out: see [`WindowFn::value`]).
    pub fn sees_resets(self) -> bool {
        matches!(self, WindowFn::Rate | WindowFn::Increase | WindowFn::Resets)
    }

    /// Its value over the points of one series' window `[ts - range, ts]` (stale markers left
    /// out; at least one point), if it has one. `may_reset` false says the points hold no
    /// counter reset, so they are not searched for one.
    pub fn value(self, p: &[(i64, f64)], ts: i64, range: i64, may_reset: bool) -> Option<f64> {
        let values = || p.iter().map(|x| x.1);
        match self {
            WindowFn::Rate | WindowFn::Increase | WindowFn::Delta => {
                let counter = self != WindowFn::Delta;
                extrapolated(p, (ts - range, ts), counter, self == WindowFn::Rate, may_reset)
            }
            WindowFn::Irate | WindowFn::Idelta => {
                let [.., (t1, v1), (t2, v2)] = p else { return None };
                let d = if self == WindowFn::Irate && v2 < v1 { *v2 } else { v2 - v1 };
                Some(if self == WindowFn::Irate { d / ((t2 - t1) as f64 / 1000.0) } else { d })
            }
            WindowFn::Resets if !may_reset => Some(0.0),
            WindowFn::Resets => Some(p.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64),
            WindowFn::Changes => Some(p.windows(2).filter(|w| !same(w[1].1, w[0].1)).count() as f64),
            WindowFn::Deriv => regression(p, p.first()?.0).map(|(slope, _)| slope),
            WindowFn::AvgOverTime => Some(values().sum::<f64>() / p.len() as f64),
            WindowFn::SumOverTime => Some(values().sum()),
            WindowFn::CountOverTime => Some(p.len() as f64),
            WindowFn::MinOverTime => Some(values().fold(f64::NAN, min)),
            WindowFn::MaxOverTime => Some(values().fold(f64::NAN, max)),
            WindowFn::LastOverTime => p.last().map(|x| x.1),
            WindowFn::PresentOverTime => Some(1.0),
            WindowFn::StddevOverTime => Some(variance(values()).sqrt()),
            WindowFn::StdvarOverTime => Some(variance(values())),
        }
    }
}

/// Where a series' counter resets are, to rule them out of a window at once
/// ([`Resets::within`]): a prefix count of the resets among the points it was built over.
#[derive(Default)]
pub(super) struct Resets(Vec<u32>);

impl Resets {
    /// Builds over `points` (a series' points in time order), reusing the buffer.
    pub fn build(&mut self, points: &[(i64, f64)]) {
        self.0.clear();
        self.0.push(0);
        let mut n = 0;
        for w in points.windows(2) {
            n += u32::from(w[1].1 < w[0].1);
            self.0.push(n);
        }
    }

    /// Whether a reset lies between two of the points `lo..hi` (`lo < hi`).
    pub fn within(&self, lo: usize, hi: usize) -> bool {
        self.0[hi - 1] != self.0[lo]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn resets_are_found_between_the_points_of_a_window() {
        let points = [(0, 1.0), (1, 5.0), (2, 2.0), (3, 3.0), (4, 0.0), (5, 1.0)];
        let mut r = Resets::default();
        r.build(&points);
        for lo in 0..points.len() {
            for hi in lo + 1..=points.len() {
                let counted = points[lo..hi].windows(2).any(|w| w[1].1 < w[0].1);
                assert_eq!(r.within(lo, hi), counted, "{lo}..{hi}");
            }
        }
        // Without resets, rate and resets answer the same whether they look or not.
        let window = &points[2..4];
        for f in [WindowFn::Rate, WindowFn::Increase, WindowFn::Resets] {
            assert!(f.sees_resets());
            assert_eq!(f.value(window, 3, 2, true), f.value(window, 3, 2, false));
        }
    }

    #[test]
    fn every_name_reads_back() {
        for name in ["rate", "deriv", "last_over_time", "stdvar_over_time"] {
            assert!(WindowFn::from_name(name).is_some(), "{name}");
        }
        assert_eq!(WindowFn::from_name("predict_linear"), None, "it needs its second argument");
        assert!(WindowFn::from_name("last_over_time").unwrap().keeps_name());
        assert!(!WindowFn::from_name("max_over_time").unwrap().keeps_name());
    }
}
