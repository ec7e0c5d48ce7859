//! PromQL expressions as [`super::parse`] builds them, with the value type each evaluates to.

use crate::store::Matcher;

/// What an expression evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// A single number.
    Scalar,
    /// One sample per series, at one time.
    Vector,
    /// A range of samples per series.
    Matrix,
    /// A string literal.
    String,
}

impl ValueType {
    /// The name Prometheus's messages use.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }
}

/// `@` on a selector or subquery: a fixed evaluation time, or the query's start or end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// `@ <unix seconds>`, in ms.
    Time(i64),
    /// `@ start()`
    Start,
    /// `@ end()`
    End,
}

/// `name{matchers}` with its modifiers.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorSelector {
    /// The metric name written before the braces, if any.
    pub name: Option<String>,
    /// The matchers, the name's `__name__` matcher first when a name was written.
    pub matchers: Vec<Matcher>,
    /// `offset`, ms (negative looks ahead).
    pub offset_ms: i64,
    /// `@`.
    pub at: Option<At>,
}

/// Aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `count`
    Count,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `group`
    Group,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk` (takes a scalar parameter)
    Topk,
    /// `bottomk` (takes a scalar parameter)
    Bottomk,
    /// `quantile` (takes a scalar parameter)
    Quantile,
    /// `count_values` (takes a string parameter)
    CountValues,
}

impl AggregateOp {
    /// Every operator with its name.
    const NAMES: [(&'static str, AggregateOp); 12] = [
        ("sum", AggregateOp::Sum),
        ("avg", AggregateOp::Avg),
        ("count", AggregateOp::Count),
        ("min", AggregateOp::Min),
        ("max", AggregateOp::Max),
        ("group", AggregateOp::Group),
        ("stddev", AggregateOp::Stddev),
        ("stdvar", AggregateOp::Stdvar),
        ("topk", AggregateOp::Topk),
        ("bottomk", AggregateOp::Bottomk),
        ("quantile", AggregateOp::Quantile),
        ("count_values", AggregateOp::CountValues),
    ];

    /// The operator for a (lower-case) name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
    }

    /// Its name in PromQL.
    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, op)| *op == self).map_or("", |(n, _)| n)
    }

    /// The type of its parameter, if it takes one.
    pub fn param_type(self) -> Option<ValueType> {
        match self {
            AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Quantile => Some(ValueType::Scalar),
            AggregateOp::CountValues => Some(ValueType::String),
            _ => None,
        }
    }
}

/// `by (...)` or `without (...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// `by (labels)`: keep these.
    By(Vec<String>),
    /// `without (labels)`: drop these.
    Without(Vec<String>),
}

/// Binary operators, by precedence from lowest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `unless`
    Unless,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `<`
    Lss,
    /// `<=`
    Lte,
    /// `>`
    Gtr,
    /// `>=`
    Gte,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `atan2`
    Atan2,
    /// `^`
    Pow,
}

impl BinaryOp {
    /// Every operator.
    pub const ALL: [BinaryOp; 16] = {
        use BinaryOp::*;
        [Or, And, Unless, Eql, Neq, Lss, Lte, Gtr, Gte, Add, Sub, Mul, Div, Mod, Atan2, Pow]
    };

    /// The operator written `text` (lower-case for the word operators), the inverse of
    /// [`BinaryOp::as_str`].
    pub fn from_text(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == text)
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And | Unless => 2,
            Eql | Neq | Lss | Lte | Gtr | Gte => 3,
            Add | Sub => 4,
            Mul | Div | Mod | Atan2 => 5,
            Pow => 6,
        }
    }

    /// `==`, `!=`, `<`, `<=`, `>`, `>=`.
    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    /// `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }

    /// As written in PromQL.
    pub fn as_str(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "or",
            And => "and",
            Unless => "unless",
            Eql => "==",
            Neq => "!=",
            Lss => "<",
            Lte => "<=",
            Gtr => ">",
            Gte => ">=",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Atan2 => "atan2",
            Pow => "^",
        }
    }
}

/// How the series of two vectors are matched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VectorMatching {
    /// `on (labels)` (true) or `ignoring (labels)` (false), if given.
    pub on: Option<bool>,
    /// The labels of `on` / `ignoring`.
    pub labels: Vec<String>,
    /// One to one, many to one (`group_left`), one to many (`group_right`), or many to many
    /// (set operators).
    pub card: Cardinality,
    /// The labels `group_left` / `group_right` copy from the "one" side.
    pub include: Vec<String>,
}

/// Which side of a binary operation may match several series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cardinality {
    /// Each series matches at most one on the other side.
    #[default]
    OneToOne,
    /// `group_left`
    ManyToOne,
    /// `group_right`
    OneToMany,
    /// `and`, `or`, `unless`
    ManyToMany,
}

/// A PromQL expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number (a unary minus on a literal is folded into it).
    Number(f64),
    /// A string literal.
    String(String),
    /// An instant vector selector.
    Vector(VectorSelector),
    /// A range vector selector: `selector[range]`.
    Matrix {
        /// The selector (with its offset and `@`).
        selector: VectorSelector,
        /// The range, ms.
        range_ms: i64,
    },
    /// `expr[range:step]`.
    Subquery {
        /// The inner expression (an instant vector).
        expr: Box<Expr>,
        /// The range, ms.
        range_ms: i64,
        /// The step, ms (`None`: the evaluation interval).
        step_ms: Option<i64>,
        /// `offset`, ms.
        offset_ms: i64,
        /// `@`.
        at: Option<At>,
    },
    /// A function call.
    Call {
        /// The function.
        func: &'static super::functions::Function,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// An aggregation.
    Aggregate {
        /// The operator.
        op: AggregateOp,
        /// What is aggregated.
        expr: Box<Expr>,
        /// The parameter of `topk`, `bottomk`, `quantile`, `count_values`.
        param: Option<Box<Expr>>,
        /// `by` / `without`.
        grouping: Option<Grouping>,
    },
    /// `-expr` (`+expr` is the expression itself).
    Negate(Box<Expr>),
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
        /// `bool` on a comparison: 0 or 1 instead of filtering.
        return_bool: bool,
        /// Vector matching (`None` when an operand is a scalar).
        matching: Option<VectorMatching>,
    },
    /// `(expr)`.
    Paren(Box<Expr>),
}

impl Expr {
    /// The type this expression evaluates to.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::Vector(_) | Expr::Aggregate { .. } => ValueType::Vector,
            Expr::Matrix { .. } | Expr::Subquery { .. } => ValueType::Matrix,
            Expr::Call { func, .. } => func.returns,
            Expr::Negate(e) | Expr::Paren(e) => e.value_type(),
            Expr::Binary { lhs, rhs, .. } => {
                if lhs.value_type() == ValueType::Scalar && rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
        }
    }
}
