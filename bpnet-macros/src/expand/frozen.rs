//! The inference form, `NameFrozen<'p>`: the network over borrowed parameters
//! (`&'p [F; Name::PARAMS]`, a `static` compiled into the program or a trained network's pool),
//! with the values of the states `run` computes and nothing else, so that it needs neither std nor
//! a heap. Its sweep is the training network's `run` sweep, token for token: the same kernels in
//! the same order, so the same bits. An unfolded network runs one step per call (`run_step`), its
//! recurrent states kept in the value between calls.

use crate::emit::{entry_name, many_args, offset_tokens, param, plain, rt};
use crate::lower::Schedule;
use crate::model::{InitialM, Model, StateRole, float_tokens};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Build;

/// The struct `NameFrozen` and its methods, and the constructors that go in `Name`'s impl:
/// `frozen` (from any parameters of the right length) and, with std, `freeze` (from the
/// network's own). None for a network without an output (nothing to run).
pub fn frozen(model: &Model, sched: &Schedule, build: Build) -> Option<(TokenStream, TokenStream)> {
    model.output?;
    let (f, rt, name) = (float_tokens(model.float), rt(), &model.name);
    let fname = format_ident!("{}Frozen", name);
    let used = used_states(model, sched);
    let (fields, inits) = fields(model, sched, &used);
    let run = crate::sweep::streamed_run(model, sched);
    // A small network's values in locals during the sweep, which nothing else can reach.
    let kept: Vec<usize> = (0..model.states.len()).filter(|&i| used[i]).collect();
    let run = crate::sweep::on_value_locals(model, &kept, run.clone()).unwrap_or(run);
    let len_param = model.steps.map(|_| quote!(, len: usize));
    let len_arg = model.steps.map(|_| quote!(, len));
    let entry = match model.steps {
        Some(_) => run_step(model, sched, &used),
        None => run_plain(model, sched),
    };
    let doc = format!(
        "[`{name}`] for inference alone, over borrowed parameters (`&[{f}; {name}::PARAMS]`: a \
         `static` compiled into the program, or a trained network's pool through \
         [`{name}::freeze`]): the values of the states `run` computes, in arrays, without a heap \
         or std. The same kernels in the same order as the network's `run`, so the same bits. \
         Dropout, if any, is off (evaluation).\n\nMade by [`{name}::frozen`]."
    );
    let doc = match build {
        Build::Std => doc,
        Build::Inference => doc.replace(&format!("[`{name}::freeze`]"), "`freeze` (with std)"),
    };
    let vis = &model.vis;
    // The steps run since the start, for the ranges of `sum(e[a..b])`.
    let (steps_field, steps_init) = match model.steps {
        Some(_) => (quote!(__t: usize,), quote!(__t: 0,)),
        None => (quote!(), quote!()),
    };
    let users = super::items::users(model);
    // Cloned with its recurrent state (user modules need not be `Clone`).
    let clone = users.is_empty().then(|| quote!(#[derive(Clone)]));
    // User modules (nested networks among them) evaluate too: dropout off.
    let evaluate = users.iter().map(|&(i, _)| {
        let (n, t) = (&model.modules[i].name, crate::emit::user_module(model, i));
        match model.modules[i].step {
            true => quote!(#t::set_training(&mut net.#n[0], false);),
            false => quote!(#t::set_training(&mut net.#n, false);),
        }
    });
    let item = quote!(
        #[doc = #doc]
        #clone
        #vis struct #fname<'p> {
            #fields
            __params: &'p [#f; #name::PARAMS],
            __mode: #rt::Mode,
            #steps_field
        }

        impl<'p> #fname<'p> {
            #[allow(unused_variables)]
            #[inline(always)]
            fn __run_sweep(&mut self, params: &[#f] #len_param) { #run }

            #[allow(unused_variables)]
            fn __run(&mut self #len_param) {
                let params: &'p [#f; #name::PARAMS] = self.__params;
                #rt::wide_with(
                    self,
                    &params[..],
                    (),
                    #[inline(always)]
                    |net: &mut Self, params: &[#f], ()| net.__run_sweep(params #len_arg),
                )
            }

            /// The parameters it runs with.
            pub fn params(&self) -> &'p [#f; #name::PARAMS] {
                self.__params
            }

            #entry
        }

        impl ::core::fmt::Debug for #fname<'_> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!(#fname))
                    .field("params", &#name::PARAMS)
                    .finish_non_exhaustive()
            }
        }
    );
    let start = start(model, sched, &used);
    let freeze = (build == Build::Std).then(|| {
        quote!(
            /// This network's inference form, over its own parameters (see
            /// [`Self::frozen`]): the outputs of [`Self::run`] in evaluation (dropout off, see
            /// `set_training`), bit for bit.
            #[track_caller]
            pub fn freeze(&self) -> #fname<'_> {
                self.__own_pool();
                let params: &[#f; Self::PARAMS] = self.__params[..]
                    .try_into()
                    .expect("the pool holds PARAMS values");
                Self::frozen(params)
            }
        )
    });
    // A `const fn` where every field can be made in a constant (user modules are made by
    // `Module::create`, which is not), so that the form can be made in a `static`.
    let constness = super::items::users(model).is_empty().then(|| quote!(const));
    let ctor = quote!(
        /// The inference form over `params` (for example a `static` written by
        /// `bpnet::io::export_rust`, or a copy of a trained network's pool): a value on the
        /// stack (or, made in a constant, in a `static`), with every state zero and, for an
        /// unfolded network, the initial values before its first step.
        pub #constness fn frozen(params: &[#f; Self::PARAMS]) -> #fname<'_> {
            let mut net = #fname {
                #inits
                __params: params,
                __mode: #rt::Mode { training: false, ..#rt::Mode::new() },
                #steps_init
            };
            #(#evaluate)*
            #start
            net
        }

        #freeze
    );
    Some((item, ctor))
}

/// Per state: whether the `run` sweep reads or writes it (or it is an input, which `run` takes).
fn used_states(model: &Model, sched: &Schedule) -> Vec<bool> {
    let mut used: Vec<bool> = model
        .states
        .iter()
        .map(|s| s.role == StateRole::Input)
        .collect();
    let run = [&sched.pre.run, &sched.step.run, &sched.post.run];
    for &m in run.into_iter().flatten() {
        let m = &model.modules[m];
        used[m.out] = true;
        for &a in &m.args {
            used[a] = true;
        }
    }
    used
}

/// The fields of the states `run` uses (values alone; a per-step state keeps the steps its
/// delayed reads see and the current one) and of the user modules, with their initialisers.
fn fields(model: &Model, sched: &Schedule, used: &[bool]) -> (TokenStream, TokenStream) {
    let f = float_tokens(model.float);
    let (mut fields, mut inits) = (Vec::new(), Vec::new());
    for (i, st) in model.states.iter().enumerate().filter(|(i, _)| used[*i]) {
        let (n, w) = (&st.name, st.width);
        let doc = format!("The value of state `{}`.", plain(n));
        if st.step {
            let s = sched.history[i] + 1;
            fields.push(quote!(#[doc = #doc] pub #n: ::bpnet::Recent<#f, #w, #s>,));
            inits.push(quote!(#n: ::bpnet::Recent::new(),));
        } else {
            fields.push(quote!(#[doc = #doc] pub #n: ::bpnet::Value<#f, #w>,));
            inits.push(quote!(#n: ::bpnet::Value::new(),));
        }
    }
    for (i, _) in super::items::users(model) {
        let n = &model.modules[i].name;
        let (ty, create) = (
            crate::emit::user_ty(model, i),
            crate::emit::user_item(model, i, "create"),
        );
        let doc = format!("Module `{}`: its internal states.", plain(n));
        if model.modules[i].step {
            fields.push(quote!(#[doc = #doc] pub #n: [#ty; 1],));
            inits.push(quote!(#n: [#create()],));
        } else {
            fields.push(quote!(#[doc = #doc] pub #n: #ty,));
            inits.push(quote!(#n: #create(),));
        }
    }
    (quote!(#(#fields)*), quote!(#(#inits)*))
}

/// Where the delayed reads of an unfolded network start: the initial values.
fn start(model: &Model, sched: &Schedule, used: &[bool]) -> TokenStream {
    let f = float_tokens(model.float);
    let states = model.states.iter().enumerate().filter(|(i, _)| used[*i]);
    let starts = states.filter_map(|(i, st)| {
        let n = &st.name;
        let w = st.width;
        Some(match st.initial.as_ref()? {
            InitialM::Zeros => quote!(net.#n.__start(&[0.0; #w]);),
            InitialM::Values(v) => {
                let v = v.iter().map(|x| proc_macro2::Literal::f64_unsuffixed(*x));
                quote!(net.#n.__start(&[#(#v as #f),*]);)
            }
            InitialM::Learned => {
                let off = sched.initial_offsets[i].as_ref()?;
                let a = offset_tokens(model, off, 0);
                quote!(net.#n.__start_from(net.__params, #a);)
            }
        })
    });
    quote!(#(#starts)*)
}

/// The inputs' parameters and their loads (a per-step input into its current slot, after the
/// steps its delayed reads keep).
fn inputs(
    model: &Model,
    sched: &Schedule,
) -> (Vec<TokenStream>, Vec<TokenStream>, Option<TokenStream>) {
    let f = float_tokens(model.float);
    let ids: Vec<usize> = model
        .givens
        .iter()
        .copied()
        .filter(|&g| model.states[g].role == StateRole::Input)
        .collect();
    let (args, loads) = ids
        .iter()
        .map(|&i| {
            let st = &model.states[i];
            let (n, w) = (&st.name, st.width);
            let load = if st.step {
                let now = sched.history[i];
                quote!(self.#n.__slots[#now].x = *#n;)
            } else {
                quote!(self.#n.x = *#n;)
            };
            (param(st, quote!(&[#f; #w])), load)
        })
        .unzip();
    (args, loads, many_args(ids.len()))
}

/// `run`, for a network without `unfold`.
fn run_plain(model: &Model, sched: &Schedule) -> TokenStream {
    let f = float_tokens(model.float);
    let o = model.output.expect("a network with an output");
    let (out, w) = (&model.states[o].name, model.states[o].width);
    let (args, loads, many) = inputs(model, sched);
    let run = entry_name(model, "run");
    let doc = format!(
        "Inference: computes the output `{}` from the inputs, as the network's `run` does.",
        plain(out)
    );
    quote!(
        #[doc = #doc]
        #many
        pub fn #run(&mut self, #(#args),*) -> &[#f; #w] {
            #(#loads)*
            self.__run();
            &self.#out.x
        }
    )
}

/// `run_step` and `reset`, for an unfolded network.
fn run_step(model: &Model, sched: &Schedule, used: &[bool]) -> TokenStream {
    let f = float_tokens(model.float);
    let o = model.output.expect("a network with an output");
    let (out, w) = (&model.states[o].name, model.states[o].width);
    let (args, loads, many) = inputs(model, sched);
    let carries = model
        .states
        .iter()
        .enumerate()
        .filter(|(i, s)| used[*i] && s.step && sched.history[*i] > 0)
        .map(|(_, s)| {
            let n = &s.name;
            quote!(self.#n.__carry();)
        });
    let value = if model.states[o].step {
        quote!(self.#out.now())
    } else {
        quote!(&self.#out.x)
    };
    let name = &model.name;
    let run_step = entry_name(model, "run_step");
    let doc = format!(
        " One step of the sequence per call: loads this step's inputs, runs the step (delayed \
         reads see the previous calls' states, or the initial values on the first call) and \
         returns `{}`, what the network's `run` computes at this step over the steps so far \
         (a `sum` over the steps adds this step's term to the previous calls'). The recurrent \
         states stay in this value until the next call; there is no limit on the number of \
         steps.",
        plain(out)
    );
    quote!(
        #[doc = #doc]
        #many
        pub fn #run_step(&mut self, #(#args),*) -> &[#f; #w] {
            #(#loads)*
            self.__run(1);
            self.__t = self.__t.saturating_add(1);
            #(#carries)*
            #value
        }

        /// Forgets the previous steps: the next [`Self::run_step`] starts from the initial
        /// values, as the first did.
        pub fn reset(&mut self) {
            *self = #name::frozen(self.__params);
        }
    )
}
