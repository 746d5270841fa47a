//! `add(a, b, …)`: fan-in, the sum of states of equal width; and `sub(a, b)`, their difference.
//! Both are linear with coefficients ±1, so bbprop passes `ddx` through their bprop kernels.

use super::{Arity, Entry};
use crate::op::{Flow, Op, Order, Sites, WidthView};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

pub const ADD: Entry = Entry {
    name: "add",
    flow: Flow::Pass,
    arity: Arity::AtLeast(2),
    usage: "`add(a, b, …)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[],
    build: |_| Box::new(Add),
};

pub const SUB: Entry = Entry {
    name: "sub",
    flow: Flow::Module,
    arity: Arity::Exactly(2),
    usage: "`sub(a, b)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[],
    build: |_| Box::new(Sub),
};

/// The rule of the element-wise kinds of several inputs: all of the first one's width.
pub fn equal_widths(label: &str, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
    let Some(first) = view.args[0].width else {
        return;
    };
    for arg in &view.args[1..] {
        if let Some(w) = arg.width
            && w != first
        {
            errs(
                arg.span,
                format!(
                    "{label} module `{}` needs inputs of equal width: `{}` has width {first}, \
                     but `{}` has width {w}",
                    view.name, view.args[0].text, arg.text,
                ),
            );
        }
    }
}

/// The width of the first input whose width is known.
pub fn any_width(ins: &[Option<usize>]) -> Option<usize> {
    ins.iter().find_map(|w| *w)
}

struct Add;

impl Op for Add {
    fn name(&self) -> &'static str {
        "add"
    }
    fn flow(&self) -> Flow {
        Flow::Pass
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        any_width(ins)
    }
    fn keeps_shape(&self) -> bool {
        true
    }
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        equal_widths("add", view, errs)
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = s.kernels("add");
        let o = s.out();
        let (xa, xb, xo) = (s.x(&s.arg(0)), s.x(&s.arg(1)), s.x_mut(&o));
        let rest = (2..s.arity()).map(|i| {
            let (xc, xo) = (s.x(&s.arg(i)), s.x_mut(&o));
            quote!(#k::fprop_acc(#xc, #xo);)
        });
        quote!(#k::fprop(#xa, #xb, #xo); #(#rest)*)
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let k = s.kernels("add");
        let o = s.out();
        let steps = (0..s.arity()).map(|i| {
            let v = format_ident!("{}", if acc[i] { "bprop_acc" } else { "bprop" });
            let (dxo, dxs) = (s.d(&o), s.d_mut(&s.arg(i)));
            s.unless_skipped(i, quote!(#k::#v(#dxo, #dxs);))
        });
        quote!(#(#steps)*)
    }
}

struct Sub;

impl Op for Sub {
    fn name(&self) -> &'static str {
        "sub"
    }
    fn linear(&self) -> bool {
        true
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        any_width(ins)
    }
    fn keeps_shape(&self) -> bool {
        true
    }
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        equal_widths("sub", view, errs)
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = s.kernels("sub");
        let (xa, xb, xo) = (s.x(&s.arg(0)), s.x(&s.arg(1)), s.x_mut(&s.out()));
        quote!(#k::fprop(#xa, #xb, #xo);)
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let o = s.out();
        let tail = |i: usize| if acc[i] { "_acc" } else { "" };
        // dE/da = dy, dE/db = −dy; in bbprop both are ddy, (±1)² = 1.
        let (add, sub) = (s.kernels("add"), s.kernels("sub"));
        let va = format_ident!("bprop{}", tail(0));
        let (dxo, dxa, dxb) = (s.d(&o), s.d_mut(&s.arg(0)), s.d_mut(&s.arg(1)));
        let to_b = match s.order() {
            Order::First => {
                let v = format_ident!("bprop_neg{}", tail(1));
                quote!(#sub::#v(#dxo, #dxb);)
            }
            Order::Second => {
                let v = format_ident!("bprop{}", tail(1));
                quote!(#add::#v(#dxo, #dxb);)
            }
        };
        let a = s.unless_skipped(0, quote!(#add::#va(#dxo, #dxa);));
        let b = s.unless_skipped(1, to_b);
        quote!(#a #b)
    }
}
