//! The calls of a user module (a type implementing `bpnet::Module`, or a nested network) in every
//! sweep, per sample and per minibatch (one call per row: the module is written per sample),
//! every token spanned on the user's type so that a mistake in it is reported there.

use crate::emit::{Form, place, pool, range, slot, user_module, user_ty};
use crate::lower::Schedule;
use crate::model::{Kind, Model};
use crate::op::Order;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

fn span(model: &Model, i: usize) -> Span {
    match &model.modules[i].kind {
        Kind::User { path, .. } => path.span(),
        _ => Span::call_site(),
    }
}

/// User module `i`'s value: one per step inside the `unfold` block (each step keeps what its
/// bprop needs); on a minibatch one per sample, and inside the block one per step and sample
/// (step-major).
fn value(model: &Model, i: usize, form: Form) -> TokenStream {
    let m = &model.modules[i];
    let field = &m.name;
    match (form, m.step) {
        (Form::Sample, true) => quote!(self.#field[t]),
        (Form::Sample, false) => quote!(self.#field),
        (Form::Batch, true) => quote!(self.#field[t * self.__capacity + row]),
        (Form::Batch, false) => quote!(self.#field[row]),
    }
}

/// `p.field`, or on a minibatch its row `row`.
fn at(p: &TokenStream, field: &syn::Ident, form: Form) -> TokenStream {
    match form {
        Form::Sample => quote!(#p.#field),
        Form::Batch => quote!(#p.#field[row]),
    }
}

/// The call, on a minibatch once per row.
fn per_row(span: Span, form: Form, body: TokenStream) -> TokenStream {
    match form {
        Form::Sample => body,
        Form::Batch => quote_spanned!(span=> for row in 0..rows { #body }),
    }
}

pub fn fprop(model: &Model, sched: &Schedule, i: usize, form: Form) -> TokenStream {
    let m = &model.modules[i];
    let (a, o) = (
        place(model, sched, i, m.args[0], m.delays[0]),
        place(model, sched, i, m.out, 0),
    );
    let (value, t, r, span) = (
        value(model, i, form),
        user_module(model, i),
        range(model, sched, i),
        span(model, i),
    );
    let rt = quote_spanned!(span=> ::bpnet::__private);
    let x = quote::format_ident!("x");
    let (xa, xo) = (at(&a, &x, form), at(&o, &x, form));
    let call = quote_spanned!(span=>
        #t::fprop(
            &mut #value, #rt::cast(&params[#r]), #rt::cast(&#xa),
            #rt::cast_mut(&mut #xo),
        );
    );
    per_row(span, form, call)
}

pub fn backward(
    model: &Model,
    sched: &Schedule,
    i: usize,
    acc: &[bool],
    order: Order,
    form: Form,
) -> TokenStream {
    let m = &model.modules[i];
    let (a, o) = (
        place(model, sched, i, m.args[0], m.delays[0]),
        place(model, sched, i, m.out, 0),
    );
    let (value, r, span) = (
        value(model, i, form),
        range(model, sched, i),
        span(model, i),
    );
    let (d, grads, x) = (slot(order), pool(order), quote::format_ident!("x"));
    let (xa, xo, dxo, dxa) = (
        at(&a, &x, form),
        at(&o, &x, form),
        at(&o, &d, form),
        at(&a, &d, form),
    );
    // A user module adds into dx; the first contribution starts from zero.
    let clear = (!acc[0]).then(|| quote!(#dxa.fill(0.0);));
    let ty = user_ty(model, i);
    let call = match order {
        Order::First => quote_spanned!(span=> <#ty as ::bpnet::Module>::bprop),
        Order::Second => quote_spanned!(span=> <#ty as ::bpnet::Bbprop>::bbprop),
    };
    let rt = quote_spanned!(span=> ::bpnet::__private);
    let body = quote_spanned!(span=>
        #clear
        #call(
            &mut #value, #rt::cast(&params[#r]), #rt::cast_mut(&mut #grads[#r]),
            #rt::cast(&#xa), #rt::cast(&#xo), #rt::cast(&#dxo),
            #rt::cast_mut(&mut #dxa),
        );
    );
    per_row(span, form, body)
}
