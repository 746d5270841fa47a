//! `sum(e)` (or `sum(e[a..b])`) and `last(h)`, after an `unfold` block: a per-step state summed
//! over the steps run (or some of them), or taken at the last step. Both pass derivatives of
//! either order through unchanged, into the gathered state's `dx` (cleared before the sweep).

use super::{Arity, Entry};
use crate::op::{Flow, Op, Sites};
use proc_macro2::TokenStream;
use quote::quote;

pub const SUM: Entry = Entry {
    name: "sum",
    flow: Flow::Gather,
    arity: Arity::Exactly(1),
    usage: "`sum(e)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[],
    build: |_| Box::new(Sum),
};

pub const LAST: Entry = Entry {
    name: "last",
    flow: Flow::Gather,
    arity: Arity::Exactly(1),
    usage: "`last(h)`",
    no_arrow: Some("keeps the width of its input"),
    options: &[],
    build: |_| Box::new(Last),
};

struct Sum;

impl Op for Sum {
    fn name(&self) -> &'static str {
        "sum"
    }
    fn flow(&self) -> Flow {
        Flow::Gather
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        ins[0]
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = s.kernels("add");
        let o = s.out();
        let (steps, xe, xo) = (s.steps_gathered(), s.x(&s.slot(quote!(t))), s.x_mut(&o));
        // Streamed, the sum goes on from the previous calls' (zero after `reset`).
        let clear = if s.streamed() {
            quote!()
        } else if s.batch() {
            quote!(#xo.fill(0.0);)
        } else {
            quote!(#o.x.fill(0.0);)
        };
        quote!(
            #clear
            for t in #steps {
                #k::fprop_acc(#xe, #xo);
            }
        )
    }
    fn backward(&self, s: &dyn Sites, _: &[bool]) -> TokenStream {
        let k = s.kernels("add");
        let (steps, dxo, dxe) = (
            s.steps_gathered(),
            s.d(&s.out()),
            s.d_mut(&s.slot(quote!(t))),
        );
        s.unless_skipped(
            0,
            quote!(
                for t in #steps {
                    #k::bprop_acc(#dxo, #dxe);
                }
            ),
        )
    }
}

struct Last;

impl Op for Last {
    fn name(&self) -> &'static str {
        "last"
    }
    fn flow(&self) -> Flow {
        Flow::Gather
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        ins[0]
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let (o, h) = (s.out(), s.slot(quote!(len - 1)));
        if s.batch() {
            quote!(#o.x[..rows].copy_from_slice(&#h.x[..rows]);)
        } else {
            quote!(#o.x = #h.x;)
        }
    }
    fn backward(&self, s: &dyn Sites, _: &[bool]) -> TokenStream {
        let k = s.kernels("add");
        let (dxo, dxh) = (s.d(&s.out()), s.d_mut(&s.slot(quote!(len - 1))));
        s.unless_skipped(0, quote!(#k::bprop_acc(#dxo, #dxh);))
    }
}
