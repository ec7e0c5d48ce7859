//! PromQL's functions as the parser knows them: name, argument types, return type (those of
//! Prometheus 2.42, plus `histogram_stddev` and `histogram_stdvar`).

use super::ast::ValueType::{self, Matrix as M, Scalar as S, String as Str, Vector as V};

/// A function's signature.
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    /// Its name.
    pub name: &'static str,
    /// The types of its arguments.
    pub args: &'static [ValueType],
    /// How many of the last arguments may be left out (`Some(n)`), or `None` when the last
    /// argument may be left out or repeat (`label_join`).
    pub optional: Option<usize>,
    /// What it returns.
    pub returns: ValueType,
}

const fn f(name: &'static str, args: &'static [ValueType], returns: ValueType) -> Function {
    Function { name, args, optional: Some(0), returns }
}

const fn opt(name: &'static str, args: &'static [ValueType], optional: usize, returns: ValueType) -> Function {
    Function { name, args, optional: Some(optional), returns }
}

/// Every function, by name.
pub static FUNCTIONS: &[Function] = &[
    f("abs", &[V], V),
    f("absent", &[V], V),
    f("absent_over_time", &[M], V),
    f("acos", &[V], V),
    f("acosh", &[V], V),
    f("asin", &[V], V),
    f("asinh", &[V], V),
    f("atan", &[V], V),
    f("atanh", &[V], V),
    f("avg_over_time", &[M], V),
    f("ceil", &[V], V),
    f("changes", &[M], V),
    f("clamp", &[V, S, S], V),
    f("clamp_max", &[V, S], V),
    f("clamp_min", &[V, S], V),
    f("cos", &[V], V),
    f("cosh", &[V], V),
    f("count_over_time", &[M], V),
    opt("day_of_month", &[V], 1, V),
    opt("day_of_week", &[V], 1, V),
    opt("day_of_year", &[V], 1, V),
    opt("days_in_month", &[V], 1, V),
    f("deg", &[V], V),
    f("delta", &[M], V),
    f("deriv", &[M], V),
    f("exp", &[V], V),
    f("floor", &[V], V),
    f("histogram_count", &[V], V),
    f("histogram_fraction", &[S, S, V], V),
    f("histogram_quantile", &[S, V], V),
    f("histogram_stddev", &[V], V),
    f("histogram_stdvar", &[V], V),
    f("histogram_sum", &[V], V),
    f("holt_winters", &[M, S, S], V),
    opt("hour", &[V], 1, V),
    f("idelta", &[M], V),
    f("increase", &[M], V),
    f("irate", &[M], V),
    Function { name: "label_join", args: &[V, Str, Str, Str], optional: None, returns: V },
    f("label_replace", &[V, Str, Str, Str, Str], V),
    f("last_over_time", &[M], V),
    f("ln", &[V], V),
    f("log10", &[V], V),
    f("log2", &[V], V),
    f("max_over_time", &[M], V),
    f("min_over_time", &[M], V),
    opt("minute", &[V], 1, V),
    opt("month", &[V], 1, V),
    f("pi", &[], S),
    f("predict_linear", &[M, S], V),
    f("present_over_time", &[M], V),
    f("quantile_over_time", &[S, M], V),
    f("rad", &[V], V),
    f("rate", &[M], V),
    f("resets", &[M], V),
    opt("round", &[V, S], 1, V),
    f("scalar", &[V], S),
    f("sgn", &[V], V),
    f("sin", &[V], V),
    f("sinh", &[V], V),
    f("sort", &[V], V),
    f("sort_desc", &[V], V),
    f("sqrt", &[V], V),
    f("stddev_over_time", &[M], V),
    f("stdvar_over_time", &[M], V),
    f("sum_over_time", &[M], V),
    f("tan", &[V], V),
    f("tanh", &[V], V),
    f("time", &[], S),
    f("timestamp", &[V], V),
    f("vector", &[S], V),
    opt("year", &[V], 1, V),
];

/// The function called `name`.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn names_are_sorted_and_unique() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(function("rate").unwrap().args, [M]);
        assert!(function("nope").is_none());
    }
}
