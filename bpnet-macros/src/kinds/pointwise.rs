//! The pointwise modules without parameters, `y_i = f(x_i)` (with a constant the module is
//! declared with): `relu(x)`, `leaky_relu(x, slope = a)`, `softplus(x)`, `scale(x, by = c)`, and
//! the sigmoid modules declared with `bias = false`. One runtime API for all of them: `fprop(x, y)`,
//! `bprop(x, y, dy, dx)`, `bbprop(x, y, ddy, ddx)` (and `_acc`), the constant last, the same call
//! per sample and per minibatch (the rows are one slice).

use super::{Arity, Entry, OptSpec, Rule};
use crate::op::{Flow, Op, Sites};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub const RELU: Entry = Entry {
    name: "relu",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`relu(x)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[],
    build: |_| Box::new(Pointwise::new("relu", "relu", "", None)),
};

pub const LEAKY_RELU: Entry = Entry {
    name: "leaky_relu",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`leaky_relu(x, slope = 0.01)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[OptSpec {
        name: "slope",
        rule: Rule::NonNegative,
        default: Some(0.01),
        what: "the slope",
        explain: "the slope of leaky_relu module `{key}` for negative inputs is a number zero or \
                  more (0.01 by default)",
    }],
    build: |a| {
        Box::new(Pointwise::new(
            "leaky_relu",
            "relu",
            "_leaky",
            Some(a.get("slope")),
        ))
    },
};

pub const SOFTPLUS: Entry = Entry {
    name: "softplus",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`softplus(x)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[],
    build: |_| Box::new(Pointwise::new("softplus", "softplus", "", None)),
};

pub const SCALE: Entry = Entry {
    name: "scale",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`scale(x, by = 0.5)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[OptSpec {
        name: "by",
        rule: Rule::Finite,
        default: None,
        what: "the factor",
        explain: "scale module `{key}` multiplies its input by a constant: `by = c`, a finite \
                  number",
    }],
    build: |a| Box::new(Pointwise::new("scale", "scale", "", Some(a.get("by")))),
};

/// A pointwise module: the kind's name, its runtime module, the infix of its kernels' names
/// (`fprop{mid}`, `bprop{mid}_acc`, …) and its constant.
pub struct Pointwise {
    name: &'static str,
    module: &'static str,
    mid: &'static str,
    constant: Option<f64>,
}

impl Pointwise {
    pub fn new(
        name: &'static str,
        module: &'static str,
        mid: &'static str,
        constant: Option<f64>,
    ) -> Self {
        Pointwise {
            name,
            module,
            mid,
            constant,
        }
    }
}

impl Op for Pointwise {
    fn name(&self) -> &'static str {
        self.name
    }
    fn detail(&self, _: &[usize], _: usize) -> String {
        match (self.mid, self.constant) {
            ("_nobias", _) => format!("{} (no bias)", self.name),
            (_, Some(c)) if self.name == "scale" => format!("scale ×{c}"),
            (_, Some(c)) => format!("{} a={c}", self.name),
            _ => self.name.to_string(),
        }
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        ins[0]
    }
    fn keeps_shape(&self) -> bool {
        true
    }
    fn linear(&self) -> bool {
        self.name == "scale"
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let (k, f) = (s.kernels(self.module), format_ident!("fprop{}", self.mid));
        let (xa, xo) = (s.x(&s.arg(0)), s.x_mut(&s.out()));
        let c = self.constant.map(|c| s.number(c));
        quote!(#k::#f(#xa, #xo #c);)
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let k = s.kernels(self.module);
        let base = match s.order() {
            crate::op::Order::First => "bprop",
            crate::op::Order::Second => "bbprop",
        };
        let v = format_ident!("{base}{}{}", self.mid, if acc[0] { "_acc" } else { "" });
        let (a, o) = (s.arg(0), s.out());
        let (xa, xo, dxo, dxa) = (s.x(&a), s.x(&o), s.d(&o), s.d_mut(&a));
        let c = self.constant.map(|c| s.number(c));
        s.unless_skipped(0, quote!(#k::#v(#xa, #xo, #dxo, #dxa #c);))
    }
}
