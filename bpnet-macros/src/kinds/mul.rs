//! `mul(a, b)`: the element-wise product of two states of equal width (the gates of an LSTM or a
//! GRU). To each factor, bprop passes `dy ∘ other`, bbprop `ddy ∘ other²`.

use super::add::{any_width, equal_widths};
use super::{Arity, Entry};
use crate::op::{Flow, Op, Order, Sites, WidthView};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

pub const MUL: Entry = Entry {
    name: "mul",
    flow: Flow::Module,
    arity: Arity::Exactly(2),
    usage: "`mul(a, b)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[],
    build: |_| Box::new(Mul),
};

struct Mul;

impl Op for Mul {
    fn name(&self) -> &'static str {
        "mul"
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        any_width(ins)
    }
    fn keeps_shape(&self) -> bool {
        true
    }
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        equal_widths("mul", view, errs)
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = s.kernels("mul");
        let (xa, xb, xo) = (s.x(&s.arg(0)), s.x(&s.arg(1)), s.x_mut(&s.out()));
        quote!(#k::fprop(#xa, #xb, #xo);)
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let k = s.kernels("mul");
        let o = s.out();
        let base = match s.order() {
            Order::First => "bprop",
            Order::Second => "bbprop",
        };
        let calls = (0..2).map(|i| {
            let v = format_ident!("{base}{}", if acc[i] { "_acc" } else { "" });
            let (other, dxo, dxi) = (s.x(&s.arg(1 - i)), s.d(&o), s.d_mut(&s.arg(i)));
            s.unless_skipped(i, quote!(#k::#v(#other, #dxo, #dxi);))
        });
        quote!(#(#calls)*)
    }
}
