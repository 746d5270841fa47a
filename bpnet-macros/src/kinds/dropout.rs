//! `dropout(x, p = 0.5)`: inverted dropout, in training each component dropped with probability
//! `p` and the others scaled by `1/(1 − p)`; in evaluation the identity. Its masks are drawn from
//! the network's seed, forward pass, module and step ([`Sites::key`]), and recomputed by the
//! backward sweeps: no storage, the same call per sample and per minibatch (the rows are one
//! slice, each row its own components).

use super::{Arity, Entry, OptSpec, Rule};
use crate::op::{Flow, Op, Order, Sites, WidthView};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

pub const DROPOUT: Entry = Entry {
    name: "dropout",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`dropout(x, p = 0.5)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[OptSpec {
        name: "p",
        rule: Rule::NonNegative,
        default: Some(0.5),
        what: "the probability of dropping",
        explain: "the probability that dropout module `{key}` drops a component is a number in \
                  [0, 1) (0.5 by default)",
    }],
    build: |a| Box::new(Dropout { p: a.get("p") }),
};

pub struct Dropout {
    p: f64,
}

impl Op for Dropout {
    fn name(&self) -> &'static str {
        "dropout"
    }
    fn detail(&self, _: &[usize], _: usize) -> String {
        format!("dropout p={}", self.p)
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        ins[0]
    }
    fn keeps_shape(&self) -> bool {
        true
    }
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        if self.p >= 1.0 {
            errs(
                view.option_span("p"),
                format!(
                    "dropout module `{}` would drop every component with p = {}: `p`, the \
                     probability of dropping one, is below 1",
                    view.name, self.p
                ),
            );
        }
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = s.kernels("dropout");
        let (xa, xo) = (s.x(&s.arg(0)), s.x_mut(&s.out()));
        let (p, key) = (s.number(self.p), s.key());
        quote!(#k::fprop(#xa, #xo #p, #key);)
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let k = s.kernels("dropout");
        let base = match s.order() {
            Order::First => "bprop",
            Order::Second => "bbprop",
        };
        let v = format_ident!("{base}{}", if acc[0] { "_acc" } else { "" });
        let (dxo, dxa) = (s.d(&s.out()), s.d_mut(&s.arg(0)));
        let (p, key) = (s.number(self.p), s.key());
        s.unless_skipped(0, quote!(#k::#v(#dxo, #dxa #p, #key);))
    }
}
