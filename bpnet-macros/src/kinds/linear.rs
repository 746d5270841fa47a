//! `linear(x -> N)`: the lecture's Linear, `y = W x`, W of N × width(x) in the pool, row-major.
//! With `bias = true`, PyTorch's affine `nn.Linear`: `y = W x + b`, the N biases after W.

use super::{Arity, Entry, OptSpec, Rule};
use crate::op::{Flow, Op, Order, Sites, Tensor};
use proc_macro2::TokenStream;
use quote::quote;

pub const LINEAR: Entry = Entry {
    name: "linear",
    flow: Flow::Module,
    arity: Arity::Exactly(1),
    usage: "`linear(x -> N)`",
    no_arrow: None,
    options: &[OptSpec {
        name: "bias",
        rule: Rule::Bool,
        default: Some(0.0),
        what: "`bias`",
        explain: "linear module `{key}` has biases (`bias = true`, an affine layer `W x + b`) or \
                  not (`bias = false`, the default: the lecture's `W x`)",
    }],
    build: |a| {
        Box::new(Linear {
            out: a.out.unwrap_or(1),
            bias: a.flag("bias"),
        })
    },
};

struct Linear {
    out: usize,
    bias: bool,
}

impl Op for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn detail(&self, ins: &[usize], out: usize) -> String {
        let b = if self.bias { " +b" } else { "" };
        format!("linear {}→{out}{b}", ins[0])
    }
    fn width(&self, _: &[Option<usize>]) -> Option<usize> {
        Some(self.out)
    }
    fn tensors(&self, ins: &[usize], out: usize) -> Vec<Tensor> {
        let w = Tensor {
            name: "weight",
            shape: vec![out, ins[0]],
        };
        let b = self.bias.then(|| Tensor {
            name: "bias",
            shape: vec![out],
        });
        [Some(w), b].into_iter().flatten().collect()
    }
    fn pool_doc(&self, ins: &[usize], out: usize) -> String {
        let w = format!("the weight matrix W, {out} × {} row-major", ins[0]);
        if self.bias {
            format!("{w}, then the {out} biases b")
        } else {
            w
        }
    }
    fn accessors(&self) -> bool {
        true
    }
    fn init(&self, s: &dyn Sites) -> Option<TokenStream> {
        let (k, fan_in) = (s.kernels("linear"), s.width(0));
        let p = weights(self, s, &quote!(&mut params));
        Some(quote!(#k::init(#p, #fan_in, rng);))
    }
    fn reserve(&self, ins: &[&[usize]]) -> Option<TokenStream> {
        // The matrix products' packing space: fprop (k = in, n = out), dX (k = out, n = in) and
        // dW (k = rows, n = in).
        let (n_in, out) = (crate::op::product(ins[0]), self.out);
        Some(quote!(
            if capacity > 0 {
                __gemm.try_reserve(#n_in, #out)?;
                __gemm.try_reserve(#out, #n_in)?;
                __gemm.try_reserve(capacity, #n_in)?;
                __gemm.note_product(capacity.saturating_mul(#n_in * #out));
            }
        ))
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = s.kernels("linear");
        let (a, o) = (s.arg(0), s.out());
        let p = weights(self, s, &quote!(&params));
        let bias = self.bias.then(|| bias_fprop(self, s));
        let (xa, xo) = (s.x(&a), s.x_mut(&o));
        if s.batch() {
            let (n_in, out) = (s.width(0), self.out);
            quote!(#k::fprop_batch(#p, #xa, #xo, #n_in, #out, rows, &mut self.__gemm); #bias)
        } else if local(self, s) {
            quote!(#k::fprop_n(#p, #xa, #xo); #bias)
        } else {
            quote!(#k::fprop(#p, #xa, #xo); #bias)
        }
    }
    fn fprop_finished(
        &self,
        s: &dyn Sites,
        out: TokenStream,
        finish: TokenStream,
    ) -> Option<TokenStream> {
        if self.bias || !s.batch() {
            return None;
        }
        let k = s.kernels("linear");
        let (a, o) = (s.arg(0), s.out());
        let p = weights(self, s, &quote!(&params));
        let (xa, xo, n_in, n) = (s.x(&a), s.x_mut(&o), s.width(0), self.out);
        Some(quote!(
            #k::fprop_batch_map(#p, #xa, #xo, #out, #n_in, #n, rows, &mut self.__gemm, #finish);
        ))
    }
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let k = s.kernels("linear");
        let (a, o) = (s.arg(0), s.out());
        let pool = s.pool();
        let (p, g) = (
            weights(self, s, &quote!(&params)),
            weights(self, s, &quote!(&mut #pool)),
        );
        let tail = if acc[0] { "_acc" } else { "" };
        let acc = acc[0];
        let (v, params_only) = (s.backward("", tail), s.backward("", "_params"));
        let bias = self.bias.then(|| bias_backward(self, s));
        let (xa, dxo, dxa) = (s.x(&a), s.d(&o), s.d_mut(&a));
        let calls = if s.batch() {
            let (n_in, out) = (s.width(0), self.out);
            // The second-order products run on squared operands, without the GEMM's packing.
            let gemm = (s.order() == Order::First).then(|| quote!(, &mut self.__gemm));
            s.full_or_params(
                quote!(#k::#v(#p, #xa, #dxo, #dxa, #g, #n_in, #out, rows #gemm);),
                quote!(#k::#params_only(#xa, #dxo, #g, #n_in, #out, rows #gemm);),
            )
        } else if s.order() == Order::First && local(self, s) {
            // The kernels monomorphic on the widths, which the states' arrays carry.
            s.full_or_params(
                quote!(#k::bprop_n::<_, _, #acc>(#p, #xa, #dxo, #dxa, #g);),
                quote!(#k::bprop_params_n(#xa, #dxo, #g);),
            )
        } else {
            s.full_or_params(
                quote!(#k::#v(#p, #xa, #dxo, #dxa, #g);),
                quote!(#k::#params_only(#xa, #dxo, #g);),
            )
        };
        quote!(#bias #calls)
    }
    fn backward_sgd(&self, s: &dyn Sites, acc: &[bool]) -> Option<TokenStream> {
        if s.batch() {
            return Some(batch_sgd(self, s, acc[0]));
        }
        if self.bias || !local(self, s) {
            return None;
        }
        let k = s.kernels("linear");
        let (a, o) = (s.arg(0), s.out());
        let p = weights(self, s, &quote!(&mut params));
        let (xa, dxo, dxa) = (s.x(&a), s.d(&o), s.d_mut(&a));
        let acc = acc[0];
        Some(s.full_or_params(
            quote!(#k::bprop_sgd_n::<_, _, #acc>(#p, #xa, #dxo, #dxa, lr);),
            quote!(#k::bprop_params_sgd_n(#p, #xa, #dxo, lr);),
        ))
    }
}

/// `train_sgd_batch`'s calls: `dX` from the weights before the step, then the gradient's product
/// with the update made as it is stored (its part of the gradient pool is the product's room);
/// the biases' gradient, if any, into its zeroed part of the pool, then their step.
fn batch_sgd(l: &Linear, s: &dyn Sites, acc: bool) -> TokenStream {
    let k = s.kernels("linear");
    let (a, o) = (s.arg(0), s.out());
    let (p, g) = (
        weights(l, s, &quote!(&mut params)),
        weights(l, s, &quote!(&mut grads)),
    );
    let (xa, dxo, dxa, n_in, n) = (s.x(&a), s.d(&o), s.d_mut(&a), s.width(0), l.out);
    let v = if acc {
        quote!(bprop_batch_acc_sgd)
    } else {
        quote!(bprop_batch_sgd)
    };
    let weights = s.full_or_params(
        quote!(#k::#v(#p, #xa, #dxo, #dxa, #g, #n_in, #n, rows, lr, &mut self.__gemm);),
        quote!(#k::bprop_batch_params_sgd(#p, #xa, #dxo, #g, #n_in, #n, rows, lr, &mut self.__gemm);),
    );
    let biases = l.bias.then(|| {
        let (pb, gb) = (biases(l, s, &quote!(params)), biases(l, s, &quote!(grads)));
        let (rt, f, calls) = (s.rt(), s.float(), bias_backward(l, s));
        quote!(
            #gb.fill(0.0);
            #calls
            #rt::pool::#f::sgd_step(&mut #pb, &#gb, lr);
        )
    });
    quote!(#biases #weights)
}

/// Whether the per-sample kernels monomorphic on the widths are called (see
/// [`crate::limits::LOCAL_WIDTH`]).
fn local(l: &Linear, s: &dyn Sites) -> bool {
    s.width(0).max(l.out) <= crate::limits::LOCAL_WIDTH
}

/// The weights' part of a pool (`&params`, `&mut grads`, …): the module's range, and with biases
/// its first `out × in` values.
fn weights(l: &Linear, s: &dyn Sites, pool: &TokenStream) -> TokenStream {
    let r = s.range();
    if l.bias {
        let n = l.out * s.width(0);
        quote!(#pool[#r][..#n])
    } else {
        quote!(#pool[#r])
    }
}

/// The biases' part of a pool: the module's last `out` values.
fn biases(l: &Linear, s: &dyn Sites, pool: &TokenStream) -> TokenStream {
    let (r, n) = (s.range(), l.out * s.width(0));
    quote!(#pool[#r][#n..])
}

/// `y += b`, after the product.
fn bias_fprop(l: &Linear, s: &dyn Sites) -> TokenStream {
    let (k, o) = (s.kernels("bias"), s.out());
    let b = biases(l, s, &quote!(&params));
    if s.batch() {
        let xo = s.x_mut(&o);
        quote!(#k::fprop_batch(#b, #xo, rows);)
    } else {
        quote!(#k::fprop(#b, &mut #o.x);)
    }
}

/// `db += dy` (the same sum of `ddy` in bbprop: the bias's Jacobian is the identity).
fn bias_backward(l: &Linear, s: &dyn Sites) -> TokenStream {
    let (k, o) = (s.kernels("bias"), s.out());
    let pool = s.pool();
    let g = biases(l, s, &quote!(&mut #pool));
    let d = s.d(&o);
    if s.batch() {
        quote!(#k::bprop_batch(#d, #g, rows);)
    } else {
        quote!(#k::bprop(#d, #g);)
    }
}
