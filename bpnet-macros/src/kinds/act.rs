//! `tanh(x)`, `sigmoid(x)`, `scaled_tanh(x)`: the lecture's sigmoid modules with a trainable bias,
//! `y = f(x + B)`, one bias per component in the pool. With `bias = false`, `y = f(x)` and no
//! parameters (the `tanh(c)` of an LSTM cell), emitted as a [`super::pointwise`] kind.

use super::pointwise::Pointwise;
use super::{Args, Arity, Entry, OptSpec, Rule};
use crate::op::{Flow, Op, Order, Sites, Tensor};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

const BIAS: OptSpec = OptSpec {
    name: "bias",
    rule: Rule::Bool,
    default: Some(1.0),
    what: "`bias`",
    explain: "module `{key}` has a trainable bias per component (`bias = true`, the default) or \
              not (`bias = false`)",
};

macro_rules! act_entry {
    ($c:ident, $name:literal, $usage:literal) => {
        pub const $c: Entry = Entry {
            name: $name,
            flow: Flow::Module,
            arity: Arity::Exactly(1),
            usage: $usage,
            no_arrow: Some("keeps the width of its input"),
            options: &[BIAS],
            build: |a: &Args| -> Box<dyn Op> {
                if a.flag("bias") {
                    Box::new(Act { name: $name })
                } else {
                    Box::new(Pointwise::new($name, $name, "_nobias", None))
                }
            },
        };
    };
}

act_entry!(TANH, "tanh", "`tanh(x)`");
act_entry!(SIGMOID, "sigmoid", "`sigmoid(x)`");
act_entry!(SCALED_TANH, "scaled_tanh", "`scaled_tanh(x)`");

/// A sigmoid module with biases: its kernels are the runtime module of its name.
struct Act {
    name: &'static str,
}

impl Op for Act {
    fn name(&self) -> &'static str {
        self.name
    }
    fn width(&self, ins: &[Option<usize>]) -> Option<usize> {
        ins[0]
    }
    fn keeps_shape(&self) -> bool {
        true
    }
    fn tensors(&self, _: &[usize], out: usize) -> Vec<Tensor> {
        vec![Tensor {
            name: "bias",
            shape: vec![out],
        }]
    }
    fn pool_doc(&self, _: &[usize], _: usize) -> String {
        "the biases B".to_string()
    }
    fn accessors(&self) -> bool {
        true
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let (k, r) = (s.kernels(self.name), s.range());
        let (xa, xo) = (s.x(&s.arg(0)), s.x_mut(&s.out()));
        let local = s.width(0) <= crate::limits::LOCAL_WIDTH;
        let f = match (s.batch(), local) {
            (true, _) => format_ident!("fprop_batch"),
            (false, true) => format_ident!("fprop_n"),
            (false, false) => format_ident!("fprop"),
        };
        let rows = s.batch().then(|| quote!(, rows));
        quote!(#k::#f(&params[#r], #xa, #xo #rows);)
    }
    fn finisher(&self, s: &dyn Sites) -> Option<TokenStream> {
        let (k, r, f) = (s.kernels(self.name), s.range(), s.float());
        Some(quote!(
            |c0: usize, x: &[#f], y: &mut [#f]| #k::fprop(&params[#r][c0..c0 + x.len()], x, y)
        ))
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let (k, r, pool) = (s.kernels(self.name), s.range(), s.pool());
        let (a, o) = (s.arg(0), s.out());
        let v = s.backward("", if acc[0] { "_acc" } else { "" });
        let params_only = s.backward("", "_params");
        let (xo, dxo, dxa) = (s.x(&o), s.d(&o), s.d_mut(&a));
        let rows = s.batch().then(|| quote!(, rows));
        if !s.batch() && s.order() == Order::First && s.width(0) <= crate::limits::LOCAL_WIDTH {
            let acc = acc[0];
            return s.full_or_params(
                quote!(#k::bprop_n::<_, #acc>(#xo, #dxo, #dxa, &mut #pool[#r]);),
                quote!(#k::#params_only(#xo, #dxo, &mut #pool[#r]);),
            );
        }
        s.full_or_params(
            quote!(#k::#v(#xo, #dxo, #dxa, &mut #pool[#r] #rows);),
            quote!(#k::#params_only(#xo, #dxo, &mut #pool[#r] #rows);),
        )
    }
    fn backward_sgd(&self, s: &dyn Sites, acc: &[bool]) -> Option<TokenStream> {
        if s.batch() || s.width(0) > crate::limits::LOCAL_WIDTH {
            return None;
        }
        let (k, r) = (s.kernels(self.name), s.range());
        let (a, o) = (s.arg(0), s.out());
        let (xo, dxo, dxa) = (s.x(&o), s.d(&o), s.d_mut(&a));
        let acc = acc[0];
        Some(s.full_or_params(
            quote!(#k::bprop_sgd_n::<_, #acc>(#xo, #dxo, #dxa, &mut params[#r], lr);),
            quote!(#k::bprop_params_sgd_n(#xo, #dxo, &mut params[#r], lr);),
        ))
    }
}
