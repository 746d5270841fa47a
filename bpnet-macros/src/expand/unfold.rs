//! Code generation for unfolded networks (part of `expand`): the entry points that take
//! sequences, start from the initial values or carry the last states over, and run the schedule
//! over the steps given.

use crate::emit::{
    entry_name, expect_forward, many_args, offset_tokens, param, plain, record_forward, rt,
};
use crate::lower::Schedule;
use crate::model::{InitialM, Model, StateRole, float_tokens};
use proc_macro2::TokenStream;
use quote::quote;

/// The inherent methods of an unfolded network.
pub fn api(model: &Model, sched: &Schedule) -> TokenStream {
    let steps = model.steps.unwrap_or(1);
    let (begin, energy, run) = (begin(model, sched), energy(model), run(model));
    quote!(
        /// The number of steps `T` the network is unfolded over: the longest sequence it runs.
        pub const STEPS: usize = #steps;

        #begin

        /// The number of steps of the last fprop or run (0 before the first, and after
        /// [`Self::reset`]).
        pub fn steps_run(&self) -> usize {
            self.__len
        }

        /// Forgets the previous calls: the next `fprop_continued` or `run_continued` starts from
        /// the initial values, like `fprop` and `run`, and so does the next
        /// `fprop_batch_continued` or `run_batch_continued`.
        pub fn reset(&mut self) {
            self.__len = 0;
            self.__batch.__len = 0;
        }

        #energy
        #run
    )
}

/// The parts of the entry points that take states `ids` (the inputs and targets, or the inputs).
struct Io {
    /// Arguments: a sequence `&[[F; W]]` per per-step state, an array per static one.
    sig: Vec<TokenStream>,
    /// `#[allow(clippy::too_many_arguments)]` if they are many.
    many: Option<TokenStream>,
    /// `let len = …?;` from the sequences' lengths.
    len: TokenStream,
    /// The copies into the states.
    copies: Vec<TokenStream>,
    /// The `try_` forms: arguments of run-time width, their loads, then `len`.
    try_sig: Vec<TokenStream>,
    try_loads: Vec<TokenStream>,
    try_len: TokenStream,
}

fn io(model: &Model, ids: &[usize]) -> Io {
    let rt = rt();
    let f = float_tokens(model.float);
    let steps = model.steps.unwrap_or(1);
    let sig = ids
        .iter()
        .map(|&i| {
            let st = &model.states[i];
            let w = st.width;
            if st.step {
                param(st, quote!(&[[#f; #w]]))
            } else {
                param(st, quote!(&[#f; #w]))
            }
        })
        .collect();
    let lens = ids.iter().filter(|&&i| model.states[i].step).map(|&i| {
        let n = &model.states[i].name;
        let s = plain(n);
        quote!((#s, #n.len()))
    });
    let copies = ids
        .iter()
        .map(|&i| {
            let n = &model.states[i].name;
            if model.states[i].step {
                quote!(self.#n.__load(#n);)
            } else {
                quote!(self.#n.x = *#n;)
            }
        })
        .collect();
    let try_sig = ids
        .iter()
        .map(|&i| param(&model.states[i], quote!(impl ::bpnet::Input<#f>)))
        .collect();
    let mut try_loads = Vec::new();
    let mut try_lens = Vec::new();
    for &i in ids {
        let n = &model.states[i].name;
        let s = plain(n);
        if model.states[i].step {
            let l = quote::format_ident!("__len_{}", plain(n));
            try_loads.push(quote!(let #l = self.#n.__load_flat(#s, &#n)?;));
            try_lens.push(quote!((#s, #l)));
        } else {
            try_loads.push(quote!(#rt::load(#s, &#n, &mut self.#n.x)?;));
        }
    }
    Io {
        sig,
        many: many_args(ids.len()),
        len: quote!(let len = #rt::seq_len(&[#(#lens),*], #steps)?;),
        copies,
        try_sig,
        try_loads,
        try_len: quote!(let len = #rt::seq_len(&[#(#try_lens),*], #steps)?;),
    }
}

/// `__begin`: where the delayed reads start, the initial values or the last states of the
/// previous call.
fn begin(model: &Model, sched: &Schedule) -> TokenStream {
    let f = float_tokens(model.float);
    // Where the delayed reads start: initial values, or the last states of the previous call.
    let starts = model.states.iter().enumerate().filter_map(|(i, st)| {
        let n = &st.name;
        let w = st.width;
        let fresh = match st.initial.as_ref()? {
            InitialM::Zeros => quote!(self.#n.__start(&[0.0; #w]);),
            InitialM::Values(v) => {
                let v = v.iter().map(|x| proc_macro2::Literal::f64_unsuffixed(*x));
                quote!(self.#n.__start(&[#(#v as #f),*]);)
            }
            InitialM::Learned => {
                let off = sched.initial_offsets[i]
                    .as_ref()
                    .expect("a learned initial value has a place in the pool");
                let (a, b) = (offset_tokens(model, off, 0), offset_tokens(model, off, w));
                quote!(self.#n.__start(&self.__params[#a..#b]);)
            }
        };
        Some((fresh, quote!(self.#n.__carry(self.__len);)))
    });
    let (fresh, carried): (Vec<_>, Vec<_>) = starts.unzip();
    quote!(
        /// Sets where delayed reads start: the initial values, or (continued) the last states
        /// of the previous call. The caller then records this call's length in `__len`.
        fn __begin(&mut self, continued: bool) {
            let continued = continued && self.__len > 0;
            if continued {
                #(#carried)*
            } else {
                #(#fresh)*
            }
            self.__continued = continued;
        }
    )
}

/// `fprop`, `fprop_continued`, `try_fprop`, `bprop`, `energy`, for a network with an energy.
fn energy(model: &Model) -> Option<TokenStream> {
    let rt = rt();
    let f = float_tokens(model.float);
    let io = io(model, &model.givens);
    let (given_sig, many_givens, given_len, given_copies) = (io.sig, io.many, io.len, io.copies);
    let (try_given_sig, try_given_loads, try_given_len) = (io.try_sig, io.try_loads, io.try_len);
    let names = ["fprop", "fprop_continued", "try_fprop"].map(|n| entry_name(model, n));
    let [fprop, fprop_continued, try_fprop] = names;
    let (ran, back) = (
        record_forward("Fprop"),
        expect_forward(model, "Fprop", "bprop"),
    );
    let pass = super::mode::next_pass(model);
    model.energy.map(|e| {
        let e = &model.states[e].name;
        quote!(
            /// fprop over a sequence of at most `STEPS` steps, from the initial values: loads it,
            /// computes every state at every step and returns the energy. A sequence longer than
            /// the network is unfolded over, or sequences of different lengths, give an error.
            #many_givens
            #[track_caller]
            pub fn #fprop(&mut self, #(#given_sig),*) -> #rt::Result<#f, ::bpnet::Error> {
                self.__own_pool();
                #given_len
                // The carry reads the previous call's slots: before this call's loads.
                self.__begin(false);
                #(#given_copies)*
                #rt::Result::Ok(self.__fprop_steps(len))
            }

            /// [`Self::fprop`] continuing the previous call: delayed reads before this call's
            /// first step see the previous call's last states (truncated back-propagation
            /// through time: bprop stops at this call's first step).
            #many_givens
            #[track_caller]
            pub fn #fprop_continued(&mut self, #(#given_sig),*) -> #rt::Result<#f, ::bpnet::Error> {
                self.__own_pool();
                #given_len
                // The carry reads the previous call's slots: before this call's loads.
                self.__begin(true);
                #(#given_copies)*
                #rt::Result::Ok(self.__fprop_steps(len))
            }

            /// [`Self::fprop`] for data whose widths are only known at run time: each sequence
            /// is its steps' values one after the other; a wrong width, a length that is not a
            /// whole number of steps or more than `STEPS`, or a NaN gives an error.
            #many_givens
            #[track_caller]
            pub fn #try_fprop(&mut self, #(#try_given_sig),*) -> #rt::Result<#f, ::bpnet::Error> {
                self.__own_pool();
                // A load that fails leaves the network forgetting the previous call.
                self.__begin(false);
                self.__len = 0;
                #(#try_given_loads)*
                #try_given_len
                #rt::Result::Ok(self.__fprop_steps(len))
            }

            /// Back-propagation through time over the steps of the last fprop: dE/d(every
            /// computed state at every step), and dE/d(parameters) **added** into the gradient
            /// pool, shared modules gathering their gradient over all steps. The `dx` of the
            /// inputs and targets only with [`Self::set_input_grads`] on (off by default).
            ///
            /// # Panics
            /// If the last forward pass was not [`Self::fprop`] (or its `_continued` and `try_`
            /// forms): a minibatch's states, or `run`'s, would give wrong gradients.
            #[track_caller]
            pub fn bprop(&mut self) {
                self.__own_pool();
                #back
                let len = self.__len;
                if len == 0 {
                    return;
                }
                let params = ::core::mem::take(&mut self.__params);
                let mut grads = ::core::mem::take(&mut self.__grads);
                self.__bprop(&params, &mut grads, self.__input_grads, len);
                self.__params = params;
                self.__grads = grads;
            }

            /// The energy computed by the last fprop.
            pub fn energy(&self) -> #f {
                self.#e.x[0]
            }

            /// Records the length and runs the schedule over it; returns the energy.
            fn __fprop_steps(&mut self, len: usize) -> #f {
                self.__len = len;
                #pass
                let params = ::core::mem::take(&mut self.__params);
                self.__fprop(&params, len);
                self.__params = params;
                #ran
                self.#e.x[0]
            }
        )
    })
}

/// `run`, `run_continued`, `try_run`, for a network with an output.
fn run(model: &Model) -> Option<TokenStream> {
    let rt = rt();
    let f = float_tokens(model.float);
    let inputs: Vec<usize> = model
        .givens
        .iter()
        .copied()
        .filter(|&g| model.states[g].role == StateRole::Input)
        .collect();
    let io = io(model, &inputs);
    let (input_sig, many_inputs, input_len, input_copies) = (io.sig, io.many, io.len, io.copies);
    let (try_input_sig, try_input_loads, try_input_len) = (io.try_sig, io.try_loads, io.try_len);
    let [run, run_continued, try_run] =
        ["run", "run_continued", "try_run"].map(|n| entry_name(model, n));
    let run_ran = record_forward("Run");
    let pass = super::mode::next_pass(model);
    model.output.map(|o| {
        let st = &model.states[o];
        let (out, w) = (&st.name, st.width);
        // Values, never states: the states stay on the network's fields (`net.o[t].x`).
        let run_doc = if st.step {
            let o = plain(out);
            format!(
                " Inference over a sequence (the lecture's `run`), from the initial values: the\n \
                 values of `{o}` at every step run, a [`bpnet::StepValues`] (`out[t]` is the\n \
                 `&[{f}; {w}]` of step `t`; `out.last()`, `out.iter()`, `out.to_vec()`).\n\n \
                 Values, not states: the states of the steps run stay on the network's fields,\n \
                 `self.{o}[t].x` (and `.dx`, `.ddx` after a backward pass)."
            )
        } else {
            " Inference over a sequence (the lecture's `run`), from the initial values: the \
             output, computed once after the steps."
                .to_string()
        };
        let (ret, value) = if st.step {
            (
                quote!(::bpnet::StepValues<'_, #f, #w>),
                quote!(::bpnet::StepValues::__new(self.#out.first(len))),
            )
        } else {
            (quote!(&[#f; #w]), quote!(&self.#out.x))
        };
        quote!(
            /// Records the length and runs what the output needs over it.
            fn __run_steps(&mut self, len: usize) {
                self.__len = len;
                #pass
                let params = ::core::mem::take(&mut self.__params);
                self.__run(&params, len);
                self.__params = params;
                #run_ran
            }

            #[doc = #run_doc]
            #many_inputs
            #[track_caller]
            pub fn #run(&mut self, #(#input_sig),*) -> #rt::Result<#ret, ::bpnet::Error> {
                self.__own_pool();
                #input_len
                // The carry reads the previous call's slots: before this call's loads.
                self.__begin(false);
                #(#input_copies)*
                self.__run_steps(len);
                #rt::Result::Ok(#value)
            }

            /// [`Self::run`] continuing the previous call: for running a long sequence in
            /// chunks, or step by step (chunks of one step).
            #many_inputs
            #[track_caller]
            pub fn #run_continued(&mut self, #(#input_sig),*) -> #rt::Result<#ret, ::bpnet::Error> {
                self.__own_pool();
                #input_len
                // The carry reads the previous call's slots: before this call's loads.
                self.__begin(true);
                #(#input_copies)*
                self.__run_steps(len);
                #rt::Result::Ok(#value)
            }

            /// [`Self::run`] for data whose widths are only known at run time (each sequence is
            /// its steps' values one after the other).
            #many_inputs
            #[track_caller]
            pub fn #try_run(&mut self, #(#try_input_sig),*) -> #rt::Result<#ret, ::bpnet::Error> {
                self.__own_pool();
                // A load that fails leaves the network forgetting the previous call.
                self.__begin(false);
                self.__len = 0;
                #(#try_input_loads)*
                #try_input_len
                self.__run_steps(len);
                #rt::Result::Ok(#value)
            }
        )
    })
}
