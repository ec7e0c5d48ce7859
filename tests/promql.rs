//! The core's hand-written PromQL parser (`edgewrite::query`) against `promql-parser`, the
//! maintained Rust parser it replaces in the Worker: for hand-written and generated queries,
//! both accept and refuse the same ones and build the same trees.
#![cfg(not(target_arch = "wasm32"))]

use edgewrite::query::{self, AggregateOp, At, BinaryOp, Cardinality, Expr, Grouping, VectorMatching, VectorSelector};
use edgewrite::store::{Matcher, Op};
use promql_parser::label::MatchOp;
use promql_parser::parser::{self as pp, LabelModifier, VectorMatchCardinality as Card};
use proptest::prelude::*;
use std::time::{Duration, UNIX_EPOCH};

fn ms(d: &Duration) -> i64 {
    d.as_millis() as i64
}

fn offset(o: &Option<pp::Offset>) -> i64 {
    match o {
        None => 0,
        Some(pp::Offset::Pos(d)) => ms(d),
        Some(pp::Offset::Neg(d)) => -ms(d),
    }
}

fn at(a: &Option<pp::AtModifier>) -> Option<At> {
    a.as_ref().map(|a| match a {
        pp::AtModifier::Start => At::Start,
        pp::AtModifier::End => At::End,
        pp::AtModifier::At(t) => At::Time(match t.duration_since(UNIX_EPOCH) {
            Ok(d) => ms(&d),
            Err(e) => -ms(&e.duration()),
        }),
    })
}

fn selector(vs: &pp::VectorSelector) -> VectorSelector {
    let mut matchers = Vec::new();
    if let Some(name) = &vs.name {
        matchers.push(Matcher::new("__name__", Op::Equal, name.clone()).unwrap());
    }
    for m in &vs.matchers.matchers {
        let op = match m.op {
            MatchOp::Equal => Op::Equal,
            MatchOp::NotEqual => Op::NotEqual,
            MatchOp::Re(_) => Op::Regex,
            MatchOp::NotRe(_) => Op::NotRegex,
        };
        matchers.push(Matcher::new(m.name.clone(), op, m.value.clone()).unwrap());
    }
    assert!(vs.matchers.or_matchers.is_empty(), "`or` in selectors is PromQL 3, not covered");
    VectorSelector { name: vs.name.clone(), matchers, offset_ms: offset(&vs.offset), at: at(&vs.at) }
}

fn labels(m: &Option<LabelModifier>) -> Option<(bool, Vec<String>)> {
    m.as_ref().map(|m| match m {
        LabelModifier::Include(l) => (true, l.labels.clone()),
        LabelModifier::Exclude(l) => (false, l.labels.clone()),
    })
}

/// `promql-parser`'s tree in the core's terms.
fn mine(e: &pp::Expr) -> Expr {
    match e {
        pp::Expr::NumberLiteral(n) => Expr::Number(n.val),
        pp::Expr::StringLiteral(s) => Expr::String(s.val.clone()),
        pp::Expr::VectorSelector(vs) => Expr::Vector(selector(vs)),
        pp::Expr::MatrixSelector(m) => Expr::Matrix { selector: selector(&m.vs), range_ms: ms(&m.range) },
        pp::Expr::Subquery(s) => Expr::Subquery {
            expr: Box::new(mine(&s.expr)),
            range_ms: ms(&s.range),
            step_ms: s.step.as_ref().map(ms),
            offset_ms: offset(&s.offset),
            at: at(&s.at),
        },
        pp::Expr::Call(c) => Expr::Call {
            func: query::functions::function(c.func.name).unwrap_or_else(|| panic!("unknown here: {}", c.func.name)),
            args: c.args.args.iter().map(|a| mine(a)).collect(),
        },
        pp::Expr::Aggregate(a) => Expr::Aggregate {
            op: AggregateOp::from_name(&a.op.to_string().to_ascii_lowercase()).expect("an aggregator"),
            expr: Box::new(mine(&a.expr)),
            param: a.param.as_ref().map(|p| Box::new(mine(p))),
            grouping: labels(&a.modifier).map(|(by, l)| if by { Grouping::By(l) } else { Grouping::Without(l) }),
        },
        pp::Expr::Unary(u) => Expr::Negate(Box::new(mine(&u.expr))),
        pp::Expr::Paren(p) => Expr::Paren(Box::new(mine(&p.expr))),
        pp::Expr::Binary(b) => {
            let (lhs, rhs) = (mine(&b.lhs), mine(&b.rhs));
            let op = binary_op(&b.op.to_string());
            let vectors = lhs.value_type() == query::ValueType::Vector && rhs.value_type() == query::ValueType::Vector;
            let modifier = b.modifier.as_ref();
            let matching = vectors.then(|| {
                let mut m = VectorMatching::default();
                if let Some((on, l)) = modifier.and_then(|m| labels(&m.matching)) {
                    m.on = Some(on);
                    m.labels = l;
                }
                match modifier.map(|m| &m.card) {
                    Some(Card::ManyToOne(l)) => (m.card, m.include) = (Cardinality::ManyToOne, l.labels.clone()),
                    Some(Card::OneToMany(l)) => (m.card, m.include) = (Cardinality::OneToMany, l.labels.clone()),
                    Some(Card::ManyToMany) => m.card = Cardinality::ManyToMany,
                    _ => {}
                }
                if op.is_set() {
                    m.card = Cardinality::ManyToMany;
                }
                m
            });
            Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                return_bool: modifier.is_some_and(|m| m.return_bool),
                matching,
            }
        }
        pp::Expr::Extension(_) => panic!("no extensions"),
    }
}

/// The operator table written apart from `BinaryOp::from_text`: the oracle must not share the
/// code it checks.
fn binary_op(s: &str) -> BinaryOp {
    use BinaryOp::*;
    match s.to_ascii_lowercase().as_str() {
        "or" => Or,
        "and" => And,
        "unless" => Unless,
        "==" => Eql,
        "!=" => Neq,
        "<" => Lss,
        "<=" => Lte,
        ">" => Gtr,
        ">=" => Gte,
        "+" => Add,
        "-" => Sub,
        "*" => Mul,
        "/" => Div,
        "%" => Mod,
        "atan2" => Atan2,
        "^" => Pow,
        other => panic!("operator {other}"),
    }
}

/// Both parse `q` to the same tree, or both refuse it.
fn agree(q: &str) -> Result<bool, String> {
    let theirs = pp::parse(q);
    let ours = query::parse(q);
    match (theirs, ours) {
        (Ok(t), Ok(o)) => {
            let (t, o) = (format!("{:?}", mine(&t)), format!("{o:?}"));
            if t == o { Ok(true) } else { Err(format!("{q}\n promql-parser: {t}\n ours:          {o}")) }
        }
        (Err(_), Err(_)) => Ok(false),
        (Ok(_), Err(e)) => Err(format!("{q}: promql-parser accepts it, ours says {e}")),
        (Err(e), Ok(o)) => Err(format!("{q}: ours accepts it ({o:?}), promql-parser says {e}")),
    }
}

const VALID: &[&str] = &[
    "1",
    "-1",
    "+1",
    "1.5",
    ".5",
    "1e3",
    "1.5e-3",
    "0x1F",
    "010",
    "Inf",
    "-inf",
    "NaN",
    "\"a string\"",
    "'single'",
    "`raw\\n`",
    "\"esc\\n\\t\\\"\"",
    "up",
    "up{job=\"api\"}",
    "up{job=\"api\",}",
    "{__name__=\"up\"}",
    "{job=~\"a|b\"}",
    "up{job!=\"a\", code!~\"5..\"}",
    "http:requests:rate5m",
    "up{on=\"x\"}",
    "up{by=\"x\", offset=\"y\"}",
    "up offset 5m",
    "up offset -5m",
    "up @ 1700000000",
    "up @ start()",
    "up @ end()",
    "up @ 100 offset 5m",
    "up offset 5m @ 100",
    "up[5m]",
    "up[1h30m]",
    "up[5m] offset 1h",
    "up[5m] @ 100",
    "up[10s:1s]",
    "up[10m:]",
    "rate(up[5m])[30m:1m]",
    "rate(up[5m])[30m:1m] offset 1h",
    "up @ 1.5",
    "up @ -10",
    "rate(http_requests_total[5m])",
    "irate(x[1m])",
    "increase(x[1h])",
    "delta(x[5m])",
    "idelta(x[5m])",
    "deriv(x[5m])",
    "predict_linear(x[1h], 3600)",
    "resets(x[1h])",
    "changes(x[1h])",
    "avg_over_time(x[5m])",
    "sum_over_time(x[5m])",
    "min_over_time(x[5m])",
    "max_over_time(x[5m])",
    "count_over_time(x[5m])",
    "last_over_time(x[5m])",
    "quantile_over_time(0.9, x[5m])",
    "stddev_over_time(x[5m])",
    "stdvar_over_time(x[5m])",
    "present_over_time(x[5m])",
    "abs(x)",
    "ceil(x)",
    "floor(x)",
    "round(x)",
    "round(x, 0.5)",
    "clamp(x, 0, 1)",
    "clamp_min(x, 0)",
    "clamp_max(x, 1)",
    "exp(x)",
    "ln(x)",
    "log2(x)",
    "log10(x)",
    "sqrt(x)",
    "timestamp(x)",
    "time()",
    "vector(1)",
    "scalar(x)",
    "absent(x)",
    "absent_over_time(x[5m])",
    "sort(x)",
    "sort_desc(x)",
    "label_replace(x, \"dst\", \"$1\", \"src\", \"(.*)\")",
    "label_join(x, \"dst\", \",\", \"a\", \"b\", \"c\")",
    "histogram_quantile(0.9, rate(x_bucket[5m]))",
    "histogram_count(x)",
    "histogram_sum(x)",
    "histogram_fraction(0, 0.1, x)",
    "day_of_week()",
    "day_of_week(x)",
    "hour(timestamp(x))",
    "month()",
    "year(x)",
    "days_in_month()",
    "minute()",
    "pi()",
    "up[5]",
    "up[1.5]",
    "5m",
    "by",
    "sum",
    "offset",
    "and",
    "sum(x)",
    "sum by (job) (x)",
    "sum(x) by (job)",
    "sum without (instance) (x)",
    "sum by () (x)",
    "sum by (job,) (x)",
    "avg(x)",
    "count(x)",
    "min(x)",
    "max(x)",
    "group(x)",
    "stddev(x)",
    "stdvar(x)",
    "topk(5, x)",
    "bottomk(3, x)",
    "quantile(0.9, x)",
    "count_values(\"value\", x)",
    "sum by (le) (rate(x_bucket[5m]))",
    "sum by (on, by) (x)",
    "SUM(x)",
    "Sum BY (job) (x)",
    "a + b",
    "a - b",
    "a * b",
    "a / b",
    "a % b",
    "a ^ b",
    "a atan2 b",
    "a == b",
    "a != b",
    "a < b",
    "a <= b",
    "a > b",
    "a >= b",
    "a == bool b",
    "1 == bool 2",
    "a and b",
    "a or b",
    "a unless b",
    "a AND b",
    "a + 1",
    "1 + a",
    "1 + 2 * 3",
    "(1 + 2) * 3",
    "2 ^ 3 ^ 2",
    "-2 ^ 2",
    "-a",
    "-a * b",
    "-a ^ b",
    "- -a",
    "a + b * c - d / e",
    "a or b and c",
    "a or b unless c",
    "a > b + 1",
    "a + on (job) b",
    "a + ignoring (code) b",
    "a * on (job) group_left (team) b",
    "a * on (job) group_left b",
    "a / ignoring (code) group_right c",
    "a and on (job) b",
    "a or ignoring (x) b",
    "a == bool on (job) b",
    "sum by (job) (rate(x{code=~\"5..\"}[5m])) / ignoring (code) group_left sum by (job) (rate(x[5m]))",
    "max_over_time(rate(x[1m])[10m:])",
    "(a)",
    "((a + b))",
    "sum(rate(x[5m])) > 0",
    "a # comment\n + b",
    "up{job=\"a\\\"b\"}",
    "{__name__=~\"job:.*\"}",
    "up{job=\"api\"}[5m:1m] @ end()",
    "acos(x)",
    "asinh(x)",
    "atanh(x)",
    "cosh(x)",
    "deg(x)",
    "rad(x)",
    "sgn(x)",
    "tan(x)",
    "histogram_stddev(x)",
    "histogram_stdvar(x)",
    "count by (job) (up == 0)",
    "quantile by (job) (0.5, rate(x[5m]))",
    "topk by (job) (1, x)",
    "absent(nonexistent{job=\"a\"})",
    "x offset 1w",
    "x[1y]",
    "x[90s] offset 30s",
    "vector(time())",
    "scalar(sum(x)) * 2",
    "sum(x) / scalar(count(x))",
    "-(a + b)",
    "+a",
    "a - -b",
    "a^-1",
];

const INVALID: &[&str] = &[
    "",
    "(",
    ")",
    "up{",
    "up}",
    "{}",
    "{job=~\".*\"}",
    "{job=\"\"}",
    "up{job}",
    "up{job=}",
    "up{job=~\"(\"}",
    "up[]",
    "up[-5m]",
    "rate(x[5m],)",
    "sum(x,)",
    "up[0s]",
    "up[5m][5m]",
    "rate(up)",
    "rate(up[5m], 1)",
    "rate()",
    "nope(x)",
    "sum(up[5m])",
    "topk(x)",
    "topk(\"a\", x)",
    "count_values(1, x)",
    "sum(x) by (job) by (job)",
    "sum by (job) without (x) (x)",
    "1 == 2",
    "1 and 2",
    "a and 1",
    "a + up[5m]",
    "up[5m] + 1",
    "\"a\" + 1",
    "-\"a\"",
    "-up[5m]",
    "a + on (job) 1",
    "a and on (job) group_left b",
    "a * on (job) group_left (job) b",
    "a + bool b",
    "1 + bool 2",
    "offset 5m",
    "up offset 5m offset 5m",
    "up @ 1 @ 2",
    "(up) offset 5m",
    "up offset 5m [5m]",
    "1[5m]",
    "\"a\"[5m:]",
    "up @ foo",
    "up{job=\"a\"} up",
    "up +",
    "* up",
    "sum(x",
    "rate(x[5m]",
    "up{job=\"a\",,}",
    "up{,}",
    "on",
    "bool",
    "group_left",
    "up == bool",
    "\"unterminated",
    "up[5m:1m:1m]",
    "0x",
    "1.2.3",
    "up{job!=}",
    "abs(x, y)",
    "histogram_quantile(x, y)",
    "time(1)",
    "label_join(x, \"a\")",
    "scalar(up[5m])",
    "up{__name__=\"x\"}",
    "foo{__name__=\"bar\"}",
];

#[test]
fn hand_written_queries_agree() {
    let mut failures = Vec::new();
    for q in VALID {
        match agree(q) {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{q}: both refuse it, but it is listed as valid")),
            Err(e) => failures.push(e),
        }
    }
    for q in INVALID {
        match agree(q) {
            Ok(false) => {}
            Ok(true) => failures.push(format!("{q}: both accept it, but it is listed as invalid")),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    assert!(VALID.len() + INVALID.len() >= 250);
}

/// Where the two differ on purpose: ours refuses a zero range written as a number, as it
/// refuses `[0s]` (promql-parser refuses `[0s]` but takes `[0]`); ours keeps Prometheus 2's
/// `holt_winters` (Prometheus 3 renamed it, and promql-parser follows).
#[test]
fn known_differences_stay_known() {
    let zero = "up[0]";
    assert!(pp::parse(zero).is_ok() && query::parse(zero).is_err(), "{zero}");
    let holt = "holt_winters(x[1h], 0.5, 0.5)";
    assert!(pp::parse(holt).is_err() && query::parse(holt).is_ok(), "{holt}");
}

#[test]
fn messages_say_where_and_what_as_prometheus_does() {
    let err = |q: &str| query::parse(q).unwrap_err().to_string();
    assert_eq!(
        err("rate(x)"),
        "1:1: parse error: expected type range vector in call to function \"rate\", got instant vector"
    );
    assert_eq!(err("sum(x) +"), "1:9: parse error: unexpected end of input, expected expression");
    assert_eq!(err("foo(x)"), "1:1: parse error: unknown function with name \"foo\"");
    assert_eq!(err("{}"), "1:1: parse error: vector selector must contain at least one non-empty matcher");
    assert_eq!(err("a\n + 1 == 2 and"), "2:14: parse error: unexpected end of input, expected expression");
    assert_eq!(err("1 == 2"), "1:3: parse error: comparisons between scalars must use BOOL modifier");
    assert_eq!(err(""), "1:1: parse error: no expression found in input");
    // What the input leaves open at its end, as Prometheus 2.42 answered these (its lexer
    // speaks first).
    for (q, want) in [
        ("rate(x[5m]", "1:11: parse error: unclosed left parenthesis"),
        ("x[5m", "1:5: parse error: unclosed left bracket"),
        ("x{a=\"b\"", "1:8: parse error: unexpected end of input inside braces"),
        ("sum(x", "1:6: parse error: unclosed left parenthesis"),
        ("(1", "1:3: parse error: unclosed left parenthesis"),
        ("x{a=\"b\"}[5m", "1:12: parse error: unclosed left bracket"),
        ("sum by (job", "1:12: parse error: unclosed left parenthesis"),
        ("foo(", "1:5: parse error: unclosed left parenthesis"),
        ("((1)", "1:5: parse error: unclosed left parenthesis"),
        ("x[5m:", "1:6: parse error: unclosed left bracket"),
        ("x[5m:1m", "1:8: parse error: unclosed left bracket"),
        ("x{", "1:3: parse error: unexpected end of input inside braces"),
        ("x + (y", "1:7: parse error: unclosed left parenthesis"),
        // And a closer that closes nothing.
        ("x offset 5m)", "1:13: parse error: unexpected right parenthesis ')'"),
        ("sum(x))", "1:8: parse error: unexpected right parenthesis ')'"),
        (")", "1:2: parse error: unexpected right parenthesis ')'"),
        ("1 + )", "1:6: parse error: unexpected right parenthesis ')'"),
        ("x]", "1:2: parse error: unexpected right bracket ']'"),
        ("x}", "1:2: parse error: unexpected character: '}'"),
        ("rate(x[5m]))", "1:13: parse error: unexpected right parenthesis ')'"),
    ] {
        assert_eq!(err(q), want, "{q}");
    }
}

fn ident() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z][a-z_]{0,5}", Just("up".to_string()), Just("job:rate:5m".to_string())].prop_filter(
        "not a keyword or function",
        |s| {
            ![
                "and",
                "or",
                "unless",
                "atan2",
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
                "bool",
                "offset",
                "inf",
                "nan",
            ]
            .contains(&s.as_str())
                && AggregateOp::from_name(s).is_none()
        },
    )
}

fn selector_text() -> impl Strategy<Value = String> {
    let matcher =
        ("[a-z_][a-z0-9_]{0,4}", prop_oneof![Just("="), Just("!="), Just("=~"), Just("!~")], "[a-z0-9.*|]{0,4}")
            .prop_map(|(n, op, v)| format!("{n}{op}\"{v}\""));
    (ident(), prop::collection::vec(matcher, 0..3), prop::option::of("(offset -?[1-9][0-9]?m|@ [0-9]{1,4})")).prop_map(
        |(name, ms, modifier)| {
            let braces = if ms.is_empty() { String::new() } else { format!("{{{}}}", ms.join(",")) };
            format!("{name}{braces}{}", modifier.map(|m| format!(" {m}")).unwrap_or_default())
        },
    )
}

fn expr_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        selector_text(),
        "[0-9]{1,3}(\\.[0-9])?",
        selector_text().prop_map(|s| format!("rate({s}[5m])")),
        (selector_text(), "(avg|max|min|sum)_over_time").prop_map(|(s, f)| format!("{f}({s}[1h])")),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let op = prop_oneof![
            Just("+"),
            Just("-"),
            Just("*"),
            Just("/"),
            Just("^"),
            Just("%"),
            Just("=="),
            Just("> bool"),
            Just("and"),
            Just("or"),
            Just("unless"),
            Just("atan2"),
            Just("+ on (job)"),
            Just("* ignoring (a) group_left (b)")
        ];
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (inner.clone(), "(sum|avg|max|count|group)", prop::option::of("(by|without) \\((job|le|a)(, b)?\\)"))
                .prop_map(|(a, agg, g)| format!("{agg} {} ({a})", g.unwrap_or_default())),
            inner.clone().prop_map(|a| format!("topk(3, {a})")),
            inner.clone().prop_map(|a| format!("abs({a})")),
            inner.clone().prop_map(|a| format!("max_over_time(({a})[10m:1m])")),
            inner.prop_map(|a| format!("histogram_quantile(0.9, {a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Generated queries, valid or not (type errors are common among them): the two parsers
    /// agree on every one.
    #[test]
    fn generated_queries_agree(q in expr_text()) {
        if let Err(e) = agree(&q) {
            prop_assert!(false, "{}", e);
        }
    }

    /// A character removed from a valid query: mostly invalid; never a panic, and where both
    /// accept, the same tree.
    #[test]
    fn damaged_queries_never_panic(q in expr_text(), at in any::<prop::sample::Index>()) {
        let mut q = q;
        if !q.is_empty() {
            let i = at.index(q.len());
            if q.is_char_boundary(i) {
                q.remove(i);
            }
        }
        let ours = query::parse(&q);
        if let (Ok(t), Ok(o)) = (pp::parse(&q), &ours) {
            prop_assert_eq!(format!("{:?}", mine(&t)), format!("{o:?}"), "{}", q);
        }
    }
}

/// The generator is worth its cases: a good share of what it writes is valid PromQL (so the
/// trees are compared, not only refusals).
#[test]
fn the_generator_writes_mostly_valid_queries() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = expr_text();
    let valid = (0..500).filter(|_| query::parse(&strategy.new_tree(&mut runner).unwrap().current()).is_ok()).count();
    assert!(valid >= 200, "only {valid} of 500 generated queries parse");
}
