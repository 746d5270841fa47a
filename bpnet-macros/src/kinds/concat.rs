//! `concat(a, b, …)`: the inputs side by side, of width the sum of theirs. Its Jacobian copies
//! components, so bbprop passes `ddx` through the same kernels as bprop.

use super::{Arity, Entry};
use crate::op::{Flow, Op, Sites};
use proc_macro2::TokenStream;
use quote::quote;

pub const CONCAT: Entry = Entry {
    name: "concat",
    flow: Flow::Module,
    arity: Arity::AtLeast(2),
    usage: "`concat(a, b, …)`",
    no_arrow: Some("makes the sum of its inputs' widths"),
    options: &[],
    build: |_| Box::new(Concat),
};

struct Concat;

/// Where input `i` starts in the output.
fn offset(s: &dyn Sites, i: usize) -> usize {
    (0..i).map(|j| s.width(j)).sum()
}

impl Op for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn linear(&self) -> bool {
        true
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        ins.iter().try_fold(0usize, |sum, w| sum.checked_add((*w)?))
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let (k, o) = (s.kernels("concat"), s.out());
        let calls = (0..s.arity()).map(|i| {
            let (xi, xo, at) = (s.x(&s.arg(i)), s.x_mut(&o), offset(s, i));
            if s.batch() {
                let (wi, wo) = (s.width(i), s.out_width());
                quote!(#k::fprop_part_batch(#xi, #xo, #at, #wi, #wo, rows);)
            } else {
                quote!(#k::fprop_part(#xi, #xo, #at);)
            }
        });
        quote!(#(#calls)*)
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let (k, o) = (s.kernels("concat"), s.out());
        let calls = (0..s.arity()).map(|i| {
            let v = s.kernel("bprop", "_part", if acc[i] { "_acc" } else { "" });
            let (dxo, dxi, at) = (s.d(&o), s.d_mut(&s.arg(i)), offset(s, i));
            let call = if s.batch() {
                let (wi, wo) = (s.width(i), s.out_width());
                quote!(#k::#v(#dxo, #dxi, #at, #wi, #wo, rows);)
            } else {
                quote!(#k::#v(#dxo, #dxi, #at);)
            };
            s.unless_skipped(i, call)
        });
        quote!(#(#calls)*)
    }
}
