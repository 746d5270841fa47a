//! `Clone` and `Debug` for a network and its batch. Written out, not derived: a derive would
//! need every user module to be `Clone` and `Debug`, where these ask it of clones alone (a
//! higher-ranked bound, as bbprop's, fails where `clone` is called, not where it is written);
//! the batch's threads are not copied; and `Debug` prints a summary, not thousands of values.

use crate::emit::{plain, user_ty};
use crate::model::{Kind, Model};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// `impl Clone` and `impl Debug` for the network and its batch struct.
pub fn derives(model: &Model) -> TokenStream {
    let (net, batch) = (net_clone(model), batch_clone(model));
    let debug = debug(model);
    quote!(#net #batch #debug)
}

/// `where` every user module is `Clone`, spanned on its type in the declaration.
fn clone_bounds(model: &Model) -> TokenStream {
    let bounds: Vec<TokenStream> = (0..model.modules.len())
        .filter_map(|i| match &model.modules[i].kind {
            Kind::User { path, .. } => {
                let ty = user_ty(model, i);
                Some(quote_spanned!(path.span()=> for<'__c> #ty: ::core::clone::Clone,))
            }
            _ => None,
        })
        .collect();
    if bounds.is_empty() {
        quote!()
    } else {
        quote!(where #(#bounds)*)
    }
}

/// The fields a state or a user module gives both structs.
fn shared_fields(model: &Model) -> Vec<&syn::Ident> {
    let states = model.states.iter().map(|s| &s.name);
    let users = model
        .modules
        .iter()
        .filter(|m| matches!(m.kind, Kind::User { .. }))
        .map(|m| &m.name);
    states.chain(users).collect()
}

/// The network's `Clone`: everything, the last minibatch included.
fn net_clone(model: &Model) -> TokenStream {
    let (name, bounds) = (&model.name, clone_bounds(model));
    let fields = shared_fields(model);
    let unfolded = model
        .steps
        .map(|_| quote!(__len: self.__len, __continued: self.__continued,));
    quote!(
        /// A copy of everything: parameters, gradients, curvature, states, the last minibatch
        /// and the room reserved for minibatches. The helper threads (of `set_batch_threads`
        /// or of `reserve_batch`'s default) are not copied: the copy computes on one thread
        /// until its own `reserve_batch` or `set_batch_threads`, and keeps a choice of
        /// `set_batch_threads`. It allocates as
        /// much as `new` and `reserve_batch` did, and panics if that fails, as `Vec::clone`.
        /// Its dropout seed is copied too, so it draws its original's masks: give it another
        /// with `seed_dropout` for an ensemble.
        impl ::core::clone::Clone for #name #bounds {
            fn clone(&self) -> Self {
                Self {
                    #(#fields: ::core::clone::Clone::clone(&self.#fields),)*
                    __params: ::core::clone::Clone::clone(&self.__params),
                    __grads: ::core::clone::Clone::clone(&self.__grads),
                    __ddgrads: ::core::clone::Clone::clone(&self.__ddgrads),
                    __input_grads: self.__input_grads,
                    __forward: self.__forward,
                    __mode: self.__mode,
                    __batch: ::core::clone::Clone::clone(&self.__batch),
                    __batch_rows: self.__batch_rows,
                    #unfolded
                }
            }
        }
    )
}

/// The batch struct's `Clone`.
fn batch_clone(model: &Model) -> TokenStream {
    let (bname, bounds) = (format_ident!("{}Batch", model.name), clone_bounds(model));
    let fields = shared_fields(model);
    let unfolded = model
        .steps
        .map(|_| quote!(__len: self.__len, __continued: self.__continued,));
    quote!(
        impl ::core::clone::Clone for #bname #bounds {
            fn clone(&self) -> Self {
                Self {
                    #(#fields: ::core::clone::Clone::clone(&self.#fields),)*
                    __gemm: ::core::clone::Clone::clone(&self.__gemm),
                    __capacity: self.__capacity,
                    __mode: self.__mode,
                    #unfolded
                }
            }
        }
    )
}

/// `Debug` of both: a summary of the network (inputs, targets, modules, parameter count, batch
/// capacity), and the batch's capacity.
fn debug(model: &Model) -> TokenStream {
    let name = &model.name;
    let bname = format_ident!("{}Batch", name);
    let (text, btext) = (plain(name), format!("{}Batch", plain(name)));
    quote!(
        /// A summary: inputs, targets, modules, the number of parameters and the minibatch
        /// capacity (the values are in `params()` and the states' fields).
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::bpnet::__private::debug_network(
                    f, #text, Self::MODULES, Self::STATES, Self::PARAMS, self.__batch.__capacity,
                )
            }
        }

        impl ::core::fmt::Debug for #bname {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#btext).field("capacity", &self.__capacity).finish_non_exhaustive()
            }
        }
    )
}
