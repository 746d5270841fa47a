//! `slice(x, from = a, to = b)`: components `a..b` of `x`, of width `b − a`. Its Jacobian copies
//! components, so bbprop passes `ddx` through the same kernels as bprop.

use super::{Arity, Entry, OptSpec, Rule};
use crate::op::{Flow, Op, Sites, WidthView};
use proc_macro2::{Span, TokenStream};
use quote::quote;

pub const SLICE: Entry = Entry {
    name: "slice",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`slice(x, from = 0, to = 2)`",
    no_arrow: Some("takes the width `to − from`"),
    options: &[
        OptSpec {
            name: "from",
            rule: Rule::Index,
            default: None,
            what: "`from`",
            explain: "slice module `{key}` takes components `from..to` of its input: `from` is \
                      the index of the first one, an integer zero or more",
        },
        OptSpec {
            name: "to",
            rule: Rule::Index,
            default: None,
            what: "`to`",
            explain: "slice module `{key}` takes components `from..to` of its input: `to` is one \
                      past the last one, an integer greater than `from`",
        },
    ],
    build: |a| {
        Box::new(Slice {
            from: a.get("from") as usize,
            to: a.get("to") as usize,
        })
    },
};

struct Slice {
    from: usize,
    to: usize,
}

impl Op for Slice {
    fn name(&self) -> &'static str {
        "slice"
    }
    fn linear(&self) -> bool {
        true
    }
    fn detail(&self, _: &[usize], _: usize) -> String {
        format!("slice {}..{}", self.from, self.to)
    }
    fn width(&self, _: &[Option<usize>]) -> Option<usize> {
        Some(self.to.saturating_sub(self.from).max(1))
    }
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        let (from, to, arg) = (self.from, self.to, &view.args[0]);
        if to <= from {
            errs(
                view.option_span("to"),
                format!(
                    "slice module `{}` takes components {from}..{to} of `{}`: an empty range; \
                     `to` must be greater than `from`",
                    view.name, arg.text
                ),
            );
        } else if let Some(w) = arg.width
            && to > w
        {
            errs(
                view.option_span("to"),
                format!(
                    "slice module `{}` takes components {from}..{to} of `{}`, but `{}` has width \
                     {w}: its components are 0..{w}",
                    view.name, arg.text, arg.text
                ),
            );
        }
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = s.kernels("slice");
        let (xa, xo, from) = (s.x(&s.arg(0)), s.x_mut(&s.out()), self.from);
        if s.batch() {
            let (wi, wo) = (s.width(0), s.out_width());
            quote!(#k::fprop_batch(#xa, #xo, #from, #wi, #wo, rows);)
        } else {
            quote!(#k::fprop(#xa, #xo, #from);)
        }
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let k = s.kernels("slice");
        let v = s.kernel("bprop", "", if acc[0] { "_acc" } else { "" });
        let (dxo, dxa, from) = (s.d(&s.out()), s.d_mut(&s.arg(0)), self.from);
        let call = if s.batch() {
            let (wi, wo) = (s.width(0), s.out_width());
            quote!(#k::#v(#dxo, #dxa, #from, #wi, #wo, rows);)
        } else {
            quote!(#k::#v(#dxo, #dxa, #from);)
        };
        s.unless_skipped(0, call)
    }
}
