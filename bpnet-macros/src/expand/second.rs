//! bbprop's public method and the bounds under which it can be called.

use crate::emit::{expect_forward, user_ty};
use crate::model::{Kind, Model, float_tokens};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The public `bbprop`: from the energy of the last fprop, or, for a network without an energy,
/// from a given ∂²E/∂output².
pub fn bbprop_method(model: &Model, bounds: &TokenStream) -> Option<TokenStream> {
    let f = float_tokens(model.float);
    let unfolded = model.steps.is_some();
    let mut doc = "bbprop, the second-order sweep of \"Efficient BackProp\" (LeCun, Bottou, Orr, \
               Müller 1998): the diagonal second derivatives of the energy in the Gauss–Newton \
               approximation, into every computed state's `ddx`, and those of the parameters \
               **added** into the curvature pool ([`Self::curvature`]; call \
               [`Self::zero_curvature`] between estimates). Each module passes `ddx` back with \
               its Jacobian squared (Linear: `W∘W` to its input, `x∘x` to its weights; Tanh: \
               `f′²`, the `f″` term dropped); the energy module starts it from the diagonal of \
               its own Hessian (1 for the Euclidean energy). Uses the last fprop; the `ddx` of \
               the inputs and targets only with [`Self::set_input_grads`] on.";
    let given = "bbprop from a given ∂²E/∂output² (`dd_output`, diagonal: the Gauss–Newton \
                 weights of the outputs, as an outer network's bbprop would pass them), the \
                 second-order sweep of \"Efficient BackProp\" (LeCun, Bottou, Orr, Müller 1998): \
                 every computed state's `ddx`, and the parameters' diagonal Gauss–Newton second \
                 derivatives **added** into the curvature pool ([`Self::curvature`]; call \
                 [`Self::zero_curvature`] between estimates). Each module passes `ddx` back with \
                 its Jacobian squared (Linear: `W∘W` to its input, `x∘x` to its weights; Tanh: \
                 `f′²`, the `f″` term dropped). Uses the last run; the input's `ddx` only with \
                 [`Self::set_input_grads`] on.";
    let from_fprop = expect_forward(model, "Fprop", "bbprop");
    // The length of the last fprop (unfolded), or the given ∂²E/∂output² (no energy).
    let (head, len, arg) = match (model.energy, model.output) {
        (Some(_), _) if unfolded => (
            quote!(#from_fprop let len = self.__len; if len == 0 { return; }),
            quote!(, len),
            quote!(),
        ),
        (Some(_), _) => (from_fprop, quote!(), quote!()),
        (None, Some(o)) if !unfolded => {
            let (out, w) = (&model.states[o].name, model.states[o].width);
            doc = given;
            let from_run = expect_forward(model, "Run", "bbprop");
            (
                quote!(#from_run self.#out.ddx = *dd_output;),
                quote!(),
                quote!(, dd_output: &[#f; #w]),
            )
        }
        _ => return None,
    };
    Some(quote!(
        #[doc = #doc]
        #[track_caller]
        pub fn bbprop(&mut self #arg) #bounds {
            self.__own_pool();
            #head
            let params = ::core::mem::take(&mut self.__params);
            let mut ddgrads = ::core::mem::take(&mut self.__ddgrads);
            self.__bbprop(&params, &mut ddgrads, self.__input_grads #len);
            self.__params = params;
            self.__ddgrads = ddgrads;
        }
    ))
}

/// The `where` clause of everything that runs bbprop: every user module implements
/// `bpnet::Bbprop`, and no module's value is both part of the energy and read by another module. Higher-ranked, so that a bound that does not hold is not an error where it is
/// written (a trivially false bound is) but where bbprop is called, with the message of
/// `Bbprop`'s `on_unimplemented`, which names the module's type.
pub fn bbprop_bounds(model: &Model) -> TokenStream {
    let users: Vec<TokenStream> = (0..model.modules.len())
        .filter_map(|i| match &model.modules[i].kind {
            // Spanned on the module's type in the declaration: the bound the error names.
            Kind::User { path, .. } => {
                let ty = user_ty(model, i);
                Some(quote_spanned!(path.span()=> for<'__bb> #ty: ::bpnet::Bbprop,))
            }
            // A value both part of the energy and read by another module: no bbprop, the error
            // pointing at the module's name. (Add, sum and last only pass it on: the module
            // that made it is the one named.)
            _ if model.modules[i].kind.linear() => None,
            _ if model.energy_paths(model.modules[i].out) == (true, true) => {
                let span = model.modules[i].name.span();
                Some(quote_spanned!(span=>
                    for<'__bb> ::bpnet::__private::MixedRole: ::bpnet::__private::OneRole,
                ))
            }
            _ => None,
        })
        .collect();
    if users.is_empty() {
        quote!()
    } else {
        quote!(where #(#users)*)
    }
}
