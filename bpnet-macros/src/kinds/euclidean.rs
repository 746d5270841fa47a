//! `euclidean(x, y)`: the lecture's energy `E = ½‖x − y‖²`, a scalar.

use super::add::equal_widths;
use super::{Arity, Entry};
use crate::op::{Flow, Op, Sites, WidthView};
use proc_macro2::{Span, TokenStream};
use quote::quote;

pub const EUCLIDEAN: Entry = Entry {
    name: "euclidean",
    flow: Flow::Term,
    arity: Arity::Exactly(2),
    usage: "`euclidean(x, y)`",
    no_arrow: Some("makes the scalar energy"),
    options: &[],
    build: |_| Box::new(Euclidean),
};

struct Euclidean;

impl Op for Euclidean {
    fn name(&self) -> &'static str {
        "euclidean"
    }
    fn flow(&self) -> Flow {
        Flow::Term
    }
    fn width(&self, _: &[Option<usize>]) -> Option<usize> {
        Some(1)
    }
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        equal_widths("euclidean", view, errs)
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = s.kernels("euclidean");
        let (xa, xb, xo) = (s.x(&s.arg(0)), s.x(&s.arg(1)), s.x_mut(&s.out()));
        if s.batch() {
            let w = s.width(0);
            quote!(#k::fprop_batch(#xa, #xb, #xo, #w, rows);)
        } else {
            quote!(#k::fprop(#xa, #xb, #xo);)
        }
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let k = s.kernels("euclidean");
        let (a, b, o) = (s.arg(0), s.arg(1), s.out());
        // In bbprop: its own Hessian (the identity) as a term of the energy, else its Jacobian
        // squared.
        let mid = if s.inner() { "_inner" } else { "" };
        let v = |i: usize| s.backward(mid, if acc[i] { "_acc" } else { "" });
        let (va, vb) = (v(0), v(1));
        let (xa, xb, dxo) = (s.x(&a), s.x(&b), s.d(&o));
        let (dxa, dxb) = (s.d_mut(&a), s.d_mut(&b));
        let rows = s.batch().then(|| {
            let w = s.width(0);
            quote!(, #w, rows)
        });
        let calls = [
            quote!(#k::#va(#xa, #xb, #dxo, #dxa #rows);),
            quote!(#k::#vb(#xb, #xa, #dxo, #dxb #rows);),
        ];
        let calls = calls
            .into_iter()
            .enumerate()
            .map(|(i, call)| s.unless_skipped(i, call));
        quote!(#(#calls)*)
    }
}
