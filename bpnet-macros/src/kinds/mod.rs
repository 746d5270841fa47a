//! The built-in kinds of module, one file each, and their registry: a kind is its [`Entry`]
//! (name, arity, options, whether it takes `-> N`) and the [`Op`] it builds (width rule,
//! parameters, emission in every sweep). Adding a kind is a file here, a line in [`KINDS`], its
//! kernels in the runtime, and its docs and tests.

mod act;
mod add;
mod concat;
mod conv;
mod dropout;
mod euclidean;
mod linear;
mod loss;
mod mul;
mod pointwise;
mod slice;
mod steps;

use crate::op::{Flow, Op};
use crate::parse::OptLit;

/// How many inputs a kind takes.
#[derive(Clone, Copy)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

/// What values an option takes.
#[derive(Clone, Copy, PartialEq)]
pub enum Rule {
    /// A number > 0, representable in the network's float.
    Positive,
    /// A number ≥ 0, finite in the network's float.
    NonNegative,
    /// Any number finite in the network's float.
    Finite,
    /// A component index: an integer ≥ 0, at most `limits::MAX_WIDTH`.
    Index,
    /// `true` or `false`.
    Bool,
}

/// An option of a kind: `name = value` after the inputs.
pub struct OptSpec {
    pub name: &'static str,
    pub rule: Rule,
    /// Its value when not given (`None`: required).
    pub default: Option<f64>,
    /// What it is called in messages: `β`, `the margin`.
    pub what: &'static str,
    /// What it is, said when a value breaks its rule (`{key}`: the module's name).
    pub explain: &'static str,
}

/// A kind in the registry.
pub struct Entry {
    pub name: &'static str,
    pub flow: Flow,
    pub arity: Arity,
    /// How it is written, for the arity error: `` `linear(x -> N)` ``.
    pub usage: &'static str,
    /// `None` if it takes an output width `-> N`; else what it does instead (for the error).
    pub no_arrow: Option<&'static str>,
    pub options: &'static [OptSpec],
    pub build: fn(&Args) -> Box<dyn Op>,
}

/// The checked values a call gives its kind: its output width and its options.
pub struct Args {
    pub out: Option<usize>,
    pub values: Vec<(&'static str, f64)>,
}

impl Args {
    /// An option's value (its default if not given; options of the kind only).
    pub fn get(&self, name: &str) -> f64 {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(f64::NAN, |(_, v)| *v)
    }
    pub fn flag(&self, name: &str) -> bool {
        self.get(name) != 0.0
    }
}

/// Every built-in kind, in the order the docs list them.
pub const KINDS: &[&Entry] = &[
    &linear::LINEAR,
    &act::TANH,
    &act::SIGMOID,
    &act::SCALED_TANH,
    &pointwise::RELU,
    &pointwise::LEAKY_RELU,
    &pointwise::SOFTPLUS,
    &pointwise::SCALE,
    &dropout::DROPOUT,
    &add::ADD,
    &add::SUB,
    &mul::MUL,
    &concat::CONCAT,
    &slice::SLICE,
    &conv::CONV,
    &conv::SUBSAMPLE,
    &conv::MAXPOOL,
    &euclidean::EUCLIDEAN,
    &loss::ENERGY_LOSS,
    &loss::NLL,
    &loss::HINGE,
    &loss::CROSS_ENTROPY,
    &steps::SUM,
    &steps::LAST,
];

/// The kind called `name`.
pub fn lookup(name: &str) -> Option<&'static Entry> {
    KINDS.iter().copied().find(|e| e.name == name)
}

/// The built-in kind `name` is likely a typo of (`tahn`, `Tanh`: `tanh`).
pub fn nearest(name: &str) -> Option<&'static str> {
    crate::suggest::closest(name, KINDS.iter().map(|e| e.name))
}

/// The list of built-in kinds, for the error on an unknown one.
pub fn known_list() -> String {
    let tick = |e: &&Entry| format!("`{}`", e.name);
    let join = |v: Vec<String>| match v.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => v.join(""),
    };
    let plain: Vec<String> = KINDS
        .iter()
        .filter(|e| matches!(e.flow, Flow::Module | Flow::Pass | Flow::Term))
        .map(tick)
        .collect();
    let losses = KINDS
        .iter()
        .filter(|e| e.flow == Flow::Loss)
        .map(tick)
        .collect();
    let gather = KINDS
        .iter()
        .filter(|e| e.flow == Flow::Gather)
        .map(tick)
        .collect();
    format!(
        "{}, the losses {}, and {} after an `unfold` block",
        plain.join(", "),
        join(losses),
        join(gather)
    )
}

/// The kinds with options, for the error on an option given to a kind without any.
pub fn with_options() -> String {
    let list: Vec<String> = KINDS
        .iter()
        .filter(|e| !e.options.is_empty())
        .map(|e| {
            let opts: Vec<String> = e
                .options
                .iter()
                .map(|o| format!("`{} = …`", o.name))
                .collect();
            format!("`{}` ({})", e.name, opts.join(", "))
        })
        .collect();
    list.join(", ")
}

/// The value of a literal option as its rule reads it (`None`: of the wrong type).
pub fn literal(rule: Rule, lit: &OptLit) -> Option<f64> {
    match (rule, lit) {
        (Rule::Bool, OptLit::Bool(b)) => Some(f64::from(u8::from(*b))),
        (Rule::Bool, _) | (_, OptLit::Bool(_)) => None,
        // An index is written as an integer: `1.0` is not one.
        (Rule::Index, OptLit::Num(_, false)) => None,
        (_, OptLit::Num(v, _)) => Some(*v),
    }
}
