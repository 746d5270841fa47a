//! The per-sample entry points: `run`, `fprop`, `bprop`, `energy`, and the trait impls
//! (`bpnet::Network`, `bpnet::SecondOrder`, and for a network with one input and an output,
//! `bpnet::Module` and `bpnet::Bbprop`).

use crate::emit::{entry_name, expect_forward, many_args, param, plain, record_forward, rt};
use crate::model::{Model, StateRole, float_tokens};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// `run`/`try_run` and the training entry points (`fprop`, `try_fprop`, `bprop`, `energy`).
pub fn entry_points(model: &Model) -> TokenStream {
    let given = Io::of(model, &model.givens);
    let inputs: Vec<usize> = model
        .givens
        .iter()
        .copied()
        .filter(|&g| model.states[g].role == StateRole::Input)
        .collect();
    let (run, train) = (run(model, &Io::of(model, &inputs)), train(model, &given));
    quote!(#run #train)
}

/// The arguments of an entry point taking states `ids`, and their loads.
struct Io {
    args: Vec<TokenStream>,
    copies: Vec<TokenStream>,
    try_args: Vec<TokenStream>,
    try_loads: Vec<TokenStream>,
    many: Option<TokenStream>,
}

impl Io {
    fn of(model: &Model, ids: &[usize]) -> Io {
        let rt = rt();
        let f = float_tokens(model.float);
        let arg = |i: &usize| {
            let st = &model.states[*i];
            let (n, w) = (&st.name, st.width);
            (param(st, quote!(&[#f; #w])), quote!(self.#n.x = *#n;))
        };
        let try_arg = |i: &usize| {
            let n = &model.states[*i].name;
            let s = plain(n);
            (
                param(&model.states[*i], quote!(impl ::bpnet::Input<#f>)),
                quote!(#rt::load(#s, &#n, &mut self.#n.x)?;),
            )
        };
        let (args, copies) = ids.iter().map(arg).unzip();
        let (try_args, try_loads) = ids.iter().map(try_arg).unzip();
        Io {
            args,
            copies,
            try_args,
            try_loads,
            many: many_args(ids.len()),
        }
    }
}

/// `run` and `try_run`, for a feed-forward network with an output.
fn run(model: &Model, io: &Io) -> Option<TokenStream> {
    let rt = rt();
    let f = float_tokens(model.float);
    let (run_args, run_copies, try_run_args, try_run_loads, many_inputs) =
        (&io.args, &io.copies, &io.try_args, &io.try_loads, &io.many);
    let unfolded = model.steps.is_some();
    let ran = record_forward("Run");
    let pass = super::mode::next_pass(model);
    model.output.filter(|_| !unfolded).map(|o| {
        let out = &model.states[o].name;
        let w = model.states[o].width;
        let doc = format!(
            "Inference (the lecture's `run`): computes the output `{out}` from the inputs alone."
        );
        let (run, try_run) = (entry_name(model, "run"), entry_name(model, "try_run"));
        let try_doc =
            "[`Self::run`] for data whose widths are only known at run time: a wrong width or a \
             NaN gives an [`Error`](::bpnet::Error) instead of a panic."
                .to_string();
        quote!(
            #[doc = #doc]
            #many_inputs
            #[track_caller]
            pub fn #run(&mut self, #(#run_args),*) -> &[#f; #w] {
                self.__own_pool();
                #(#run_copies)*
                #pass
                let params = ::core::mem::take(&mut self.__params);
                self.__run(&params);
                self.__params = params;
                #ran
                &self.#out.x
            }

            #[doc = #try_doc]
            #many_inputs
            #[track_caller]
            pub fn #try_run(&mut self, #(#try_run_args),*) -> #rt::Result<&[#f; #w], ::bpnet::Error> {
                self.__own_pool();
                #(#try_run_loads)*
                #pass
                let params = ::core::mem::take(&mut self.__params);
                self.__run(&params);
                self.__params = params;
                #ran
                #rt::Result::Ok(&self.#out.x)
            }
        )
    })
}

/// `fprop`, `try_fprop`, `bprop` and `energy` with an energy; `bprop` from a given dE/d(output)
/// without.
fn train(model: &Model, io: &Io) -> Option<TokenStream> {
    let rt = rt();
    let f = float_tokens(model.float);
    let (given_args, given_copies, try_given_args, try_given_loads, many_givens) =
        (&io.args, &io.copies, &io.try_args, &io.try_loads, &io.many);
    match (model.energy, model.output) {
        (Some(e), _) => {
            let e = &model.states[e].name;
            let (ran, back) = (
                record_forward("Fprop"),
                expect_forward(model, "Fprop", "bprop"),
            );
            let pass = super::mode::next_pass(model);
            let (fprop, try_fprop) = (entry_name(model, "fprop"), entry_name(model, "try_fprop"));
            let train_sgd = model.steps.is_none().then(|| {
                let (ran, name) = (record_forward("TrainSgd"), entry_name(model, "train_sgd"));
                let many_with_lr = many_args(given_args.len() + 1);
                quote!(
                    /// One step of online gradient descent on one sample: [`Self::fprop`], then
                    /// bprop with each module's parameters moved by `−lr ·` their gradient as
                    /// soon as it is known; returns the energy before the step. The parameters
                    /// are those of `fprop`, `zero_grad`, `bprop`, `sgd_step(lr)`, bit for bit,
                    /// in one sweep that leaves most gradients in registers instead of the pool:
                    /// what remains in [`Self::grads`] is unspecified. The states are those of
                    /// the forward pass before the step, so a `bprop` after it panics (call
                    /// `fprop` first).
                    #many_with_lr
                    #[track_caller]
                    pub fn #name(&mut self, #(#given_args,)* lr: #f) -> #f {
                        self.__own_pool();
                        #(#given_copies)*
                        #pass
                        self.__train_sgd(self.__input_grads, lr);
                        #ran
                        self.#e.x[0]
                    }
                )
            });
            let doc = "fprop: loads a sample (inputs and targets), computes every state and returns the energy.";
            Some(quote!(
                #[doc = #doc]
                #many_givens
                #[track_caller]
                pub fn #fprop(&mut self, #(#given_args),*) -> #f {
                    self.__own_pool();
                    #(#given_copies)*
                    #pass
                    let params = ::core::mem::take(&mut self.__params);
                    self.__fprop(&params);
                    self.__params = params;
                    #ran
                    self.#e.x[0]
                }

                /// [`Self::fprop`] for data whose widths are only known at run time: a wrong width
                /// or a NaN gives an [`Error`](::bpnet::Error) instead of a panic.
                #many_givens
                #[track_caller]
                pub fn #try_fprop(&mut self, #(#try_given_args),*) -> #rt::Result<#f, ::bpnet::Error> {
                    self.__own_pool();
                    #(#try_given_loads)*
                    #pass
                    let params = ::core::mem::take(&mut self.__params);
                    self.__fprop(&params);
                    self.__params = params;
                    #ran
                    #rt::Result::Ok(self.#e.x[0])
                }

                /// bprop: dE/d(every computed state) into its `dx`, and dE/d(parameters)
                /// **added** into the gradient pool (call [`Self::zero_grad`] between updates).
                /// Uses the last fprop. The `dx` of the inputs and targets only with
                /// [`Self::set_input_grads`] on (off by default).
                ///
                /// # Panics
                /// If the last forward pass was not [`Self::fprop`] (a minibatch's, or `run`'s):
                /// its states are not those of a sample's fprop, and the gradients would be wrong.
                #[track_caller]
                pub fn bprop(&mut self) {
                    self.__own_pool();
                    #back
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

                #train_sgd
            ))
        }
        (None, Some(o)) => {
            let out = &model.states[o].name;
            let w = model.states[o].width;
            let back = expect_forward(model, "Run", "bprop");
            Some(quote!(
                /// bprop from a given dE/d(output): every computed state's `dx`, and the
                /// parameter gradients **added** into the gradient pool. Uses the last
                /// [`Self::run`]. The input's `dx` only with [`Self::set_input_grads`] on (off by
                /// default).
                ///
                /// # Panics
                /// If the last forward pass was not [`Self::run`] (a minibatch's, say).
                #[track_caller]
                pub fn bprop(&mut self, d_output: &[#f; #w]) {
                    self.__own_pool();
                    #back
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
    }
}

/// `impl bpnet::Network` and `impl bpnet::SecondOrder` for a network with an energy.
pub fn network_impls(model: &Model, bounds: &TokenStream) -> TokenStream {
    let f = float_tokens(model.float);
    let name = &model.name;
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
                fn set_training(&mut self, on: bool) { #name::set_training(self, on) }
                fn training(&self) -> bool { #name::training(self) }
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
    quote!(#network_impl #second_order_impl)
}

/// `impl bpnet::Module` and `impl bpnet::Bbprop` for a network with one input and an output.
pub fn module_impls(model: &Model, inits: &TokenStream, bounds: &TokenStream) -> TokenStream {
    let rt = rt();
    let f = float_tokens(model.float);
    let name = &model.name;
    let bname = format_ident!("{}Batch", name);
    // A network used as a module is not unfolded: no `__len`, `__continued`.
    let module_impl = model.module_input().map(|i| {
        let input = &model.states[i].name;
        let (wi, o) = (model.states[i].width, model.output.expect("a module network has an output"));
        let (out, wo) = (&model.states[o].name, model.states[o].width);
        let pass = super::mode::next_pass(model);
        quote!(
            impl ::bpnet::Module for #name {
                type Float = #f;
                const IN: usize = #wi;
                const OUT: usize = #wo;
                const PARAMS: usize = #name::PARAMS;
                const MODULES: &'static [::bpnet::ModuleInfo] = #name::MODULES;
                fn create() -> Self {
                    Self {
                        #inits
                        __params: #rt::AlignedVec::default(), __grads: #rt::AlignedVec::default(),
                        __ddgrads: #rt::AlignedVec::default(),
                        __input_grads: false,
                        __forward: ::bpnet::__private::Forward::None,
                        __mode: ::bpnet::__private::Mode::new(),
                        __batch: #bname::__empty(), __batch_rows: 0,
                    }
                }
                fn init<R: #rt::Rng + ?Sized>(params: &mut [#f], rng: &mut R) {
                    Self::__init(params, rng)
                }
                fn fprop(&mut self, params: &[#f], input: &[#f], output: &mut [#f]) {
                    #pass
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
                fn set_training(&mut self, on: bool) { #name::set_training(self, on) }
                fn set_seed(&mut self, seed: u64) { #name::seed_dropout(self, seed) }
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
    quote!(#module_impl)
}
