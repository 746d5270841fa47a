//! Code generation only: the checked model and its schedule become a struct, its constants and a
//! flat schedule of calls into the runtime's concrete kernels. No rule is checked here.

use crate::check::{Kind, Loss, Model, StateRole, float_tokens, path_string};
use crate::lower::{Offset, Schedule};
use crate::parse::FloatTy;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// A name as the user means it (`r#type` is `type`), for strings and derived identifiers.
pub(crate) fn plain(id: &syn::Ident) -> String {
    use syn::ext::IdentExt;
    id.unraw().to_string()
}

/// Paths the generated code calls.
pub(crate) fn rt() -> TokenStream {
    quote!(::bpnet::__private)
}

/// The private alias that names user module `i`'s type everywhere in the expansion, spanned on the
/// user's type, so that a mistake in the type is reported once, there.
pub(crate) fn user_ty(model: &Model, i: usize) -> TokenStream {
    let m = &model.modules[i];
    let Kind::User { path, .. } = &m.kind else {
        unreachable!("only user modules have a type alias")
    };
    // Length-prefixed, so that no two (network, module) pairs give the same name.
    let (net, module) = (plain(&model.name), plain(&m.name));
    let mut alias = format_ident!("__bpnet_{}{}_{}", net.len(), net, module);
    alias.set_span(path.span());
    quote!(#alias)
}

/// `<Alias as ::bpnet::Module>`, spanned on the user's type.
pub(crate) fn user_module(model: &Model, i: usize) -> TokenStream {
    let Kind::User { path, .. } = &model.modules[i].kind else {
        unreachable!("only user modules implement Module")
    };
    let ty = user_ty(model, i);
    quote_spanned!(path.span()=> <#ty as ::bpnet::Module>)
}

/// `<Alias as ::bpnet::Module>::ITEM`, every token spanned on the user's type.
fn user_item(model: &Model, i: usize, item: &str) -> TokenStream {
    let Kind::User { path, .. } = &model.modules[i].kind else {
        unreachable!("only user modules implement Module")
    };
    let t = user_module(model, i);
    let item = syn::Ident::new(item, path.span());
    quote_spanned!(path.span()=> #t::#item)
}

/// A pool position: a literal, plus the `PARAMS` of user modules known only to the compiler.
pub(crate) fn offset_tokens(model: &Model, off: &Offset, extra: usize) -> TokenStream {
    let mut known = proc_macro2::Literal::usize_unsuffixed(off.known + extra);
    let Some(&first) = off.user.first() else {
        return quote!(#known);
    };
    // The whole sum is spanned on a user type: an error in it then points there.
    let span = match &model.modules[first].kind {
        Kind::User { path, .. } => path.span(),
        _ => unreachable!("offsets list user modules only"),
    };
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
fn bounds(model: &Model, sched: &Schedule, i: usize) -> (TokenStream, TokenStream) {
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
fn needs_consts(model: &Model, sched: &Schedule, i: usize) -> bool {
    !sched.offsets[i].user.is_empty() || matches!(model.modules[i].kind, Kind::User { .. })
}

fn bound_idents(model: &Model, i: usize) -> (syn::Ident, syn::Ident) {
    let n = &model.modules[i].name;
    let n = plain(n);
    (format_ident!("__START_{}", n), format_ident!("__END_{}", n))
}

/// The `start..end` range of module `i` in the pool: literals, or, where user modules' sizes are
/// involved, associated consts (so no trait projection sits in a method body, and an error in a
/// user type is reported once, at the type).
pub(crate) fn range(model: &Model, sched: &Schedule, i: usize) -> TokenStream {
    if needs_consts(model, sched, i) {
        let (s, e) = bound_idents(model, i);
        let net = &model.name;
        quote!(#net::#s..#net::#e)
    } else {
        let (start, end) = bounds(model, sched, i);
        quote!(#start..#end)
    }
}

/// The associated consts behind [`range`].
fn range_consts(model: &Model, sched: &Schedule) -> TokenStream {
    let items = (0..model.modules.len())
        .filter(|&i| needs_consts(model, sched, i))
        .map(|i| {
            let (s, e) = bound_idents(model, i);
            let (start, end) = bounds(model, sched, i);
            quote!(
                #[doc(hidden)] #[allow(non_upper_case_globals)] const #s: usize = #start;
                #[doc(hidden)] #[allow(non_upper_case_globals)] const #e: usize = #end;
            )
        });
    quote!(#(#items)*)
}

fn module_len(model: &Model, i: usize) -> TokenStream {
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
pub(crate) fn reads_own_output(model: &Model, i: usize) -> bool {
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
fn split_slots(model: &Model, sched: &Schedule, i: usize, calls: TokenStream) -> TokenStream {
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
pub(crate) fn place(
    model: &Model,
    sched: &Schedule,
    i: usize,
    s: usize,
    delay: usize,
) -> TokenStream {
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

/// A user module's value: one per step inside the `unfold` block (each step keeps what its
/// bprop needs).
fn user_value(model: &Model, i: usize) -> TokenStream {
    let m = &model.modules[i];
    let field = &m.name;
    if m.step {
        quote!(self.#field[t])
    } else {
        quote!(self.#field)
    }
}

/// `, β` or `, margin` as a literal of the network's float: the last argument of a loss's kernels
/// (nothing for the losses without a number).
pub(crate) fn loss_param(model: &Model, loss: Loss) -> TokenStream {
    match loss.param() {
        None => quote!(),
        Some(v) => {
            let lit = match model.float {
                FloatTy::F32 => proc_macro2::Literal::f32_suffixed(v as f32),
                FloatTy::F64 => proc_macro2::Literal::f64_suffixed(v),
            };
            quote!(, #lit)
        }
    }
}

/// The steps `sum` gathers: all those run, or `a..b` of them.
pub(crate) fn sum_steps(m: &crate::check::ModuleM) -> TokenStream {
    match m.range {
        None => quote!(0..len),
        Some((a, None)) => quote!(#a..len),
        Some((a, Some(b))) => quote!(#a..len.min(#b)),
    }
}

/// The code of a network's three sweeps, each the part before the steps, one loop over the steps
/// and the part after, made from the code of one module's fprop and bprop (per sample here, per
/// minibatch in `batch`).
pub(crate) struct Sweeps {
    pub fprop: TokenStream,
    pub run: TokenStream,
    /// Backwards: after the steps, the steps in reverse, before them.
    pub bprop: TokenStream,
    /// The second-derivative sweep, in the same order as `bprop`.
    pub bbprop: TokenStream,
}

/// The calls of module `i` in a backward sweep of an order, given which of its arguments'
/// derivatives accumulate.
pub(crate) type BackwardStep = fn(&Model, &Schedule, usize, &[bool], Order) -> TokenStream;

/// [`Sweeps`] from the kernel calls `fprop` and `backward` (of either order) give for module `i`.
pub(crate) fn sweeps(
    model: &Model,
    sched: &Schedule,
    fprop: fn(&Model, &Schedule, usize) -> TokenStream,
    backward_step: BackwardStep,
) -> Sweeps {
    let fsteps = |ids: &[usize]| -> Vec<TokenStream> {
        ids.iter()
            .map(|&i| split_slots(model, sched, i, fprop(model, sched, i)))
            .collect()
    };
    let bsteps = |part: &crate::lower::Part, order: Order| -> Vec<TokenStream> {
        part.bprop
            .iter()
            .map(|b| {
                split_slots(
                    model,
                    sched,
                    b.module,
                    backward_step(model, sched, b.module, &b.accumulate, order),
                )
            })
            .collect()
    };
    let looped = |body: Vec<TokenStream>, rev: bool| -> TokenStream {
        match (body.is_empty(), rev) {
            (true, _) => quote!(),
            (false, false) => quote!(for t in 0..len { #(#body)* }),
            (false, true) => quote!(for t in (0..len).rev() { #(#body)* }),
        }
    };
    let forward = |pre: &[usize], step: &[usize], post: &[usize]| {
        let (pre, step, post) = (fsteps(pre), looped(fsteps(step), false), fsteps(post));
        quote!(#(#pre)* #step #(#post)*)
    };
    let backward = |order: Order| {
        let (post, steps, pre) = (
            bsteps(&sched.post, order),
            looped(bsteps(&sched.step, order), true),
            bsteps(&sched.pre, order),
        );
        quote!(#(#post)* #steps #(#pre)*)
    };
    Sweeps {
        fprop: forward(&sched.pre.fprop, &sched.step.fprop, &sched.post.fprop),
        run: forward(&sched.pre.run, &sched.step.run, &sched.post.run),
        bprop: backward(Order::First),
        bbprop: backward(Order::Second),
    }
}

fn fprop_step(model: &Model, sched: &Schedule, i: usize) -> TokenStream {
    let rt = rt();
    let f = float_tokens(model.float);
    let m = &model.modules[i];
    let s = |k: usize| place(model, sched, i, m.args[k], m.delays[k]);
    let o = place(model, sched, i, m.out, 0);
    let r = range(model, sched, i);
    match &m.kind {
        Kind::Linear { .. } => {
            let a = s(0);
            quote!(#rt::linear::#f::fprop(&params[#r], &#a.x, &mut #o.x);)
        }
        Kind::Act(act) => {
            let (a, k) = (s(0), format_ident!("{}", act.name()));
            quote!(#rt::#k::#f::fprop(&params[#r], &#a.x, &mut #o.x);)
        }
        Kind::Loss(loss) => {
            let (e, y) = (s(0), s(1));
            let (k, p) = (
                format_ident!("{}", loss.kernels()),
                loss_param(model, *loss),
            );
            quote!(#rt::loss::#k::#f::fprop(&#e.x, &#y.x, &mut #o.x #p);)
        }
        Kind::Euclidean => {
            let (a, b) = (s(0), s(1));
            quote!(#rt::euclidean::#f::fprop(&#a.x, &#b.x, &mut #o.x);)
        }
        Kind::Add => {
            let (a, b) = (s(0), s(1));
            let rest = (2..m.args.len()).map(|k| {
                let c = s(k);
                quote!(#rt::add::#f::fprop_acc(&#c.x, &mut #o.x);)
            });
            quote!(#rt::add::#f::fprop(&#a.x, &#b.x, &mut #o.x); #(#rest)*)
        }
        Kind::Sum => {
            let (e, k) = (&model.states[m.args[0]].name, sched.history[m.args[0]]);
            let steps = sum_steps(m);
            quote!(
                #o.x.fill(0.0);
                for t in #steps {
                    #rt::add::#f::fprop_acc(&self.#e.__slots[#k + t].x, &mut #o.x);
                }
            )
        }
        Kind::Last => {
            let (h, k) = (&model.states[m.args[0]].name, sched.history[m.args[0]]);
            quote!(#o.x = self.#h.__slots[#k + len - 1].x;)
        }
        Kind::User { path, .. } => {
            let a = s(0);
            let value = user_value(model, i);
            let t = user_module(model, i);
            let rt = quote_spanned!(path.span()=> ::bpnet::__private);
            quote_spanned!(path.span()=>
                #t::fprop(
                    &mut #value, #rt::cast(&params[#r]), #rt::cast(&#a.x),
                    #rt::cast_mut(&mut #o.x),
                );
            )
        }
        Kind::Broken => unreachable!("a broken module never passes check"),
    }
}

/// Whether the backward sweep leaves state `s`'s `dx` out when input gradients are off (the
/// `inputs` flag of `__bprop` is false): an input or a target, unless a learned initial value
/// gathers its `dx` (a parameter's gradient then depends on it).
pub(crate) fn skippable(model: &Model, sched: &Schedule, s: usize) -> bool {
    model.states[s].role != StateRole::Computed && sched.initial_offsets[s].is_none()
}

/// `call`, which only writes argument `k`'s `dx`, run only when input gradients are on if that
/// argument is an input or a target: the same tokens as before otherwise.
pub(crate) fn unless_skipped(
    model: &Model,
    sched: &Schedule,
    i: usize,
    k: usize,
    call: TokenStream,
) -> TokenStream {
    if skippable(model, sched, model.modules[i].args[k]) {
        quote!(if inputs { #call })
    } else {
        call
    }
}

/// A module with parameters: `full` (its argument's `dx` and its parameters' gradient), or, when
/// its argument is an input or a target and input gradients are off, `params` alone.
pub(crate) fn full_or_params(
    model: &Model,
    sched: &Schedule,
    i: usize,
    full: TokenStream,
    params: TokenStream,
) -> TokenStream {
    if skippable(model, sched, model.modules[i].args[0]) {
        quote!(if inputs { #full } else { #params })
    } else {
        full
    }
}

/// Which backward sweep: bprop (first derivatives: `dx`, the gradient pool, the kernels'
/// `bprop*`) or bbprop (diagonal Gauss–Newton second derivatives: `ddx`, the curvature pool, the
/// kernels' `bbprop*`). Both sweeps make the same calls on the same places; Add, Sum and Last pass
/// either derivative through unchanged, so they call the same kernels.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    First,
    Second,
}

impl Order {
    /// The state's slot: `dx` or `ddx`.
    pub(crate) fn slot(self) -> syn::Ident {
        match self {
            Order::First => format_ident!("dx"),
            Order::Second => format_ident!("ddx"),
        }
    }

    /// The pool the parameters' derivatives go into (a local of the sweep): `grads` or `ddgrads`.
    pub(crate) fn pool(self) -> syn::Ident {
        match self {
            Order::First => format_ident!("grads"),
            Order::Second => format_ident!("ddgrads"),
        }
    }

    /// A kernel of this sweep: `bprop{suffix}` or `bbprop{suffix}`.
    pub(crate) fn kernel(self, suffix: &str) -> syn::Ident {
        match self {
            Order::First => format_ident!("bprop{}", suffix),
            Order::Second => format_ident!("bbprop{}", suffix),
        }
    }

    /// A kernel of this sweep for energy module `i` (a Euclidean distance or a loss): in the
    /// second-order sweep, `bbprop{suffix}` when its value reaches the energy only linearly
    /// (it is part of the energy: its own Hessian), else `bbprop_inner{suffix}` (an ordinary
    /// module: its Jacobian squared, its own second derivatives dropped) — also for the output
    /// of a network without an energy, and for a value with both roles, whose network has no
    /// callable bbprop (see [`bbprop_bounds`]).
    pub(crate) fn energy_kernel(self, model: &Model, i: usize, suffix: &str) -> syn::Ident {
        if self == Order::Second && !is_part_of_energy(model, i) {
            format_ident!("bbprop_inner{}", suffix)
        } else {
            self.kernel(suffix)
        }
    }

    /// `__clear_dx` or `__clear_ddx`.
    pub(crate) fn clear(self) -> syn::Ident {
        format_ident!("__clear_{}", self.slot())
    }

    /// A user module's call: `<T as ::bpnet::Module>::bprop` or `<T as ::bpnet::Bbprop>::bbprop`,
    /// spanned on the user's type.
    pub(crate) fn user_call(self, model: &Model, i: usize) -> TokenStream {
        let Kind::User { path, .. } = &model.modules[i].kind else {
            unreachable!("only user modules are called through a trait")
        };
        let (ty, span) = (user_ty(model, i), path.span());
        match self {
            Order::First => quote_spanned!(span=> <#ty as ::bpnet::Module>::bprop),
            Order::Second => quote_spanned!(span=> <#ty as ::bpnet::Bbprop>::bbprop),
        }
    }
}

/// Whether energy module `i`'s value reaches the energy linearly only: it is then part of the
/// energy, and its bbprop starts from its own Hessian.
fn is_part_of_energy(model: &Model, i: usize) -> bool {
    model.energy_paths(model.modules[i].out) == (true, false)
}

/// In the second-order sweep, the `ddx` that module `i` (not a distance, loss, add, sum or last)
/// receives through the energy's seed: the energy is linear in a value it only adds up, so
/// Gauss–Newton gives that value no second derivative. The sweep then clears the module's output
/// `ddx` (all it holds is the seed) before the module's call, which so writes zeros into its
/// input's `ddx` and adds nothing into the curvature pool. (A value that is also read by another
/// module makes bbprop uncallable, see [`bbprop_bounds`].)
pub(crate) fn clears_seed(model: &Model, i: usize, order: Order) -> bool {
    let m = &model.modules[i];
    order == Order::Second
        && !matches!(
            m.kind,
            Kind::Euclidean | Kind::Loss(_) | Kind::Add | Kind::Sum | Kind::Last
        )
        && model.energy_paths(m.out) == (true, false)
}

/// Module `i`'s calls in a backward sweep of the given order.
fn backward_step(
    model: &Model,
    sched: &Schedule,
    i: usize,
    acc: &[bool],
    order: Order,
) -> TokenStream {
    let rt = rt();
    let f = float_tokens(model.float);
    let m = &model.modules[i];
    let s = |k: usize| place(model, sched, i, m.args[k], m.delays[k]);
    let o = place(model, sched, i, m.out, 0);
    let r = range(model, sched, i);
    let (dx, grads) = (order.slot(), order.pool());
    let kernel = |suffix: &str| match m.kind {
        Kind::Euclidean | Kind::Loss(_) => order.energy_kernel(model, i, suffix),
        _ => order.kernel(suffix),
    };
    let variant = |k: usize| kernel(if acc[k] { "_acc" } else { "" });
    let pass = |k: usize| format_ident!("{}", if acc[k] { "bprop_acc" } else { "bprop" });
    let params_only = order.kernel("_params");
    let clear = clears_seed(model, i, order).then(|| quote!(#o.#dx.fill(0.0);));
    let calls = match &m.kind {
        Kind::Linear { .. } => {
            let (a, v) = (s(0), variant(0));
            full_or_params(
                model,
                sched,
                i,
                quote!(#rt::linear::#f::#v(&params[#r], &#a.x, &#o.#dx, &mut #a.#dx, &mut #grads[#r]);),
                quote!(#rt::linear::#f::#params_only(&#a.x, &#o.#dx, &mut #grads[#r]);),
            )
        }
        Kind::Act(act) => {
            let (a, v, k) = (s(0), variant(0), format_ident!("{}", act.name()));
            full_or_params(
                model,
                sched,
                i,
                quote!(#rt::#k::#f::#v(&#o.x, &#o.#dx, &mut #a.#dx, &mut #grads[#r]);),
                quote!(#rt::#k::#f::#params_only(&#o.x, &#o.#dx, &mut #grads[#r]);),
            )
        }
        // dL/dE into the energies (every class), dL/dy into the target.
        Kind::Loss(loss) => {
            let (e, y) = (s(0), s(1));
            let (k, p) = (
                format_ident!("{}", loss.kernels()),
                loss_param(model, *loss),
            );
            let (ve, vy) = (
                variant(0),
                kernel(if acc[1] { "_target_acc" } else { "_target" }),
            );
            let calls = [
                quote!(#rt::loss::#k::#f::#ve(&#e.x, &#y.x, &#o.#dx, &mut #e.#dx #p);),
                quote!(#rt::loss::#k::#f::#vy(&#e.x, &#y.x, &#o.#dx, &mut #y.#dx #p);),
            ];
            let calls = calls
                .into_iter()
                .enumerate()
                .map(|(k, call)| unless_skipped(model, sched, i, k, call));
            quote!(#(#calls)*)
        }
        Kind::Euclidean => {
            let (a, b) = (s(0), s(1));
            let (va, vb) = (variant(0), variant(1));
            let calls = [
                quote!(#rt::euclidean::#f::#va(&#a.x, &#b.x, &#o.#dx, &mut #a.#dx);),
                quote!(#rt::euclidean::#f::#vb(&#b.x, &#a.x, &#o.#dx, &mut #b.#dx);),
            ];
            let calls = calls
                .into_iter()
                .enumerate()
                .map(|(k, call)| unless_skipped(model, sched, i, k, call));
            quote!(#(#calls)*)
        }
        Kind::Add => {
            let steps = (0..m.args.len()).map(|k| {
                let (a, v) = (s(k), pass(k));
                unless_skipped(
                    model,
                    sched,
                    i,
                    k,
                    quote!(#rt::add::#f::#v(&#o.#dx, &mut #a.#dx);),
                )
            });
            quote!(#(#steps)*)
        }
        // The gathered state's dx (ddx) was cleared before the sweep.
        Kind::Sum => {
            let (e, k) = (&model.states[m.args[0]].name, sched.history[m.args[0]]);
            let steps = sum_steps(m);
            unless_skipped(
                model,
                sched,
                i,
                0,
                quote!(
                    for t in #steps {
                        #rt::add::#f::bprop_acc(&#o.#dx, &mut self.#e.__slots[#k + t].#dx);
                    }
                ),
            )
        }
        Kind::Last => {
            let (h, k) = (&model.states[m.args[0]].name, sched.history[m.args[0]]);
            unless_skipped(
                model,
                sched,
                i,
                0,
                quote!(#rt::add::#f::bprop_acc(&#o.#dx, &mut self.#h.__slots[#k + len - 1].#dx);),
            )
        }
        Kind::User { path, .. } => {
            let a = s(0);
            let value = user_value(model, i);
            // A user module adds into dx; the first contribution starts from zero.
            let clear = (!acc[0]).then(|| quote!(#a.#dx.fill(0.0);));
            let call = order.user_call(model, i);
            let rt = quote_spanned!(path.span()=> ::bpnet::__private);
            quote_spanned!(path.span()=>
                #clear
                #call(
                    &mut #value, #rt::cast(&params[#r]), #rt::cast_mut(&mut #grads[#r]),
                    #rt::cast(&#a.x), #rt::cast(&#o.x), #rt::cast(&#o.#dx),
                    #rt::cast_mut(&mut #a.#dx),
                );
            )
        }
        Kind::Broken => unreachable!("a broken module never passes check"),
    };
    quote!(#clear #calls)
}

/// The rustdoc of `set_input_grads`, saying what applies to this network.
fn input_grads_doc(model: &Model, sched: &Schedule) -> String {
    let (sweeps, product) = (
        "`bprop` and `bprop_batch`",
        "`Wᵀ dy`; on a minibatch, the matrix product `dY W`",
    );
    let mut doc = format!(
        "Turns on or off the derivatives of the energy with respect to the inputs and targets: \
         the `dx` of the `input` and `target` states, in {sweeps}.\n\n\
         **Off by default** (as for data without `requires_grad` in PyTorch), because training \
         needs the parameters' gradients only, and a linear module reading an input would spend \
         as many multiply-adds on its dE/d(input) ({product}) as on its forward product: a \
         large share of a training step, for nothing.\n\n\
         Off, those `dx` are not computed and their contents are unspecified (left as last \
         written; zero if never computed), except that a user module or a nested network \
         reading an input still adds into that input's `dx`, because `Module::bprop` always \
         produces dE/d(input). The parameters' gradients and the other states' `dx` are the \
         same either way, bit for bit. On, every state's `dx` is computed."
    );
    let learned = model
        .states
        .iter()
        .enumerate()
        .any(|(i, st)| st.role != StateRole::Computed && sched.initial_offsets[i].is_some());
    if learned {
        doc += "\n\nAn input with a learned initial value (`initial x = learned`) has its `dx` \
                computed either way: that value's gradient gathers it.";
    }
    if model.module_input().is_some() {
        doc += "\n\nUsed as a module inside another network, this network always computes its \
                input's `dx` (the outer network needs dE/d(input)), whatever this switch says.";
    }
    doc
}

/// The Graphviz description: states as boxes, modules as ellipses.
fn dot(model: &Model) -> String {
    let mut out = format!("digraph \"{}\" {{\n  rankdir=LR;\n", plain(&model.name));
    for st in &model.states {
        let style = match st.role {
            StateRole::Input => ", style=filled, fillcolor=lightblue",
            StateRole::Target => ", style=filled, fillcolor=lightyellow",
            StateRole::Computed => "",
        };
        out += &format!(
            "  \"s_{n}\" [shape=box, label=\"{n} [{w}]\"{style}];\n",
            n = plain(&st.name),
            w = st.width
        );
    }
    for m in &model.modules {
        let detail = match &m.kind {
            Kind::Linear { out } => {
                format!("linear {}→{out}", model.states[m.args[0]].width)
            }
            Kind::Loss(l @ Loss::Nll { beta }) => format!("{} β={beta}", l.name()),
            Kind::Loss(l @ Loss::Hinge { margin }) => format!("{} m={margin}", l.name()),
            other => other.label(),
        };
        let n = plain(&m.name);
        out += &format!("  \"m_{n}\" [shape=ellipse, label=\"{n}\\n{detail}\"];\n");
        for (&a, &d) in m.args.iter().zip(&m.delays) {
            let delay = if d > 0 {
                format!(" [style=dashed, label=\"t-{d}\"]")
            } else {
                String::new()
            };
            out += &format!(
                "  \"s_{}\" -> \"m_{n}\"{delay};\n",
                plain(&model.states[a].name)
            );
        }
        out += &format!(
            "  \"m_{n}\" -> \"s_{}\";\n",
            plain(&model.states[m.out].name)
        );
    }
    out + "}\n"
}

/// The body of a backward sweep: the energy's seed, the gathering states cleared, the modules'
/// calls, and the learned initial values gathering what reached them before step 0.
fn backward_body(
    model: &Model,
    sched: &Schedule,
    order: Order,
    sweep: &TokenStream,
) -> TokenStream {
    let rt = rt();
    let f = float_tokens(model.float);
    let (dx, pool, clear) = (order.slot(), order.pool(), order.clear());
    // dE/dE = 1; as the Gauss–Newton weight of the energy, ddx = 1 too.
    let seed = model.energy.map(|e| {
        let e = &model.states[e].name;
        quote!(self.#e.#dx[0] = 1.0;)
    });
    let clears = model
        .states
        .iter()
        .enumerate()
        .filter(|(i, _)| sched.gather[*i])
        .map(|(_, st)| {
            let n = &st.name;
            if st.step {
                quote!(self.#n.#clear(len);)
            } else {
                quote!(self.#n.#dx.fill(0.0);)
            }
        });
    let learned = model.states.iter().enumerate().filter_map(|(i, st)| {
        let off = sched.initial_offsets[i].as_ref()?;
        let n = &st.name;
        let (a, b) = (
            offset_tokens(model, off, 0),
            offset_tokens(model, off, st.width),
        );
        let k = sched.history[i];
        Some(quote!(
            if !self.__continued {
                for j in 0..#k {
                    #rt::add::#f::bprop_acc(&self.#n.__slots[j].#dx, &mut #pool[#a..#b]);
                }
            }
        ))
    });
    quote!(#seed #(#clears)* #sweep #(#learned)*)
}

/// The public `bbprop`: from the energy of the last fprop, or, for a network without an energy,
/// from a given ∂²E/∂output².
fn bbprop_method(model: &Model, bounds: &TokenStream) -> Option<TokenStream> {
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
    // The length of the last fprop (unfolded), or the given ∂²E/∂output² (no energy).
    let (head, len, arg) = match (model.energy, model.output) {
        (Some(_), _) if unfolded => (
            quote!(let len = self.__len; if len == 0 { return; }),
            quote!(, len),
            quote!(),
        ),
        (Some(_), _) => (quote!(), quote!(), quote!()),
        (None, Some(o)) if !unfolded => {
            let (out, w) = (&model.states[o].name, model.states[o].width);
            doc = given;
            (
                quote!(self.#out.ddx = *dd_output;),
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
pub(crate) fn bbprop_bounds(model: &Model) -> TokenStream {
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
            Kind::Add | Kind::Sum | Kind::Last => None,
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

pub fn expand(model: &Model, sched: &Schedule) -> TokenStream {
    let rt = rt();
    let f = float_tokens(model.float);
    let name = &model.name;
    let vis = &model.vis;
    let attrs = &model.attrs;
    let total = offset_tokens(model, &sched.total, 0);
    let range_consts = range_consts(model, sched);
    // Named constants: every state's width, every module's place in the pool.
    let width_consts = model.states.iter().map(|st| {
        let c = format_ident!("{}_WIDTH", plain(&st.name).to_uppercase());
        let w = st.width;
        let doc = format!("Width of state `{}`.", plain(&st.name));
        quote!(#[doc = #doc] pub const #c: usize = #w;)
    });
    let place_consts = model.modules.iter().enumerate().filter(|(_, m)| {
        !matches!(m.kind, Kind::Add | Kind::Euclidean | Kind::Loss(_))
    }).map(|(i, m)| {
        let n = plain(&m.name);
        let (co, cl) = (
            format_ident!("{}_OFFSET", n.to_uppercase()),
            format_ident!("{}_LEN", n.to_uppercase()),
        );
        let off = offset_tokens(model, &sched.offsets[i], 0);
        let len = module_len(model, i);
        let (d1, d2) = (
            format!("Offset of module `{n}`'s parameters in the pool."),
            format!("Number of parameters of module `{n}`."),
        );
        quote!(#[doc = #d1] pub const #co: usize = #off; #[doc = #d2] pub const #cl: usize = #len;)
    });

    // Fields: one per state, one per user module, the pools.
    let role_of = |i: usize| -> (&str, TokenStream) {
        let st = &model.states[i];
        match st.role {
            StateRole::Input => ("input", quote!(Input)),
            StateRole::Target => ("target", quote!(Target)),
            StateRole::Computed if Some(i) == model.energy => ("energy", quote!(Energy)),
            StateRole::Computed if Some(i) == model.output => ("output", quote!(Output)),
            StateRole::Computed => ("hidden state", quote!(Hidden)),
        }
    };
    let state_fields = model.states.iter().enumerate().map(|(i, st)| {
        let (n, w, a) = (&st.name, st.width, &st.attrs);
        let made = match st.producer {
            Some(p) => format!(
                ", computed by module `{}` ({})",
                model.modules[p].name,
                model.modules[p].kind.label()
            ),
            None => String::new(),
        };
        if st.step {
            let doc = format!(
                "The {} `{n}`, width {w}{made}, at every step: `{n}[t]`.",
                role_of(i).0
            );
            quote!(#(#a)* #[doc = #doc] pub #n: ::bpnet::Steps<#f, #w>,)
        } else {
            let doc = format!("The {} `{n}`, width {w}{made}.", role_of(i).0);
            quote!(#(#a)* #[doc = #doc] pub #n: ::bpnet::State<#f, #w>,)
        }
    });
    // User modules: (module index, its type as written).
    let users: Vec<(usize, &syn::Path)> = model
        .modules
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match &m.kind {
            Kind::User { path, .. } => Some((i, path)),
            _ => None,
        })
        .collect();
    let aliases = users.iter().map(|&(i, p)| {
        let alias = user_ty(model, i);
        quote!(#[doc(hidden)] #[allow(non_camel_case_types)] #vis type #alias = #p;)
    });
    let user_fields = users.iter().map(|&(i, _)| {
        let n = &model.modules[i].name;
        let ty = user_ty(model, i);
        if model.modules[i].step {
            let doc = format!(
                "Module `{n}` at every step: its internal states (its parameters are in the pool)."
            );
            quote!(#[doc = #doc] pub #n: #rt::Vec<#ty>,)
        } else {
            let doc =
                format!("Module `{n}`: its internal states (its parameters are in the pool).");
            quote!(#[doc = #doc] pub #n: #ty,)
        }
    });
    let state_inits: Vec<TokenStream> = model
        .states
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let n = &st.name;
            if st.step {
                let (k, t) = (sched.history[i], model.steps.unwrap_or(1));
                quote!(#n: ::bpnet::Steps::new(#k, #t),)
            } else {
                quote!(#n: ::bpnet::State::new(),)
            }
        })
        .collect();
    let user_inits: Vec<TokenStream> = users
        .iter()
        .map(|&(i, _)| {
            let n = &model.modules[i].name;
            let create = user_item(model, i, "create");
            if model.modules[i].step {
                let t = model.steps.unwrap_or(1);
                quote_spanned!(create.span()=> #n: (0..#t).map(|_| #create()).collect(),)
            } else {
                quote_spanned!(create.span()=> #n: #create(),)
            }
        })
        .collect();

    // Compile-time checks of user modules, spanned on the user's type. The messages are built in
    // const items so that they name both sides: the declared width and the module's constant.
    let asserts = users.iter().map(|&(i, p)| {
        let m = &model.modules[i];
        let input = &model.states[m.args[0]];
        let output = &model.states[m.out];
        let ty = path_string(p);
        let t = user_module(model, i);
        let (wi, wo) = (input.width, output.width);
        let f_here = syn::Ident::new(&f.to_string(), p.span());
        let msg_in = format!(
            "module `{}` reads state `{}` of width {wi}, but `<{ty} as bpnet::Module>::IN` is ",
            m.name, input.name
        );
        let msg_out = format!(
            "module `{}` writes state `{}` of declared width {wo}, but `<{ty} as bpnet::Module>::OUT` is ",
            m.name, output.name
        );
        quote_spanned!(p.span()=>
            const _: () = {
                let found = #t::IN;
                if !#t::__BROKEN && found != #wi {
                    ::core::panic!("{}", #rt::Message::new().str(#msg_in).num(found).as_str());
                }
            };
            const _: () = {
                let found = #t::OUT;
                if !#t::__BROKEN && found != #wo {
                    ::core::panic!("{}", #rt::Message::new().str(#msg_out).num(found).as_str());
                }
            };
            const _: fn() = || {
                fn same_float<A: #rt::SameFloat<B>, B>() {}
                same_float::<#t::Float, #f_here>();
            };
        )
    });

    // The schedules.
    let Sweeps {
        fprop: fprop_body,
        run: run_body,
        bprop: sweep_b,
        bbprop: sweep_bb,
    } = sweeps(model, sched, fprop_step, backward_step);
    let bprop_body = backward_body(model, sched, Order::First, &sweep_b);
    let bbprop_body = backward_body(model, sched, Order::Second, &sweep_bb);
    let bounds = bbprop_bounds(model);
    let len_param = model.steps.map(|_| quote!(, len: usize));
    let inits = model.modules.iter().enumerate().filter_map(|(i, m)| {
        let r = range(model, sched, i);
        match &m.kind {
            Kind::Linear { .. } => {
                let fan_in = model.states[m.args[0]].width;
                Some(quote!(#rt::linear::#f::init(&mut params[#r], #fan_in, rng);))
            }
            Kind::User { path, .. } => {
                let t = user_module(model, i);
                let rt = quote_spanned!(path.span()=> ::bpnet::__private);
                Some(quote_spanned!(path.span()=> #t::init(#rt::cast_mut(&mut params[#r]), rng);))
            }
            // Biases start at zero.
            _ => None,
        }
    });

    // Descriptions.
    let module_infos = model.modules.iter().enumerate().map(|(i, m)| {
        let n = plain(&m.name);
        let kind = m.kind.label();
        let off = offset_tokens(model, &sched.offsets[i], 0);
        let len = module_len(model, i);
        let ins = m.args.iter().map(|&a| plain(&model.states[a].name));
        let out = plain(&model.states[m.out].name);
        let children = match &m.kind {
            Kind::User { .. } => user_item(model, i, "MODULES"),
            _ => quote!(&[]),
        };
        quote!(::bpnet::ModuleInfo {
            name: #n, kind: #kind, offset: #off, len: #len, inputs: &[#(#ins),*], output: #out,
            children: #children,
        })
    });
    let initial_infos: Vec<TokenStream> = model
        .states
        .iter()
        .enumerate()
        .filter_map(|(i, st)| {
            let off = sched.initial_offsets[i].as_ref()?;
            let n = format!("{}_initial", plain(&st.name));
            let out = plain(&st.name);
            let (o, w) = (offset_tokens(model, off, 0), st.width);
            Some(quote!(::bpnet::ModuleInfo {
                name: #n, kind: "initial", offset: #o, len: #w, inputs: &[], output: #out,
                children: &[],
            }))
        })
        .collect();
    let state_infos = model.states.iter().enumerate().map(|(i, st)| {
        let n = plain(&st.name);
        let w = st.width;
        let role = role_of(i).1;
        quote!(::bpnet::StateInfo { name: #n, width: #w, role: ::bpnet::Role::#role })
    });
    let dot = dot(model);

    // Per-module parameter accessors.
    let accessors = model
        .modules
        .iter()
        .enumerate()
        .filter(|(_, m)| !matches!(m.kind, Kind::Add | Kind::Euclidean | Kind::Loss(_)))
        .map(|(i, m)| {
            let r = range(model, sched, i);
            let (p, pm, g, gm, c) = (
                format_ident!("{}_params", plain(&m.name)),
                format_ident!("{}_params_mut", plain(&m.name)),
                format_ident!("{}_grads", plain(&m.name)),
                format_ident!("{}_grads_mut", plain(&m.name)),
                format_ident!("{}_curvature", plain(&m.name)),
            );
            let shape = match &m.kind {
                Kind::Linear { out } => format!(
                    "the weight matrix W, {out} × {} row-major",
                    model.states[m.args[0]].width
                ),
                Kind::Act(_) => "the biases B".to_string(),
                _ => "its parameters".to_string(),
            };
            let d1 = format!("Module `{}`'s slice of the pool: {shape}.", m.name);
            let d2 = format!("Module `{}`'s slice of the pool, to set it.", m.name);
            let d3 = format!("Module `{}`'s slice of the gradient pool.", m.name);
            let d4 = format!(
                "Module `{}`'s slice of the gradient pool, to edit before an update (zero it to \
                 freeze the module, clip it, …).",
                m.name
            );
            let d5 = format!(
                "Module `{}`'s slice of the curvature pool (see `bbprop`).",
                m.name
            );
            quote!(
                #[doc = #d5] #[track_caller]
                pub fn #c(&self) -> &[#f] { self.__own_pool(); &self.__ddgrads[#r] }
                #[doc = #d1] #[track_caller]
                pub fn #p(&self) -> &[#f] { self.__own_pool(); &self.__params[#r] }
                #[doc = #d2] #[track_caller]
                pub fn #pm(&mut self) -> &mut [#f] { self.__own_pool(); &mut self.__params[#r] }
                #[doc = #d3] #[track_caller]
                pub fn #g(&self) -> &[#f] { self.__own_pool(); &self.__grads[#r] }
                #[doc = #d4] #[track_caller]
                pub fn #gm(&mut self) -> &mut [#f] { self.__own_pool(); &mut self.__grads[#r] }
            )
        });

    let initial_accessors = model.states.iter().enumerate().filter_map(|(i, st)| {
        let off = sched.initial_offsets[i].as_ref()?;
        let n = plain(&st.name);
        let (a, b) = (
            offset_tokens(model, off, 0),
            offset_tokens(model, off, st.width),
        );
        let (p, pm, g, c) = (
            format_ident!("{}_initial_params", n),
            format_ident!("{}_initial_params_mut", n),
            format_ident!("{}_initial_grads", n),
            format_ident!("{}_initial_curvature", n),
        );
        let d1 = format!("The learned initial value of `{n}` (its value before step 0).");
        let d2 = format!("The learned initial value of `{n}`, to set it.");
        let d3 = format!("The gradient of the learned initial value of `{n}`.");
        let d4 = format!("The second derivatives of the learned initial value of `{n}` (bbprop).");
        Some(quote!(
            #[doc = #d1] pub fn #p(&self) -> &[#f] { &self.__params[#a..#b] }
            #[doc = #d2] pub fn #pm(&mut self) -> &mut [#f] { &mut self.__params[#a..#b] }
            #[doc = #d3] pub fn #g(&self) -> &[#f] { &self.__grads[#a..#b] }
            #[doc = #d4] pub fn #c(&self) -> &[#f] { &self.__ddgrads[#a..#b] }
        ))
    });

    // Inputs of fprop (inputs and targets) and of run (inputs only).
    let arg = |i: &usize| {
        let st = &model.states[*i];
        let (n, w) = (&st.name, st.width);
        (quote!(#n: &[#f; #w]), quote!(self.#n.x = *#n;))
    };
    let (given_args, given_copies): (Vec<_>, Vec<_>) = model.givens.iter().map(arg).unzip();
    let try_arg = |i: &usize| {
        let n = &model.states[*i].name;
        let s = plain(n);
        (
            quote!(#n: impl ::bpnet::Input<#f>),
            quote!(#rt::load(#s, &#n, &mut self.#n.x)?;),
        )
    };
    let (try_given_args, try_given_loads): (Vec<_>, Vec<_>) =
        model.givens.iter().map(try_arg).unzip();
    let inputs: Vec<usize> = model
        .givens
        .iter()
        .copied()
        .filter(|&g| model.states[g].role == StateRole::Input)
        .collect();
    let (run_args, run_copies): (Vec<_>, Vec<_>) = inputs.iter().map(arg).unzip();
    let (try_run_args, try_run_loads): (Vec<_>, Vec<_>) = inputs.iter().map(try_arg).unzip();

    let unfolded = model.steps.is_some();
    let run = model.output.filter(|_| !unfolded).map(|o| {
        let out = &model.states[o].name;
        let w = model.states[o].width;
        let doc = format!(
            "Inference (the lecture's `run`): computes the output `{out}` from the inputs alone."
        );
        let try_doc =
            "[`Self::run`] for data whose widths are only known at run time: a wrong width or a \
             NaN gives an [`Error`](::bpnet::Error) instead of a panic."
                .to_string();
        quote!(
            #[doc = #doc]
            #[allow(clippy::too_many_arguments)]
            #[track_caller]
            pub fn run(&mut self, #(#run_args),*) -> &[#f; #w] {
                self.__own_pool();
                #(#run_copies)*
                let params = ::core::mem::take(&mut self.__params);
                self.__run(&params);
                self.__params = params;
                &self.#out.x
            }

            #[doc = #try_doc]
            #[allow(clippy::too_many_arguments)]
            #[track_caller]
            pub fn try_run(&mut self, #(#try_run_args),*) -> #rt::Result<&[#f; #w], ::bpnet::Error> {
                self.__own_pool();
                #(#try_run_loads)*
                let params = ::core::mem::take(&mut self.__params);
                self.__run(&params);
                self.__params = params;
                #rt::Result::Ok(&self.#out.x)
            }
        )
    });

    let train = match (model.energy, model.output) {
        _ if unfolded => Some(crate::unfold::api(model, sched)),
        (Some(e), _) => {
            let e = &model.states[e].name;
            let doc = "fprop: loads a sample (inputs and targets), computes every state and returns the energy.";
            Some(quote!(
                #[doc = #doc]
                #[allow(clippy::too_many_arguments)]
                #[track_caller]
                pub fn fprop(&mut self, #(#given_args),*) -> #f {
                    self.__own_pool();
                    #(#given_copies)*
                    let params = ::core::mem::take(&mut self.__params);
                    self.__fprop(&params);
                    self.__params = params;
                    self.#e.x[0]
                }

                /// [`Self::fprop`] for data whose widths are only known at run time: a wrong width
                /// or a NaN gives an [`Error`](::bpnet::Error) instead of a panic.
                #[allow(clippy::too_many_arguments)]
                #[track_caller]
                pub fn try_fprop(&mut self, #(#try_given_args),*) -> #rt::Result<#f, ::bpnet::Error> {
                    self.__own_pool();
                    #(#try_given_loads)*
                    let params = ::core::mem::take(&mut self.__params);
                    self.__fprop(&params);
                    self.__params = params;
                    #rt::Result::Ok(self.#e.x[0])
                }

                /// bprop: dE/d(every computed state) into its `dx`, and dE/d(parameters)
                /// **added** into the gradient pool (call [`Self::zero_grad`] between updates).
                /// Uses the last fprop. The `dx` of the inputs and targets only with
                /// [`Self::set_input_grads`] on (off by default).
                #[track_caller]
                pub fn bprop(&mut self) {
                    self.__own_pool();
                    let params = ::core::mem::take(&mut self.__params);
                    let mut grads = ::core::mem::take(&mut self.__grads);
                    self.__bprop(&params, &mut grads, self.__input_grads);
                    self.__params = params;
                    self.__grads = grads;
                }

                /// The energy computed by the last fprop.
                pub fn energy(&self) -> #f {
                    self.#e.x[0]
                }
            ))
        }
        (None, Some(o)) => {
            let out = &model.states[o].name;
            let w = model.states[o].width;
            Some(quote!(
                /// bprop from a given dE/d(output): every computed state's `dx`, and the
                /// parameter gradients **added** into the gradient pool. Uses the last
                /// [`Self::run`]. The input's `dx` only with [`Self::set_input_grads`] on (off by
                /// default).
                #[track_caller]
                pub fn bprop(&mut self, d_output: &[#f; #w]) {
                    self.__own_pool();
                    self.#out.dx = *d_output;
                    let params = ::core::mem::take(&mut self.__params);
                    let mut grads = ::core::mem::take(&mut self.__grads);
                    self.__bprop(&params, &mut grads, self.__input_grads);
                    self.__params = params;
                    self.__grads = grads;
                }
            ))
        }
        (None, None) => None,
    };

    let network_impl = model.energy.map(|_| {
        quote!(
            impl ::bpnet::Network for #name {
                type Float = #f;
                const PARAMS: usize = #name::PARAMS;
                const MODULES: &'static [::bpnet::ModuleInfo] = #name::MODULES;
                const STATES: &'static [::bpnet::StateInfo] = #name::STATES;
                fn params(&self) -> &[#f] { &self.__params }
                fn params_mut(&mut self) -> &mut [#f] { &mut self.__params }
                fn grads(&self) -> &[#f] { &self.__grads }
                fn energy(&self) -> #f { #name::energy(self) }
                fn zero_grad(&mut self) { #name::zero_grad(self) }
                fn bprop(&mut self) { #name::bprop(self) }
                fn sgd_step(&mut self, lr: #f) { #name::sgd_step(self, lr) }
                fn set_input_grads(&mut self, on: bool) { #name::set_input_grads(self, on) }
                fn input_grads(&self) -> bool { #name::input_grads(self) }
            }
        )
    });

    let second_order_impl = model.energy.map(|_| {
        quote!(
            impl ::bpnet::SecondOrder for #name #bounds {
                fn bbprop(&mut self) { #name::bbprop(self) }
                fn curvature(&self) -> &[#f] { &self.__ddgrads }
                fn zero_curvature(&mut self) { #name::zero_curvature(self) }
            }
        )
    });
    let bbprop_method = bbprop_method(model, &bounds);

    let bname = format_ident!("{}Batch", name);
    let (batch_item, batch_methods) = crate::batch::batch(model, sched);
    let (unfolded_fields, unfolded_inits) = match model.steps {
        Some(_) => (
            quote!(__len: usize, __continued: bool,),
            quote!(__len: 0, __continued: false,),
        ),
        None => (quote!(), quote!()),
    };
    let module_impl = model.module_input().map(|i| {
        let input = &model.states[i].name;
        let (wi, o) = (model.states[i].width, model.output.expect("a module network has an output"));
        let (out, wo) = (&model.states[o].name, model.states[o].width);
        quote!(
            impl ::bpnet::Module for #name {
                type Float = #f;
                const IN: usize = #wi;
                const OUT: usize = #wo;
                const PARAMS: usize = #name::PARAMS;
                const MODULES: &'static [::bpnet::ModuleInfo] = #name::MODULES;
                fn create() -> Self {
                    Self {
                        #(#state_inits)* #(#user_inits)*
                        __params: #rt::Vec::new(), __grads: #rt::Vec::new(),
                        __ddgrads: #rt::Vec::new(),
                        __input_grads: false,
                        __batch: #bname::__new(0), __batch_rows: 0,
                        #unfolded_inits
                    }
                }
                fn init<R: #rt::Rng + ?Sized>(params: &mut [#f], rng: &mut R) {
                    Self::__init(params, rng)
                }
                fn fprop(&mut self, params: &[#f], input: &[#f], output: &mut [#f]) {
                    self.#input.x.copy_from_slice(input);
                    self.__fprop(params);
                    output.copy_from_slice(&self.#out.x);
                }
                fn bprop(&mut self, params: &[#f], grads: &mut [#f], _input: &[#f], _output: &[#f], doutput: &[#f], dinput: &mut [#f]) {
                    self.#out.dx.copy_from_slice(doutput);
                    // The outer network reads dE/d(input): computed whatever the switch says.
                    self.__bprop(params, grads, true);
                    #rt::add::#f::bprop_acc(&self.#input.dx, dinput);
                }
            }

            impl ::bpnet::Bbprop for #name #bounds {
                fn bbprop(&mut self, params: &[#f], ddparams: &mut [#f], _input: &[#f], _output: &[#f], ddoutput: &[#f], ddinput: &mut [#f]) {
                    self.#out.ddx.copy_from_slice(ddoutput);
                    self.__bbprop(params, ddparams, true);
                    #rt::add::#f::bprop_acc(&self.#input.ddx, ddinput);
                }
            }
        )
    });

    let set_input_grads_doc = input_grads_doc(model, sched);

    let struct_doc = format!(
        "\n\nGenerated by `network!`: {} states, {} modules, parameters pooled in one vector of \
         [`{name}::PARAMS`] values.",
        model.states.len(),
        model.modules.len()
    );

    quote!(
        #(#attrs)*
        #[doc = #struct_doc]
        #vis struct #name {
            #(#state_fields)*
            #(#user_fields)*
            __params: #rt::Vec<#f>,
            __grads: #rt::Vec<#f>,
            __ddgrads: #rt::Vec<#f>,
            __input_grads: bool,
            __batch: #bname,
            __batch_rows: usize,
            #unfolded_fields
        }

        #(#aliases)*
        #(#asserts)*

        impl #name {
            #range_consts

            /// Number of parameters in the pool.
            pub const PARAMS: usize = #total;
            #(#width_consts)*
            #(#place_consts)*
            /// Every module: name, kind, place in the pool, wiring.
            pub const MODULES: &'static [::bpnet::ModuleInfo] =
                &[#(#module_infos,)* #(#initial_infos),*];
            /// Every state: name, width, role.
            pub const STATES: &'static [::bpnet::StateInfo] = &[#(#state_infos),*];
            /// The graph in Graphviz DOT: states as boxes, modules as ellipses.
            pub const DOT: &'static str = #dot;

            /// A network with fan-in scaled uniform weights (biases zero), deterministic for a
            /// seeded `rng`. The states and both pools are allocated here, once.
            pub fn new<R: #rt::Rng + ?Sized>(rng: &mut R) -> Self {
                let mut params = #rt::zeroed::<#f>(Self::PARAMS);
                Self::__init(&mut params, rng);
                Self {
                    #(#state_inits)*
                    #(#user_inits)*
                    __params: params,
                    __grads: #rt::zeroed::<#f>(Self::PARAMS),
                    __ddgrads: #rt::zeroed::<#f>(Self::PARAMS),
                    __input_grads: false,
                    __batch: #bname::__new(0),
                    __batch_rows: 0,
                    #unfolded_inits
                }
            }

            /// A network used as a module inside another has no pool of its own (its parameters
            /// are in the outer network's): its own entry points are then a programming error.
            #[track_caller]
            #[inline]
            fn __own_pool(&self) {
                if Self::PARAMS > 0 && self.__params.is_empty() {
                    ::core::panic!(
                        "{} is used as a module inside another network: its parameters are in that \
                         network's pool, so call that network (or use the module through `bpnet::Module`)",
                        ::core::stringify!(#name)
                    );
                }
            }

            #[allow(unused_variables)]
            fn __init<R: #rt::Rng + ?Sized>(params: &mut [#f], rng: &mut R) { #(#inits)* }

            #[allow(unused_variables)]
            fn __fprop(&mut self, params: &[#f] #len_param) { #fprop_body }

            #[allow(unused_variables)]
            fn __run(&mut self, params: &[#f] #len_param) { #run_body }

            #[allow(unused_variables)]
            fn __bprop(&mut self, params: &[#f], grads: &mut [#f], inputs: bool #len_param) {
                #bprop_body
            }

            #[allow(unused_variables)]
            fn __bbprop(&mut self, params: &[#f], ddgrads: &mut [#f], inputs: bool #len_param) #bounds {
                #bbprop_body
            }

            #run
            #train

            #[doc = #set_input_grads_doc]
            pub fn set_input_grads(&mut self, on: bool) {
                self.__input_grads = on;
            }

            /// Whether the backward sweep computes the `dx` of the inputs and targets (see
            /// [`Self::set_input_grads`]); `false` unless turned on.
            pub fn input_grads(&self) -> bool {
                self.__input_grads
            }

            /// Sets every gradient in the pool to zero.
            pub fn zero_grad(&mut self) {
                // A length known at compile time: a small pool is cleared with a few vector
                // stores the next bprop's loads are forwarded from, where a call to `memset`
                // stalled them (a 2-8-1 net's step took 30% longer).
                if let ::core::option::Option::Some(g) = self.__grads.get_mut(..Self::PARAMS) {
                    g.fill(0.0);
                }
            }

            /// One plain gradient-descent update of the whole pool: `w −= lr · dE/dw`.
            pub fn sgd_step(&mut self, lr: #f) {
                #rt::pool::#f::sgd_step(&mut self.__params, &self.__grads, lr);
            }

            /// All parameters, pooled in one vector (layout: [`Self::MODULES`]).
            pub fn params(&self) -> &[#f] { &self.__params }
            /// All parameters, to set or update them.
            pub fn params_mut(&mut self) -> &mut [#f] { &mut self.__params }
            /// All gradients, same layout as [`Self::params`].
            pub fn grads(&self) -> &[#f] { &self.__grads }
            /// All gradients, to edit them before an update.
            pub fn grads_mut(&mut self) -> &mut [#f] { &mut self.__grads }
            /// The curvature pool: the diagonal second derivatives that bbprop adds up, same
            /// layout as [`Self::params`].
            pub fn curvature(&self) -> &[#f] { &self.__ddgrads }
            /// The curvature pool, to edit it.
            pub fn curvature_mut(&mut self) -> &mut [#f] { &mut self.__ddgrads }
            /// Sets every second derivative in the curvature pool to zero.
            pub fn zero_curvature(&mut self) {
                if let ::core::option::Option::Some(g) = self.__ddgrads.get_mut(..Self::PARAMS) {
                    g.fill(0.0);
                }
            }

            #bbprop_method

            #(#accessors)*
            #(#initial_accessors)*
            #batch_methods
        }

        #batch_item

        #network_impl
        #second_order_impl
        #module_impl
    )
}
