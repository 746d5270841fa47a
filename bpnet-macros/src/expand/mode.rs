//! Training and evaluation, and dropout's seed: the `__mode` both structs keep, `set_training`,
//! `training`, `seed_dropout`, and how they reach every copy of every user module and nested
//! network (one per step, one per row of a minibatch) through `Module::set_training` and
//! `Module::set_seed`.

use crate::emit::user_ty;
use crate::model::{Kind, Model};
use proc_macro2::TokenStream;
use quote::quote;

/// Whether the network has a `dropout` module of its own (it then draws its seed in `new`, and
/// begins each forward pass with new masks).
pub fn has_dropout(model: &Model) -> bool {
    model
        .modules
        .iter()
        .any(|m| matches!(&m.kind, Kind::Op(op) if op.name() == "dropout"))
}

/// Whether the network has user modules or nested networks (which may draw random numbers).
pub fn has_users(model: &Model) -> bool {
    model
        .modules
        .iter()
        .any(|m| matches!(m.kind, Kind::User { .. }))
}

/// `self.__mode.next_pass();` where a forward pass begins, for a network with dropout.
pub fn next_pass(model: &Model) -> TokenStream {
    if has_dropout(model) {
        quote!(self.__mode.next_pass();)
    } else {
        quote!()
    }
}

/// The user modules: their index, field, whether one per step, and type.
fn users(model: &Model) -> Vec<(usize, &syn::Ident, bool, TokenStream)> {
    (0..model.modules.len())
        .filter(|&i| matches!(model.modules[i].kind, Kind::User { .. }))
        .map(|i| {
            let m = &model.modules[i];
            (i, &m.name, m.step, user_ty(model, i))
        })
        .collect()
}

/// `set_training`, `training`, `seed_dropout`, and the two passes over the copies.
pub fn methods(model: &Model) -> TokenStream {
    let users = users(model);
    let training = users.iter().map(|(_, n, step, ty)| {
        let own = if *step {
            quote!(for m in &mut self.#n { <#ty as ::bpnet::Module>::set_training(m, on); })
        } else {
            quote!(<#ty as ::bpnet::Module>::set_training(&mut self.#n, on);)
        };
        quote!(#own for m in &mut self.__batch.#n { <#ty as ::bpnet::Module>::set_training(m, on); })
    });
    let seeds = users.iter().map(|(i, n, step, ty)| {
        let i = *i as u64;
        let own = if *step {
            quote!(for (c, m) in self.#n.iter_mut().enumerate() {
                <#ty as ::bpnet::Module>::set_seed(m, ::bpnet::__private::child_seed(seed, #i, c as u64));
            })
        } else {
            quote!(<#ty as ::bpnet::Module>::set_seed(
                &mut self.#n, ::bpnet::__private::child_seed(seed, #i, 0)
            );)
        };
        quote!(
            #own
            for (c, m) in self.__batch.#n.iter_mut().enumerate() {
                <#ty as ::bpnet::Module>::set_seed(
                    m, ::bpnet::__private::child_seed(seed, #i, (1u64 << 32) + c as u64)
                );
            }
        )
    });
    quote!(
        /// Training (`true`, the default) or evaluation (`false`): `dropout` modules draw masks
        /// in training and are the identity in evaluation, and every user module and nested
        /// network, every copy of it (per step, per row of a minibatch), is told through
        /// `Module::set_training`. Evaluate (validation, inference) in evaluation mode; the
        /// `Trainer` does so after each epoch.
        ///
        /// A switch ends the last forward pass: a backward pass needs a forward pass in the new
        /// mode (it would otherwise go back through masks its forward pass did not draw).
        pub fn set_training(&mut self, on: bool) {
            if on != self.__mode.training {
                self.__forward = ::bpnet::__private::Forward::None;
            }
            self.__mode.training = on;
            self.__sync_training();
        }

        /// Whether the network is in training mode (see [`Self::set_training`]).
        pub fn training(&self) -> bool {
            self.__mode.training
        }

        /// Seeds the masks of the `dropout` modules (and, through `Module::set_seed`, every
        /// copy of every user module and nested network, each with a seed of its own derived
        /// from `seed`): the same seed gives the same masks, forward pass after forward pass.
        /// `new` seeds a network with dropout from its `rng`; to check gradients with dropout
        /// on, seed before each fprop, so that every fprop draws the same masks.
        pub fn seed_dropout(&mut self, seed: u64) {
            self.__mode.seed = seed;
            self.__mode.pass = 0;
            self.__batch.__mode = self.__mode;
            self.__sync_seeds();
        }

        /// The training flag, to every copy of every user module.
        #[allow(unused_variables)]
        fn __sync_training(&mut self) {
            let on = self.__mode.training;
            self.__batch.__mode.training = on;
            #(#training)*
        }

        /// Seeds derived from the network's, to every copy of every user module.
        #[allow(unused_variables)]
        fn __sync_seeds(&mut self) {
            let seed = self.__mode.seed;
            #(#seeds)*
        }
    )
}
