//! Code generation for minibatches (part of `expand`): the same schedule over `rows` samples at
//! once, one row per sample, Linear as a GEMM. Generated for networks that are not unfolded.

use crate::check::{Kind, Model, StateRole, float_tokens};
use crate::expand::{full_or_params, plain, range, rt, unless_skipped, user_module, user_ty};
use crate::lower::Schedule;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

fn x(model: &Model, s: usize) -> TokenStream {
    let n = &model.states[s].name;
    quote!(self.#n.x[..rows].as_flattened())
}
fn x_mut(model: &Model, s: usize) -> TokenStream {
    let n = &model.states[s].name;
    quote!(self.#n.x[..rows].as_flattened_mut())
}
fn dx(model: &Model, s: usize) -> TokenStream {
    let n = &model.states[s].name;
    quote!(self.#n.dx[..rows].as_flattened())
}
fn dx_mut(model: &Model, s: usize) -> TokenStream {
    let n = &model.states[s].name;
    quote!(self.#n.dx[..rows].as_flattened_mut())
}

fn fprop_step(model: &Model, sched: &Schedule, i: usize) -> TokenStream {
    let rt = rt();
    let f = float_tokens(model.float);
    let m = &model.modules[i];
    let r = range(model, sched, i);
    let (a, o) = (m.args[0], m.out);
    match &m.kind {
        Kind::Linear { out } => {
            let n_in = model.states[a].width;
            let (xa, xo) = (x(model, a), x_mut(model, o));
            quote!(#rt::linear::#f::fprop_batch(&params[#r], #xa, #xo, #n_in, #out, rows, &mut self.__gemm);)
        }
        Kind::Tanh => {
            let (xa, xo) = (x(model, a), x_mut(model, o));
            quote!(#rt::tanh::#f::fprop_batch(&params[#r], #xa, #xo, rows);)
        }
        Kind::Euclidean => {
            let w = model.states[a].width;
            let (xa, xb, xo) = (x(model, a), x(model, m.args[1]), x_mut(model, o));
            quote!(#rt::euclidean::#f::fprop_batch(#xa, #xb, #xo, #w, rows);)
        }
        Kind::Add => {
            let (xa, xb, xo) = (x(model, a), x(model, m.args[1]), x_mut(model, o));
            let rest = m.args[2..].iter().map(|&c| {
                let (xc, xo) = (x(model, c), x_mut(model, o));
                quote!(#rt::add::#f::fprop_acc(#xc, #xo);)
            });
            quote!(#rt::add::#f::fprop(#xa, #xb, #xo); #(#rest)*)
        }
        Kind::User { path, .. } => {
            let (na, no, field) = (&model.states[a].name, &model.states[o].name, &m.name);
            let t = user_module(model, i);
            let rt = quote_spanned!(path.span()=> ::bpnet::__private);
            quote_spanned!(path.span()=>
                for row in 0..rows {
                    #t::fprop(
                        &mut self.#field[row], #rt::cast(&params[#r]), #rt::cast(&self.#na.x[row]),
                        #rt::cast_mut(&mut self.#no.x[row]),
                    );
                }
            )
        }
        Kind::Sum | Kind::Last | Kind::Broken => {
            unreachable!("minibatches are generated for networks without steps")
        }
    }
}

fn bprop_step(model: &Model, sched: &Schedule, i: usize, acc: &[bool]) -> TokenStream {
    let rt = rt();
    let f = float_tokens(model.float);
    let m = &model.modules[i];
    let r = range(model, sched, i);
    let (a, o) = (m.args[0], m.out);
    let variant = |k: usize| {
        if acc[k] {
            format_ident!("bprop_batch_acc")
        } else {
            format_ident!("bprop_batch")
        }
    };
    match &m.kind {
        Kind::Linear { out } => {
            let n_in = model.states[a].width;
            let v = variant(0);
            let (xa, dxo, dxa) = (x(model, a), dx(model, o), dx_mut(model, a));
            full_or_params(
                model,
                sched,
                i,
                quote!(#rt::linear::#f::#v(&params[#r], #xa, #dxo, #dxa, &mut grads[#r], #n_in, #out, rows, &mut self.__gemm);),
                quote!(#rt::linear::#f::bprop_batch_params(#xa, #dxo, &mut grads[#r], #n_in, #out, rows, &mut self.__gemm);),
            )
        }
        Kind::Tanh => {
            let v = variant(0);
            let (xo, dxo, dxa) = (x(model, o), dx(model, o), dx_mut(model, a));
            full_or_params(
                model,
                sched,
                i,
                quote!(#rt::tanh::#f::#v(#xo, #dxo, #dxa, &mut grads[#r], rows);),
                quote!(#rt::tanh::#f::bprop_batch_params(#xo, #dxo, &mut grads[#r], rows);),
            )
        }
        Kind::Euclidean => {
            let b = m.args[1];
            let w = model.states[a].width;
            let (va, vb) = (variant(0), variant(1));
            let (xa, xb, dxo) = (x(model, a), x(model, b), dx(model, o));
            let (dxa, dxb) = (dx_mut(model, a), dx_mut(model, b));
            let calls = [
                quote!(#rt::euclidean::#f::#va(#xa, #xb, #dxo, #dxa, #w, rows);),
                quote!(#rt::euclidean::#f::#vb(#xb, #xa, #dxo, #dxb, #w, rows);),
            ];
            let calls = calls
                .into_iter()
                .enumerate()
                .map(|(k, call)| unless_skipped(model, sched, i, k, call));
            quote!(#(#calls)*)
        }
        Kind::Add => {
            let steps = m.args.iter().enumerate().map(|(k, &s)| {
                let v = if acc[k] {
                    format_ident!("bprop_acc")
                } else {
                    format_ident!("bprop")
                };
                let (dxo, dxs) = (dx(model, o), dx_mut(model, s));
                unless_skipped(model, sched, i, k, quote!(#rt::add::#f::#v(#dxo, #dxs);))
            });
            quote!(#(#steps)*)
        }
        Kind::User { path, .. } => {
            let (na, no, field) = (&model.states[a].name, &model.states[o].name, &m.name);
            let clear = (!acc[0]).then(|| quote!(self.#na.dx[row].fill(0.0);));
            let t = user_module(model, i);
            let rt = quote_spanned!(path.span()=> ::bpnet::__private);
            quote_spanned!(path.span()=>
                for row in 0..rows {
                    #clear
                    #t::bprop(
                        &mut self.#field[row], #rt::cast(&params[#r]), #rt::cast_mut(&mut grads[#r]),
                        #rt::cast(&self.#na.x[row]), #rt::cast(&self.#no.x[row]),
                        #rt::cast(&self.#no.dx[row]), #rt::cast_mut(&mut self.#na.dx[row]),
                    );
                }
            )
        }
        Kind::Sum | Kind::Last | Kind::Broken => {
            unreachable!("minibatches are generated for networks without steps")
        }
    }
}

/// The batch struct and the network's minibatch entry points, for a network without steps.
pub fn batch(model: &Model, sched: &Schedule) -> (TokenStream, TokenStream) {
    let rt = rt();
    let f = float_tokens(model.float);
    let name = &model.name;
    let vis = &model.vis;
    let bname = format_ident!("{}Batch", name);

    let fields = model.states.iter().map(|st| {
        let (n, w) = (&st.name, st.width);
        let doc = format!("State `{}` of every sample of the batch.", plain(n));
        quote!(#[doc = #doc] pub #n: ::bpnet::Batch<#f, #w>,)
    });
    let users: Vec<usize> = (0..model.modules.len())
        .filter(|&i| matches!(model.modules[i].kind, Kind::User { .. }))
        .collect();
    let user_fields = users.iter().map(|&i| {
        let (n, ty) = (&model.modules[i].name, user_ty(model, i));
        let doc = format!("Module `{}`, one per sample of the batch.", plain(n));
        quote!(#[doc = #doc] pub #n: #rt::Vec<#ty>,)
    });
    let inits = model.states.iter().map(|st| {
        let n = &st.name;
        quote!(#n: ::bpnet::Batch::new(capacity),)
    });
    let user_inits = users.iter().map(|&i| {
        let n = &model.modules[i].name;
        let t = user_module(model, i);
        quote!(#n: (0..capacity).map(|_| #t::create()).collect(),)
    });
    // The matrix products' packing space: fprop (k = in, n = out), dX (k = out, n = in) and dW
    // (k = rows, n = in) of every Linear module.
    let reserves: Vec<TokenStream> = model
        .modules
        .iter()
        .filter_map(|m| match m.kind {
            Kind::Linear { out } => {
                let n_in = model.states[m.args[0]].width;
                Some(quote!(
                    if capacity > 0 {
                        __gemm.reserve(#n_in, #out);
                        __gemm.reserve(#out, #n_in);
                        __gemm.reserve(capacity, #n_in);
                    }
                ))
            }
            _ => None,
        })
        .collect();
    let fsteps: Vec<TokenStream> = sched
        .pre
        .fprop
        .iter()
        .map(|&i| fprop_step(model, sched, i))
        .collect();
    let rsteps: Vec<TokenStream> = sched
        .pre
        .run
        .iter()
        .map(|&i| fprop_step(model, sched, i))
        .collect();
    let bsteps: Vec<TokenStream> = sched
        .pre
        .bprop
        .iter()
        .map(|b| bprop_step(model, sched, b.module, &b.accumulate))
        .collect();
    let seed = model.energy.map(|e| {
        let e = &model.states[e].name;
        quote!(self.#e.__seed(rows);)
    });
    let doc = format!(
        "The states of [`{name}`] for a minibatch, one row per sample (see \
         [`{name}::reserve_batch`])."
    );
    let item = quote!(
        #[doc = #doc]
        #vis struct #bname {
            #(#fields)*
            #(#user_fields)*
            __gemm: ::bpnet::__private::GemmScratch<#f>,
        }

        impl #bname {
            fn __new(capacity: usize) -> Self {
                let mut __gemm = ::bpnet::__private::GemmScratch::new();
                #(#reserves)*
                Self { #(#inits)* #(#user_inits)* __gemm }
            }

            #[allow(unused_variables)]
            fn __fprop(&mut self, params: &[#f], rows: usize) { #(#fsteps)* }

            #[allow(unused_variables)]
            fn __run(&mut self, params: &[#f], rows: usize) { #(#rsteps)* }

            #[allow(unused_variables)]
            fn __bprop(&mut self, params: &[#f], grads: &mut [#f], rows: usize, inputs: bool) {
                #seed
                #(#bsteps)*
            }
        }
    );

    // Entry points on the network.
    let sig = |ids: &[usize]| -> Vec<TokenStream> {
        ids.iter()
            .map(|&i| {
                let (n, w) = (&model.states[i].name, model.states[i].width);
                quote!(#n: &[[#f; #w]])
            })
            .collect()
    };
    let capacity_state = &model.states[model.givens[0]].name;
    let lens = |ids: &[usize]| -> TokenStream {
        let l = ids.iter().map(|&i| {
            let n = &model.states[i].name;
            let s = plain(n);
            quote!((#s, #n.len()))
        });
        quote!(let rows = #rt::batch_len(&[#(#l),*], self.__batch.#capacity_state.x.len())?;)
    };
    let loads = |ids: &[usize]| -> Vec<TokenStream> {
        ids.iter()
            .map(|&i| {
                let n = &model.states[i].name;
                quote!(self.__batch.#n.__load(#n);)
            })
            .collect()
    };
    let inputs: Vec<usize> = model
        .givens
        .iter()
        .copied()
        .filter(|&g| model.states[g].role == StateRole::Input)
        .collect();
    let train = model.energy.map(|e| {
        let e = &model.states[e].name;
        let (s, l, ld) = (
            sig(&model.givens),
            lens(&model.givens),
            loads(&model.givens),
        );
        quote!(
            /// fprop over a minibatch (one row per sample, at most the reserved capacity):
            /// returns the energy of the batch, the **sum** of the samples' energies.
            #[allow(clippy::too_many_arguments)]
            #[track_caller]
            pub fn fprop_batch(&mut self, #(#s),*) -> #rt::Result<#f, ::bpnet::Error> {
                self.__own_pool();
                #l
                #(#ld)*
                self.__batch_rows = rows;
                self.__batch.__fprop(&self.__params, rows);
                #rt::Result::Ok(self.__batch.#e.__sum(rows))
            }

            /// bprop over the last minibatch: the gradient of the batch's energy, the sum of the
            /// samples' gradients, **added** into the gradient pool, and every computed state's
            /// `dx` in [`Self::batch`]. The `dx` of the inputs and targets only with
            /// [`Self::set_input_grads`] on (off by default).
            #[track_caller]
            pub fn bprop_batch(&mut self) {
                self.__own_pool();
                let rows = self.__batch_rows;
                self.__batch.__bprop(&self.__params, &mut self.__grads, rows, self.__input_grads);
            }
        )
    });
    let run = model.output.map(|o| {
        let (out, w) = (&model.states[o].name, model.states[o].width);
        let (s, l, ld) = (sig(&inputs), lens(&inputs), loads(&inputs));
        quote!(
            /// Inference over a minibatch: the output of every sample.
            #[allow(clippy::too_many_arguments)]
            #[track_caller]
            pub fn run_batch(&mut self, #(#s),*) -> #rt::Result<&[[#f; #w]], ::bpnet::Error> {
                self.__own_pool();
                #l
                #(#ld)*
                self.__batch_rows = rows;
                self.__batch.__run(&self.__params, rows);
                #rt::Result::Ok(&self.__batch.#out.x[..rows])
            }
        )
    });
    let methods = quote!(
        /// Allocates the states of minibatches of up to `capacity` samples (once, outside the
        /// training loop): `fprop_batch`, `bprop_batch` and `run_batch` then allocate nothing.
        pub fn reserve_batch(&mut self, capacity: usize) {
            self.__batch = #bname::__new(capacity);
            self.__batch_rows = 0;
        }

        /// The states of the last minibatch, one row per sample.
        pub fn batch(&self) -> &#bname {
            &self.__batch
        }

        #train
        #run
    );
    (item, methods)
}
