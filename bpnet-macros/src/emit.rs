//! What every generator shares: the paths the generated code calls, where a module's states and
//! parameters are (per sample or per minibatch, at which step), and the [`Sites`] a kind emits
//! its calls through. No code of a whole method is made here.

use crate::lower::{Offset, Schedule};
use crate::model::{Kind, Model, StateM, StateRole, float_tokens};
use crate::op::{Order, Sites};
use crate::parse::FloatTy;
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// A name as the user means it (`r#type` is `type`), for strings and derived identifiers.
pub fn plain(id: &syn::Ident) -> String {
    use syn::ext::IdentExt;
    id.unraw().to_string()
}

/// Paths the generated code calls.
pub fn rt() -> TokenStream {
    quote!(::bpnet::__private)
}

/// The user's type of user module `i`.
fn user_path(model: &Model, i: usize) -> &syn::Path {
    match &model.modules[i].kind {
        Kind::User { path, .. } => path,
        _ => unreachable!("only user modules have a type"),
    }
}

/// The private alias that names user module `i`'s type everywhere in the expansion, spanned on the
/// user's type, so that a mistake in the type is reported once, there.
pub fn user_ty(model: &Model, i: usize) -> TokenStream {
    let (m, path) = (&model.modules[i], user_path(model, i));
    // Length-prefixed, so that no two (network, module) pairs give the same name.
    let (net, module) = (plain(&model.name), plain(&m.name));
    let mut alias = format_ident!("__bpnet_{}{}_{}", net.len(), net, module);
    alias.set_span(path.span());
    quote!(#alias)
}

/// `<Alias as ::bpnet::Module>`, spanned on the user's type.
pub fn user_module(model: &Model, i: usize) -> TokenStream {
    let ty = user_ty(model, i);
    quote_spanned!(user_path(model, i).span()=> <#ty as ::bpnet::Module>)
}

/// `<Alias as ::bpnet::Module>::ITEM`, every token spanned on the user's type.
pub fn user_item(model: &Model, i: usize, item: &str) -> TokenStream {
    let span = user_path(model, i).span();
    let t = user_module(model, i);
    let item = syn::Ident::new(item, span);
    quote_spanned!(span=> #t::#item)
}

/// A pool position: a literal, plus the `PARAMS` of user modules known only to the compiler.
pub fn offset_tokens(model: &Model, off: &Offset, extra: usize) -> TokenStream {
    let mut known = proc_macro2::Literal::usize_unsuffixed(off.known + extra);
    let Some(&first) = off.user.first() else {
        return quote!(#known);
    };
    // The whole sum is spanned on a user type: an error in it then points there.
    let span = user_path(model, first).span();
    known.set_span(span);
    let mut user = off.user.iter().map(|&i| user_item(model, i, "PARAMS"));
    let first = user.next();
    // Only used where an expression stands alone (const items, struct fields): no parentheses.
    if off.known + extra == 0 {
        quote_spanned!(span=> #first #(+ #user)*)
    } else {
        quote_spanned!(span=> #known + #first #(+ #user)*)
    }
}

/// The start and end of module `i` in the pool, as token expressions.
pub fn bounds(model: &Model, sched: &Schedule, i: usize) -> (TokenStream, TokenStream) {
    let m = &model.modules[i];
    let start = offset_tokens(model, &sched.offsets[i], 0);
    let end = match (&m.kind, model.builtin_params(m)) {
        (Kind::User { .. }, _) => {
            let mut end = sched.offsets[i].clone();
            end.user.push(i);
            offset_tokens(model, &end, 0)
        }
        (_, n) => offset_tokens(model, &sched.offsets[i], n.unwrap_or(0)),
    };
    (start, end)
}

/// Whether module `i`'s place in the pool depends on a user module's `PARAMS`.
pub fn needs_consts(model: &Model, sched: &Schedule, i: usize) -> bool {
    !sched.offsets[i].user.is_empty() || matches!(model.modules[i].kind, Kind::User { .. })
}

pub fn bound_idents(model: &Model, i: usize) -> (syn::Ident, syn::Ident) {
    let n = plain(&model.modules[i].name);
    (format_ident!("__START_{}", n), format_ident!("__END_{}", n))
}

/// The `start..end` range of module `i` in the pool: literals, or, where user modules' sizes are
/// involved, associated consts (so no trait projection sits in a method body, and an error in a
/// user type is reported once, at the type).
pub fn range(model: &Model, sched: &Schedule, i: usize) -> TokenStream {
    if needs_consts(model, sched, i) {
        let (s, e) = bound_idents(model, i);
        let net = &model.name;
        quote!(#net::#s..#net::#e)
    } else {
        let (start, end) = bounds(model, sched, i);
        quote!(#start..#end)
    }
}

/// Module `i`'s number of parameters as an expression.
pub fn module_len(model: &Model, i: usize) -> TokenStream {
    let m = &model.modules[i];
    match (&m.kind, model.builtin_params(m)) {
        (Kind::User { .. }, _) => user_item(model, i, "PARAMS"),
        (_, n) => {
            let n = n.unwrap_or(0);
            quote!(#n)
        }
    }
}

/// Whether module `i` reads its own output at an earlier step (`h = …(h[t - k])`): its call then
/// borrows two slots of one state's storage, the one it writes at `t` and the one it reads at
/// `t − k`, which the borrow checker cannot tell apart by index (see [`split_slots`]).
pub fn reads_own_output(model: &Model, i: usize) -> bool {
    let m = &model.modules[i];
    m.step
        && m.args
            .iter()
            .zip(&m.delays)
            .any(|(&a, &d)| a == m.out && d > 0)
}

/// Wraps the calls of module `i` when it reads its own output at an earlier step: the output
/// state's slots (`__slots` of its `Steps`, or of its `BatchSteps` on a minibatch) are split at
/// the slot step `t` writes, so that the earlier steps it reads (`__head`, at the same indices)
/// and the step it writes (`__tail[0]`) are borrowed disjointly. They are always different slots,
/// as the delay is at least 1. Other modules' calls are left as they are.
pub fn split_slots(model: &Model, sched: &Schedule, i: usize, calls: TokenStream) -> TokenStream {
    if !reads_own_output(model, i) {
        return calls;
    }
    let out = model.modules[i].out;
    let n = &model.states[out].name;
    let k = proc_macro2::Literal::usize_unsuffixed(sched.history[out]);
    quote!({
        let (__head, __tail) = self.#n.__slots.split_at_mut(#k + t);
        #calls
    })
}

/// Where state `s` lives when module `i` reads it `delay` steps back (or writes it, at delay 0): a
/// static state is a field, a per-step state a slot of its `Steps` (of its `BatchSteps` on a
/// minibatch: the same tokens), indexed from the loop's `t`. Inside [`split_slots`], the output
/// state of a module that reads its own earlier steps is in `__head` (earlier steps) and
/// `__tail[0]` (step `t`).
pub fn place(model: &Model, sched: &Schedule, i: usize, s: usize, delay: usize) -> TokenStream {
    let n = &model.states[s].name;
    if model.states[s].step {
        let base = proc_macro2::Literal::usize_unsuffixed(sched.history[s] - delay);
        match (
            s == model.modules[i].out && reads_own_output(model, i),
            delay,
        ) {
            (false, _) => quote!(self.#n.__slots[#base + t]),
            (true, 0) => quote!(__tail[0]),
            (true, _) => quote!(__head[#base + t]),
        }
    } else {
        quote!(self.#n)
    }
}

/// Whether the backward sweep leaves state `s`'s `dx` out when input gradients are off (the
/// `inputs` flag of `__bprop` is false): an input or a target, unless a learned initial value
/// gathers its `dx` (a parameter's gradient then depends on it).
pub fn skippable(model: &Model, sched: &Schedule, s: usize) -> bool {
    model.states[s].role != StateRole::Computed && sched.initial_offsets[s].is_none()
}

/// Whether module `i`'s value reaches the energy linearly only: it is then part of the energy,
/// and a distance's or a loss's bbprop starts from its own Hessian.
pub fn is_part_of_energy(model: &Model, i: usize) -> bool {
    model.energy_paths(model.modules[i].out) == (true, false)
}

/// In the second-order sweep, the `ddx` that module `i` (not a distance, loss, add, sum or last)
/// receives through the energy's seed: the energy is linear in a value it only adds up, so
/// Gauss–Newton gives that value no second derivative. The sweep then clears the module's output
/// `ddx` (all it holds is the seed) before the module's call, which so writes zeros into its
/// input's `ddx` and adds nothing into the curvature pool. (A value that is also read by another
/// module makes bbprop uncallable, see `expand::bbprop_bounds`.)
pub fn clears_seed(model: &Model, i: usize, order: Order) -> bool {
    let kind = &model.modules[i].kind;
    order == Order::Second
        && !kind.linear()
        && !kind.flow().is_term()
        && model.energy_paths(model.modules[i].out) == (true, false)
}

/// The state's slot of a sweep: `dx` or `ddx`.
pub fn slot(order: Order) -> syn::Ident {
    match order {
        Order::First => format_ident!("dx"),
        Order::Second => format_ident!("ddx"),
    }
}

/// The pool a sweep's parameter derivatives go into (a local of the sweep): `grads` or `ddgrads`.
pub fn pool(order: Order) -> syn::Ident {
    match order {
        Order::First => format_ident!("grads"),
        Order::Second => format_ident!("ddgrads"),
    }
}

/// Per sample (a network's `State`s) or per minibatch (its batch's `Batch`es, `rows` rows).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Sample,
    Batch,
}

/// Module `i` of a sweep of one form and order: the [`Sites`] its kind's calls are made in.
pub struct Cx<'a> {
    pub model: &'a Model,
    pub sched: &'a Schedule,
    pub i: usize,
    pub form: Form,
    /// Whose kernels are called.
    pub order: Order,
    /// Whose places (`dx` or `ddx`, `grads` or `ddgrads`) they work on.
    pub slots: Order,
    /// The inference form's sweep, one step per call (see [`Sites::streamed`]).
    pub stream: bool,
}

impl Cx<'_> {
    fn m(&self) -> &crate::model::ModuleM {
        &self.model.modules[self.i]
    }
}

impl Sites for Cx<'_> {
    fn kernels(&self, module: &str) -> TokenStream {
        let (rt, f, k) = (rt(), self.float(), format_ident!("{}", module));
        quote!(#rt::#k::#f)
    }
    fn rt(&self) -> TokenStream {
        rt()
    }
    fn float(&self) -> TokenStream {
        float_tokens(self.model.float)
    }
    fn float_ty(&self) -> crate::parse::FloatTy {
        self.model.float
    }
    fn batch(&self) -> bool {
        self.form == Form::Batch
    }
    fn order(&self) -> Order {
        self.order
    }
    fn arity(&self) -> usize {
        self.m().args.len()
    }
    fn width(&self, k: usize) -> usize {
        self.model.states[self.m().args[k]].width
    }
    fn out_width(&self) -> usize {
        self.model.states[self.m().out].width
    }
    fn shape(&self, k: usize) -> Vec<usize> {
        self.model.states[self.m().args[k]].shape.clone()
    }
    fn arg(&self, k: usize) -> TokenStream {
        let m = self.m();
        place(self.model, self.sched, self.i, m.args[k], m.delays[k])
    }
    fn out(&self) -> TokenStream {
        place(self.model, self.sched, self.i, self.m().out, 0)
    }
    fn x(&self, p: &TokenStream) -> TokenStream {
        match self.form {
            Form::Sample => quote!(&#p.x),
            Form::Batch => quote!(#p.x[..rows].as_flattened()),
        }
    }
    fn x_mut(&self, p: &TokenStream) -> TokenStream {
        match self.form {
            Form::Sample => quote!(&mut #p.x),
            Form::Batch => quote!(#p.x[..rows].as_flattened_mut()),
        }
    }
    fn d(&self, p: &TokenStream) -> TokenStream {
        let d = slot(self.slots);
        match self.form {
            Form::Sample => quote!(&#p.#d),
            Form::Batch => quote!(#p.#d[..rows].as_flattened()),
        }
    }
    fn d_mut(&self, p: &TokenStream) -> TokenStream {
        let d = slot(self.slots);
        match self.form {
            Form::Sample => quote!(&mut #p.#d),
            Form::Batch => quote!(#p.#d[..rows].as_flattened_mut()),
        }
    }
    fn range(&self) -> TokenStream {
        range(self.model, self.sched, self.i)
    }
    fn pool(&self) -> syn::Ident {
        pool(self.slots)
    }
    fn kernel(&self, base: &str, mid: &str, tail: &str) -> syn::Ident {
        let batch = if self.batch() { "_batch" } else { "" };
        format_ident!("{base}{mid}{batch}{tail}")
    }
    fn unless_skipped(&self, k: usize, call: TokenStream) -> TokenStream {
        if skippable(self.model, self.sched, self.m().args[k]) {
            quote!(if inputs { #call })
        } else {
            call
        }
    }
    fn full_or_params(&self, full: TokenStream, params: TokenStream) -> TokenStream {
        if skippable(self.model, self.sched, self.m().args[0]) {
            quote!(if inputs { #full } else { #params })
        } else {
            full
        }
    }
    fn inner(&self) -> bool {
        self.order == Order::Second && !is_part_of_energy(self.model, self.i)
    }
    fn slot(&self, t: TokenStream) -> TokenStream {
        let a = self.m().args[0];
        let (n, k) = (&self.model.states[a].name, self.sched.history[a]);
        quote!(self.#n.__slots[#k + #t])
    }
    fn steps_gathered(&self) -> TokenStream {
        match (self.stream, self.m().range) {
            (false, None) => quote!(0..len),
            (false, Some((a, None))) => quote!(#a..len),
            (false, Some((a, Some(b)))) => quote!(#a..len.min(#b)),
            // One step per call, `self.__t` steps before it: this step, if in the range.
            (true, None) => quote!(0..1),
            (true, Some((a, None))) => quote!(0..usize::from(#a <= self.__t)),
            (true, Some((a, Some(b)))) => {
                quote!(0..usize::from(#a <= self.__t && self.__t < #b))
            }
        }
    }
    fn streamed(&self) -> bool {
        self.stream
    }
    fn key(&self) -> TokenStream {
        let module = self.i as u64;
        let step = if self.m().step {
            quote!(t as u64)
        } else {
            quote!(0u64)
        };
        quote!(::bpnet::__private::Key::new(self.__mode, #module, #step))
    }
    fn number(&self, v: f64) -> TokenStream {
        let lit = match self.model.float {
            FloatTy::F32 => proc_macro2::Literal::f32_suffixed(v as f32),
            FloatTy::F64 => proc_macro2::Literal::f64_suffixed(v),
        };
        quote!(, #lit)
    }
}

/// `#[allow(clippy::too_many_arguments)]` on a method taking `args` arguments besides `self`, when
/// clippy would count more than its limit of 7 (a declaration with many inputs and targets).
pub fn many_args(args: usize) -> Option<TokenStream> {
    (args + 1 > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]))
}

/// An entry point's parameter for state `st`, `x: &[f32; 2]` (or another type `ty` of its
/// values), spanned at the state's declaration: the name is the user's, the type takes the
/// width's span. rustc's note "method defined here" on a wrong call then shows `x: 2` rather
/// than the whole macro call. Only signatures are spanned so: bodies keep the macro's spans,
/// so that an internal error is never blamed on the user's tokens.
pub fn param(st: &StateM, ty: TokenStream) -> TokenStream {
    let (n, ty) = (&st.name, respan(ty, st.width_span));
    quote!(#n: #ty)
}

/// An entry point's name (`fprop`, `run_batch`), spanned at the network's name, for the same
/// notes: "method defined here" points at `struct Net`.
pub fn entry_name(model: &Model, name: &str) -> syn::Ident {
    syn::Ident::new(name, model.name.span())
}

/// `tokens` with every span (delimiters too) set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            if let TokenTree::Group(g) = &t {
                let mut inner = Group::new(g.delimiter(), respan(g.stream(), span));
                inner.set_span(span);
                t = TokenTree::Group(inner);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}

/// Records `pass` (a variant of the runtime's `Forward`) as the network's last forward pass.
pub fn record_forward(pass: &str) -> TokenStream {
    let pass = format_ident!("{}", pass);
    quote!(self.__forward = ::bpnet::__private::Forward::#pass;)
}

/// Panics unless the last forward pass is `pass`, the one backward pass `call` goes through.
pub fn expect_forward(model: &Model, pass: &str, call: &str) -> TokenStream {
    let pass = format_ident!("{}", pass);
    let net = plain(&model.name);
    quote!(::bpnet::__private::expect_forward(
        self.__forward, ::bpnet::__private::Forward::#pass, #call, #net
    );)
}
