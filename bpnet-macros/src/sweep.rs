//! One generator for the schedules of both forms: a network's fprop, run, bprop and bbprop
//! bodies, per sample (on its `State`s) or per minibatch (on its batch's `Batch`es). Each is the
//! part before the steps, one loop over the steps and the part after, made of every module's
//! calls: its kind's (`Op::fprop`, `Op::backward`) or a user module's.

use crate::emit::{Cx, Form, clears_seed, offset_tokens, slot, split_slots};
use crate::lower::{Part, Schedule};
use crate::model::{Kind, Model, float_tokens};
use crate::op::{Order, Sites};
use proc_macro2::{Group, Ident, TokenStream, TokenTree};
use quote::{format_ident, quote};

/// The bodies of a network's sweeps in one form.
pub struct Sweeps {
    pub fprop: TokenStream,
    pub run: TokenStream,
    /// Backwards: the energy's seed, after the steps, the steps in reverse, before them.
    pub bprop: TokenStream,
    /// The second-derivative sweep, in the same order as `bprop`.
    pub bbprop: TokenStream,
    /// `train_sgd`'s (or `train_sgd_batch`'s) backward sweep: `bprop` with each module's
    /// parameters moved against their gradient as soon as it is known (outside `unfold`; empty
    /// otherwise).
    pub sgd: TokenStream,
}

pub fn sweeps(model: &Model, sched: &Schedule, form: Form) -> Sweeps {
    let fsteps = |ids: &[usize]| -> Vec<TokenStream> {
        let finished = finished_pairs(model, sched, ids, form);
        ids.iter()
            .filter(|i| !finished.iter().any(|(_, j, _)| j == *i))
            .map(|&i| {
                let calls = match finished.iter().find(|(p, _, _)| *p == i) {
                    Some((_, _, calls)) => calls.clone(),
                    None => fprop_step(model, sched, i, form, false),
                };
                split_slots(model, sched, i, calls)
            })
            .collect()
    };
    let bsteps = |part: &Part, order: Order| -> Vec<TokenStream> {
        part.bprop
            .iter()
            .map(|b| {
                let calls = backward_step(model, sched, b.module, &b.accumulate, order, form);
                split_slots(model, sched, b.module, calls)
            })
            .collect()
    };
    // Every parameter's gradient is whole once its module's backward calls are done: outside
    // `unfold`, each module runs once and no two share parameters.
    let sgd = model.steps.is_none().then(|| {
        let parts = [&sched.post, &sched.step, &sched.pre];
        let steps = parts.into_iter().flat_map(|p| &p.bprop).map(|b| {
            let calls = sgd_step(model, sched, b.module, &b.accumulate, form);
            split_slots(model, sched, b.module, calls)
        });
        backward_body(model, sched, Order::First, form, quote!(#(#steps)*))
    });
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
        backward_body(model, sched, order, form, quote!(#(#post)* #steps #(#pre)*))
    };
    Sweeps {
        fprop: forward(&sched.pre.fprop, &sched.step.fprop, &sched.post.fprop),
        run: forward(&sched.pre.run, &sched.step.run, &sched.post.run),
        bprop: backward(Order::First),
        bbprop: backward(Order::Second),
        sgd: sgd.unwrap_or_default(),
    }
}

/// The `run` body of the inference form (`NameFrozen`): per sample, one step per call on an
/// unfolded network (`len` is 1, and modules gathering the steps add this step's term to what
/// the previous calls gathered: [`crate::op::Sites::streamed`]).
pub fn streamed_run(model: &Model, sched: &Schedule) -> TokenStream {
    let steps = |ids: &[usize]| -> Vec<TokenStream> {
        ids.iter()
            .map(|&i| {
                let calls = fprop_step(model, sched, i, Form::Sample, true);
                split_slots(model, sched, i, calls)
            })
            .collect()
    };
    let (pre, step, post) = (
        steps(&sched.pre.run),
        looped(steps(&sched.step.run), false),
        steps(&sched.post.run),
    );
    quote!(#(#pre)* #step #(#post)*)
}

/// The steps' calls in one loop over `t` (backwards for a backward sweep).
fn looped(body: Vec<TokenStream>, rev: bool) -> TokenStream {
    match (body.is_empty(), rev) {
        (true, _) => quote!(),
        (false, false) => quote!(for t in 0..len { #(#body)* }),
        (false, true) => quote!(for t in (0..len).rev() { #(#body)* }),
    }
}

fn fprop_step(model: &Model, sched: &Schedule, i: usize, form: Form, stream: bool) -> TokenStream {
    match &model.modules[i].kind {
        Kind::Op(op) => op.fprop(&Cx {
            model,
            sched,
            i,
            form,
            order: Order::First,
            slots: Order::First,
            stream,
        }),
        Kind::User { .. } => crate::user::fprop(model, sched, i, form),
        Kind::Broken => quote!(),
    }
}

/// On a minibatch without `unfold`: the matrix products whose only reader finishes them
/// ([`crate::op::Op::finisher`]), as `(product, reader, the product's fprop with the reader's
/// applied as it stores)`. The reader's own fprop is then left out: it reads nothing else, so its
/// output computed earlier than its turn is the same.
fn finished_pairs(
    model: &Model,
    sched: &Schedule,
    ids: &[usize],
    form: Form,
) -> Vec<(usize, usize, TokenStream)> {
    if form != Form::Batch || model.steps.is_some() {
        return Vec::new();
    }
    let cx = |i| Cx {
        model,
        sched,
        i,
        form,
        order: Order::First,
        slots: Order::First,
        stream: false,
    };
    let mut pairs: Vec<(usize, usize, TokenStream)> = Vec::new();
    for &i in ids {
        let Some(product) = model.modules[i].kind.op() else {
            continue;
        };
        let out = model.modules[i].out;
        let reader = ids.iter().copied().find(|&j| {
            let m = &model.modules[j];
            m.args == [out] && m.delays == [0] && !pairs.iter().any(|(_, r, _)| *r == j)
        });
        let Some(j) = reader else { continue };
        let Some(finish) = model.modules[j]
            .kind
            .op()
            .and_then(|op| op.finisher(&cx(j)))
        else {
            continue;
        };
        let (r, target) = (cx(j), cx(j).out());
        if let Some(calls) = product.fprop_finished(&cx(i), r.x_mut(&target), finish) {
            pairs.push((i, j, calls));
        }
    }
    pairs
}

/// Module `i`'s calls in a backward sweep of the given order.
fn backward_step(
    model: &Model,
    sched: &Schedule,
    i: usize,
    acc: &[bool],
    order: Order,
    form: Form,
) -> TokenStream {
    // In bbprop, a linear module that is part of the energy passes the energy's weights back
    // with its first-order coefficients (see `Op::linear`).
    let linear_term = order == Order::Second
        && model.modules[i].kind.linear()
        && crate::emit::is_part_of_energy(model, i);
    let cx = Cx {
        model,
        sched,
        i,
        form,
        order: if linear_term { Order::First } else { order },
        slots: order,
        stream: false,
    };
    let clear = clears_seed(model, i, order).then(|| {
        let o = cx.out();
        match form {
            Form::Sample => {
                let d = slot(order);
                quote!(#o.#d.fill(0.0);)
            }
            Form::Batch => {
                let d = cx.d_mut(&o);
                quote!(#d.fill(0.0);)
            }
        }
    });
    let calls = match &model.modules[i].kind {
        Kind::Op(op) => op.backward(&cx, acc),
        Kind::User { .. } => crate::user::backward(model, sched, i, acc, order, form),
        Kind::Broken => quote!(),
    };
    quote!(#clear #calls)
}

/// Module `i`'s calls in `train_sgd`'s backward sweep: its kind's fused kernels, or its bprop
/// calls into its range of the gradient pool, zeroed first, then a step on that range.
fn sgd_step(model: &Model, sched: &Schedule, i: usize, acc: &[bool], form: Form) -> TokenStream {
    let cx = Cx {
        model,
        sched,
        i,
        form,
        order: Order::First,
        slots: Order::First,
        stream: false,
    };
    // (A first-order sweep clears no seed: `backward_step`'s clearing is bbprop's.)
    if let Kind::Op(op) = &model.modules[i].kind
        && let Some(calls) = op.backward_sgd(&cx, acc)
    {
        return calls;
    }
    let calls = backward_step(model, sched, i, acc, Order::First, form);
    let has_params = matches!(model.modules[i].kind, Kind::User { .. })
        || model.builtin_params(&model.modules[i]).unwrap_or(0) > 0;
    if !has_params {
        return calls;
    }
    let (r, rt, f) = (cx.range(), crate::emit::rt(), float_tokens(model.float));
    quote!(
        grads[#r].fill(-0.0);
        #calls
        #rt::pool::#f::sgd_step(&mut params[#r], &grads[#r], lr);
    )
}

/// The body of a backward sweep: the energy's seed (every row's on a minibatch), the gathering
/// states cleared, the modules' calls, and the learned initial values gathering what reached them
/// before step 0.
fn backward_body(
    model: &Model,
    sched: &Schedule,
    order: Order,
    form: Form,
    sweep: TokenStream,
) -> TokenStream {
    let d = slot(order);
    let clear = format_ident!("__clear_{}", d);
    // dE/dE = 1; as the Gauss–Newton weight of the energy, ddx = 1 too.
    let seed = model.energy.map(|e| {
        let e = &model.states[e].name;
        match (form, order) {
            (Form::Sample, _) => quote!(self.#e.#d[0] = 1.0;),
            (Form::Batch, Order::First) => quote!(self.#e.__seed(rows);),
            (Form::Batch, Order::Second) => quote!(self.#e.__seed_dd(rows);),
        }
    });
    let clears = model
        .states
        .iter()
        .enumerate()
        .filter(|(i, _)| sched.gather[*i])
        .map(|(_, st)| {
            let n = &st.name;
            match (form, st.step) {
                (Form::Sample, true) => quote!(self.#n.#clear(len);),
                (Form::Sample, false) => quote!(self.#n.#d.fill(0.0);),
                (Form::Batch, true) => quote!(self.#n.#clear(len, rows);),
                (Form::Batch, false) => quote!(self.#n.#clear(rows);),
            }
        });
    let learned = model.states.iter().enumerate().filter_map(|(i, st)| {
        let off = sched.initial_offsets[i].as_ref()?;
        let n = &st.name;
        let (a, b) = (
            offset_tokens(model, off, 0),
            offset_tokens(model, off, st.width),
        );
        let pool = crate::emit::pool(order);
        let gather = match form {
            Form::Sample => {
                let (rt, f, k) = (
                    crate::emit::rt(),
                    float_tokens(model.float),
                    sched.history[i],
                );
                quote!(
                    for j in 0..#k {
                        #rt::add::#f::bprop_acc(&self.#n.__slots[j].#d, &mut #pool[#a..#b]);
                    }
                )
            }
            Form::Batch => {
                let g = match order {
                    Order::First => format_ident!("__initial_grad"),
                    Order::Second => format_ident!("__initial_ddgrad"),
                };
                quote!(self.#n.#g(rows, &mut #pool[#a..#b]);)
            }
        };
        Some(quote!(
            if !self.__continued {
                #gather
            }
        ))
    });
    quote!(#seed #(#clears)* #sweep #(#learned)*)
}

/// A per-sample sweep over local copies of the states, for small networks without `unfold` (see
/// [`crate::limits::LOCAL_STATES`]): copies of every state's `x` and `dx` in, `body` with each
/// `self.<state>` read as its copy, and the copies written back. None for other networks.
pub fn on_locals(model: &Model, body: TokenStream) -> Option<TokenStream> {
    let total: usize = model.states.iter().map(|s| s.width).sum();
    if model.steps.is_some() || total > crate::limits::LOCAL_STATES {
        return None;
    }
    let names: Vec<&Ident> = model.states.iter().map(|s| &s.name).collect();
    let locals: Vec<Ident> = names.iter().map(|n| local_name(n)).collect();
    let widths = model.states.iter().map(|s| s.width);
    let f = float_tokens(model.float);
    let body = rename_states(body, &names, local_name);
    Some(quote!(
        #(
            let mut #locals = ::bpnet::State::<#f, #widths>::new();
            (#locals.x, #locals.dx) = (self.#names.x, self.#names.dx);
        )*
        #body
        #(
            self.#names.x = #locals.x;
            self.#names.dx = #locals.dx;
        )*
    ))
}

/// The inference form's sweep over local copies of the values of `states` (the ones it keeps),
/// for a small network without `unfold`, as [`on_locals`]: the values copied in, `body` on the
/// copies, the copies written back. None for other networks.
pub fn on_value_locals(model: &Model, states: &[usize], body: TokenStream) -> Option<TokenStream> {
    let total: usize = states.iter().map(|&s| model.states[s].width).sum();
    if model.steps.is_some() || total > crate::limits::LOCAL_STATES {
        return None;
    }
    let names: Vec<&Ident> = states.iter().map(|&s| &model.states[s].name).collect();
    let locals: Vec<Ident> = names.iter().map(|n| local_name(n)).collect();
    let body = rename_states(body, &names, local_name);
    Some(quote!(
        #( let mut #locals = ::core::clone::Clone::clone(&self.#names); )*
        #body
        #( self.#names = #locals; )*
    ))
}

/// The local copy of state `n`.
fn local_name(n: &Ident) -> Ident {
    format_ident!("__local_{}", n)
}

/// A minibatch sweep that reads the inputs and targets where the caller keeps them: each given
/// state `n` is a `Given` (the caller's rows, the batch's `dx`) bound to `__given_n` from the
/// sweep's argument `__rows_n`, and `body` reads `self.n` as `__given_n`.
pub fn on_givens(model: &Model, body: TokenStream) -> TokenStream {
    let names: Vec<&Ident> = model
        .givens
        .iter()
        .map(|&g| &model.states[g].name)
        .collect();
    let givens: Vec<Ident> = names.iter().map(|n| given_name(n)).collect();
    let rows: Vec<Ident> = names
        .iter()
        .map(|n| format_ident!("__rows_{}", n))
        .collect();
    let body = rename_states(body, &names, given_name);
    quote!(
        #(
            let #givens = ::bpnet::__private::Given { x: #rows, dx: &mut self.#names.dx };
        )*
        #body
    )
}

/// The borrowed rows of given state `n` in a minibatch sweep.
fn given_name(n: &Ident) -> Ident {
    format_ident!("__given_{}", n)
}

/// `tokens` with every `self.<n>`, for `n` in `names`, replaced by `to(n)`, at any depth.
fn rename_states(tokens: TokenStream, names: &[&Ident], to: fn(&Ident) -> Ident) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        if let [
            TokenTree::Ident(me),
            TokenTree::Punct(dot),
            TokenTree::Ident(n),
            ..,
        ] = &trees[i..]
            && me == "self"
            && dot.as_char() == '.'
            && names.contains(&n)
        {
            let mut local = to(n);
            local.set_span(n.span());
            out.push(TokenTree::Ident(local));
            i += 3;
            continue;
        }
        out.push(match &trees[i] {
            TokenTree::Group(g) => {
                let mut inner = Group::new(g.delimiter(), rename_states(g.stream(), names, to));
                inner.set_span(g.span());
                TokenTree::Group(inner)
            }
            other => other.clone(),
        });
        i += 1;
    }
    out.into_iter().collect()
}
