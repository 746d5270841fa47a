//! Code generation for minibatches (part of `expand`): the batch struct and the entry points: the same schedule over `rows` samples at
//! once, one row per sample, Linear (and a convolution, its patches unfolded) as a GEMM. For an unfolded network a row is a sequence: every
//! per-step state keeps one batch of rows per step, and the steps are one loop over `t`, as in
//! the per-sequence schedule.

use super::second::bbprop_bounds;
use crate::emit::{
    Form, entry_name, expect_forward, many_args, offset_tokens, param, plain, record_forward, rt,
    user_item, user_ty,
};
use crate::lower::Schedule;
use crate::model::{InitialM, Kind, Model, StateRole, float_tokens};
use crate::sweep::{Sweeps, sweeps};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// The batch struct and the network's minibatch entry points.
pub fn batch(model: &Model, sched: &Schedule) -> (TokenStream, TokenStream) {
    (item(model, sched), methods(model))
}

/// The batch struct's fields, and their values for `capacity` rows.
fn fields(model: &Model, sched: &Schedule) -> (TokenStream, TokenStream) {
    let rt = rt();
    let f = float_tokens(model.float);
    let steps = model.steps;
    let t_steps = steps.unwrap_or(1);
    let fields = model.states.iter().map(|st| {
        let (n, w) = (&st.name, st.width);
        if st.step {
            let doc = format!(
                "State `{}` of every sequence of the batch at every step: `{}[t].x[i]`.",
                plain(n),
                plain(n)
            );
            quote!(#[doc = #doc] pub #n: ::bpnet::BatchSteps<#f, #w>,)
        } else {
            let unit = if steps.is_some() {
                "sequence"
            } else {
                "sample"
            };
            let doc = format!("State `{}` of every {unit} of the batch.", plain(n));
            quote!(#[doc = #doc] pub #n: ::bpnet::Batch<#f, #w>,)
        }
    });
    let users: Vec<usize> = (0..model.modules.len())
        .filter(|&i| matches!(model.modules[i].kind, Kind::User { .. }))
        .collect();
    let user_fields = users.iter().map(|&i| {
        let (n, ty) = (&model.modules[i].name, user_ty(model, i));
        let doc = if model.modules[i].step {
            format!(
                "Module `{}`, one per step and sequence of the batch: step `t` of sequence `i` \
                 at `t * capacity + i`.",
                plain(n)
            )
        } else {
            format!("Module `{}`, one per sample of the batch.", plain(n))
        };
        quote!(#[doc = #doc] pub #n: #rt::Vec<#ty>,)
    });
    let inits = model.states.iter().enumerate().map(|(i, st)| {
        let n = &st.name;
        if st.step {
            let k = sched.history[i];
            quote!(#n: ::bpnet::BatchSteps::try_new(#k, #t_steps, capacity)?,)
        } else {
            quote!(#n: ::bpnet::Batch::try_new(capacity)?,)
        }
    });
    let user_inits = users.iter().map(|&i| {
        let n = &model.modules[i].name;
        let steps = if model.modules[i].step { t_steps } else { 1 };
        let what = format!("the copies of user module `{}` in a minibatch", plain(n));
        // Spanned on the user's type, as its other uses: an error in it is reported there once.
        let create = user_item(model, i, "create");
        quote_spanned!(create.span()=> #n: #rt::copies(#steps, capacity, #what, || #create())?,)
    });
    (
        quote!(#(#fields)* #(#user_fields)*),
        quote!(#(#inits)* #(#user_inits)*),
    )
}

/// `__begin` of an unfolded network: where the delayed reads start.
fn begin(model: &Model, sched: &Schedule) -> Option<TokenStream> {
    let f = float_tokens(model.float);
    let steps = model.steps;
    // Where the delayed reads start: initial values, or the last states of the previous call.
    let starts = model.states.iter().enumerate().filter_map(|(i, st)| {
        let (n, w) = (&st.name, st.width);
        let fresh = match st.initial.as_ref()? {
            InitialM::Zeros => quote!(self.#n.__start(&[0.0; #w], rows);),
            InitialM::Values(v) => {
                let v = v.iter().map(|x| proc_macro2::Literal::f64_unsuffixed(*x));
                quote!(self.#n.__start(&[#(#v as #f),*], rows);)
            }
            InitialM::Learned => {
                let off = sched.initial_offsets[i]
                    .as_ref()
                    .expect("a learned initial value has a place in the pool");
                let (a, b) = (offset_tokens(model, off, 0), offset_tokens(model, off, w));
                quote!(self.#n.__start(&params[#a..#b], rows);)
            }
        };
        Some((fresh, quote!(self.#n.__carry(self.__len, rows);)))
    });
    let (fresh, carried): (Vec<_>, Vec<_>) = starts.unzip();
    steps.map(|_| {
        quote!(
            /// Sets where delayed reads start for `rows` sequences: the initial values, or
            /// (continued) the last states of the last call, row `i` continuing row `i`.
            #[allow(unused_variables)]
            fn __begin(&mut self, params: &[#f], rows: usize, continued: bool) {
                let continued = continued && self.__len > 0;
                if continued {
                    #(#carried)*
                } else {
                    #(#fresh)*
                }
                self.__continued = continued;
            }
        )
    })
}

/// The batch struct: its states, its schedules over `rows` rows.
fn item(model: &Model, sched: &Schedule) -> TokenStream {
    let f = float_tokens(model.float);
    let name = &model.name;
    let vis = &model.vis;
    let bname = format_ident!("{}Batch", name);
    let steps = model.steps;
    let (fields, inits) = fields(model, sched);
    // User modules' copies are made by a closure spanned on the user's type (where an error in
    // the type is reported), which clippy would rather see as a path.
    let redundant = model
        .modules
        .iter()
        .any(|m| matches!(m.kind, Kind::User { .. }))
        .then(|| quote!(#[allow(clippy::redundant_closure)]));
    // What each kind needs reserved (the matrix products' packing space).
    let reserves: Vec<TokenStream> = model
        .modules
        .iter()
        .filter_map(|m| {
            let (ins, _) = model.shapes(m);
            m.kind.op()?.reserve(&ins)
        })
        .collect();

    // The schedules: before the steps, one loop over the steps, after the steps.
    let Sweeps {
        fprop: sweep_f,
        run: sweep_r,
        bprop: bprop_body,
        bbprop: bbprop_body,
        sgd: sgd_body,
    } = sweeps(model, sched, Form::Batch);
    let sgd = (!sgd_body.is_empty() && model.energy.is_some()).then(|| {
        let body = crate::sweep::on_givens(
            model,
            quote!(
                {
                    let params: &[#f] = params;
                    #sweep_f
                }
                #sgd_body
            ),
        );
        let givens = model.givens.iter().map(|&g| {
            let (n, w) = (&model.states[g].name, model.states[g].width);
            let rows = format_ident!("__rows_{}", n);
            quote!(#rows: &[[#f; #w]])
        });
        quote!(
            /// `train_sgd_batch`'s sweep: fprop over the rows, then bprop with each module's
            /// parameters moved against their gradient (summed over the rows) once it is known;
            /// the inputs and targets read where the caller keeps them.
            #[allow(unused_variables, clippy::too_many_arguments)]
            fn __train_sgd(
                &mut self,
                params: &mut [#f],
                grads: &mut [#f],
                rows: usize,
                inputs: bool,
                lr: #f,
                #(#givens),*
            ) {
                #body
            }
        )
    });
    let bounds = bbprop_bounds(model);
    let len_param = steps.map(|_| quote!(, len: usize));
    let unfolded_items = begin(model, sched);
    let unfolded_fields = steps.map(|_| quote!(__len: usize, __continued: bool,));
    let unfolded_inits = steps.map(|_| quote!(__len: 0, __continued: false,));

    let what = if steps.is_some() {
        "one row per sequence, one batch of rows per step"
    } else {
        "one row per sample"
    };
    let doc = format!(
        "The states of [`{name}`] for a minibatch, {what} (see [`{name}::reserve_batch`])."
    );
    quote!(
        #[doc = #doc]
        #vis struct #bname {
            #fields
            __gemm: ::bpnet::__private::GemmScratch<#f>,
            __capacity: usize,
            __mode: ::bpnet::__private::Mode,
            #unfolded_fields
        }

        impl #bname {
            #redundant
            fn __new(capacity: usize) -> ::core::result::Result<Self, ::bpnet::Error> {
                let mut __gemm = ::bpnet::__private::GemmScratch::new();
                #(#reserves)*
                ::core::result::Result::Ok(Self {
                    #inits __gemm, __capacity: capacity,
                    __mode: ::bpnet::__private::Mode::new(),
                    #unfolded_inits
                })
            }

            /// The batch of a network before `reserve_batch`: no rows, nothing to refuse.
            fn __empty() -> Self {
                match Self::__new(0) {
                    ::core::result::Result::Ok(b) => b,
                    ::core::result::Result::Err(e) => ::core::panic!("{}", e),
                }
            }

            #unfolded_items

            #[allow(unused_variables)]
            fn __fprop(&mut self, params: &[#f], rows: usize #len_param) {
                #sweep_f
            }

            #[allow(unused_variables)]
            fn __run(&mut self, params: &[#f], rows: usize #len_param) {
                #sweep_r
            }

            #[allow(unused_variables)]
            fn __bprop(&mut self, params: &[#f], grads: &mut [#f], rows: usize, inputs: bool #len_param) {
                #bprop_body
            }

            #[allow(unused_variables)]
            fn __bbprop(&mut self, params: &[#f], ddgrads: &mut [#f], rows: usize, inputs: bool #len_param) #bounds {
                #bbprop_body
            }

            #sgd
        }
    )
}

/// An entry point's arguments: a row per sample, or a sequence per row.
fn sig(model: &Model, ids: &[usize]) -> Vec<TokenStream> {
    let f = float_tokens(model.float);
    ids.iter()
        .map(|&i| {
            let st = &model.states[i];
            let w = st.width;
            if st.step {
                param(st, quote!(&[impl ::core::convert::AsRef<[[#f; #w]]>]))
            } else {
                param(st, quote!(&[[#f; #w]]))
            }
        })
        .collect()
}

/// The checks of an entry point's lengths: `rows`, and for sequences `len`.
fn lens(model: &Model, ids: &[usize]) -> TokenStream {
    let rt = rt();
    let f = float_tokens(model.float);
    let steps = model.steps;
    let l = ids.iter().map(|&i| {
        let n = &model.states[i].name;
        let s = plain(n);
        quote!((#s, #n.len()))
    });
    let rows = quote!(let rows = #rt::batch_len(&[#(#l),*], self.__batch.__capacity)?;);
    let Some(t) = steps else {
        return rows;
    };
    let seq = ids.iter().filter(|&&i| model.states[i].step).map(|&i| {
        let (n, w) = (&model.states[i].name, model.states[i].width);
        let s = plain(n);
        quote!((#s, #rt::batch_seq_len::<#f, #w, _>(#s, #n)?))
    });
    quote!(#rows let len = #rt::seq_len(&[#(#seq),*], #t)?;)
}

/// The loads of an entry point's data into the batch.
fn loads(ids: &[usize], model: &Model) -> Vec<TokenStream> {
    ids.iter()
        .map(|&i| {
            let n = &model.states[i].name;
            quote!(self.__batch.#n.__load(#n);)
        })
        .collect()
}

/// The public entry points of one kind (fprop or run): their checks and loads, then a shared
/// tail. Unfolded, a continued variant too, which carries the last call's states over.
fn entries(
    model: &Model,
    ids: &[usize],
    method: &str,
    docs: [&str; 2],
    ret: &TokenStream,
    tail: &TokenStream,
) -> TokenStream {
    let rt = rt();
    let steps = model.steps;
    let (s, l, ld) = (sig(model, ids), lens(model, ids), loads(ids, model));
    let many = many_args(ids.len());
    let make = |continued: Option<bool>, doc: &str| {
        let name = match continued {
            Some(true) => entry_name(model, &format!("{method}_continued")),
            _ => entry_name(model, method),
        };
        let begin = continued.map(|c| {
            let first = plain(&model.states[ids[0]].name);
            let check = c.then(|| {
                quote!(#rt::continue_rows(
                        #first,
                        (self.__batch.__len > 0).then_some(self.__batch_rows),
                        rows,
                    )?;)
            });
            // The carry reads the last call's slots: before this call's loads.
            quote!(#check self.__batch.__begin(&self.__params, rows, #c);)
        });
        quote!(
            #[doc = #doc]
            #many
            #[track_caller]
            pub fn #name(&mut self, #(#s),*) -> #rt::Result<#ret, ::bpnet::Error> {
                self.__own_pool();
                #l
                #begin
                #(#ld)*
                #tail
            }
        )
    };
    match steps {
        None => make(None, docs[0]),
        Some(_) => {
            let (a, b) = (make(Some(false), docs[0]), make(Some(true), docs[1]));
            quote!(#a #b)
        }
    }
}

/// `fprop_batch` (and `_continued`), `bprop_batch`, `bbprop_batch`, for a network with an energy.
fn train(model: &Model) -> Option<TokenStream> {
    let rt = rt();
    let f = float_tokens(model.float);
    let steps = model.steps;
    let bounds = bbprop_bounds(model);
    let len_param = steps.map(|_| quote!(, len: usize));
    let len_arg = steps.map(|_| quote!(, len));
    let set_len = steps.map(|_| quote!(self.__batch.__len = len;));
    model.energy.map(|e| {
        let e = &model.states[e].name;
        let docs = if steps.is_some() {
            [
                "fprop over a minibatch of sequences (one per row, at most the reserved \
                 capacity), from the initial values: each per-step input or target takes one \
                 sequence per row (a `Vec`, slice or array of steps), all of the same length, at \
                 most `STEPS`; an input given once per sequence takes one row per sequence. \
                 Returns the energy of the batch, the **sum** of the sequences' energies.",
                "[`Self::fprop_batch`] continuing the last minibatch call: row `i`'s delayed \
                 reads before this call's first step see row `i`'s last states of that call \
                 (truncated back-propagation through time: bprop_batch stops at this call's first \
                 step). At most as many sequences as that call (the last ones can be left out); \
                 after [`Self::reset`] or [`Self::reserve_batch`], from the initial values.",
            ]
        } else {
            [
                "fprop over a minibatch (one row per sample, at most the reserved capacity): \
                 returns the energy of the batch, the **sum** of the samples' energies.",
                "",
            ]
        };
        let docs = docs.map(|d| pairs_doc(model, d));
        let fprop = entries(
            model,
            &model.givens,
            "fprop_batch",
            [&docs[0], &docs[1]],
            &f,
            &quote!(#rt::Result::Ok(self.__fprop_batch_rows(rows #len_arg))),
        );
        let bprop_doc = if steps.is_some() {
            "Back-propagation through time over the last minibatch of sequences: the gradient of \
             the batch's energy, the sum of the sequences' gradients, **added** into the gradient \
             pool, and every computed state's `dx` at every step in [`Self::batch`]. The `dx` of \
             the inputs and targets only with [`Self::set_input_grads`] on (off by default)."
        } else {
            "bprop over the last minibatch: the gradient of the batch's energy, the sum of the \
             samples' gradients, **added** into the gradient pool, and every computed state's \
             `dx` in [`Self::batch`]. The `dx` of the inputs and targets only with \
             [`Self::set_input_grads`] on (off by default)."
        };
        let nothing_yet = steps.map(|_| {
            quote!(if self.__batch.__len == 0 {
                return;
            })
        });
        let bprop_len = steps.map(|_| quote!(, self.__batch.__len));
        let ran = record_forward("FpropBatch");
        let pass = batch_pass(model);
        let [back, back2] =
            ["bprop_batch", "bbprop_batch"].map(|call| expect_forward(model, "FpropBatch", call));
        let train_sgd = train_sgd_batch(model, &f);
        quote!(
            #fprop

            #train_sgd

            /// bbprop over the last minibatch: every row's diagonal Gauss–Newton second
            /// derivatives (see [`Self::bbprop`]) into the batch's `ddx`, and the parameters',
            /// **summed** over the rows, added into the curvature pool.
            ///
            /// # Panics
            /// If the last forward pass was not [`Self::fprop_batch`].
            #[track_caller]
            pub fn bbprop_batch(&mut self) #bounds {
                self.__own_pool();
                #back2
                #nothing_yet
                let rows = self.__batch_rows;
                self.__batch.__bbprop(
                    &self.__params, &mut self.__ddgrads, rows, self.__input_grads #bprop_len
                );
            }

            /// Records the batch and runs the schedule over it; returns the batch's energy.
            fn __fprop_batch_rows(&mut self, rows: usize #len_param) -> #f {
                self.__batch_rows = rows;
                #set_len
                #pass
                self.__batch.__fprop(&self.__params, rows #len_arg);
                #ran
                self.__batch.#e.__sum(rows)
            }

            #[doc = #bprop_doc]
            ///
            /// # Panics
            /// If the last forward pass was not [`Self::fprop_batch`] (a sample's, or
            /// `run_batch`'s): its states would give wrong gradients.
            #[track_caller]
            pub fn bprop_batch(&mut self) {
                self.__own_pool();
                #back
                #nothing_yet
                let rows = self.__batch_rows;
                self.__batch.__bprop(
                    &self.__params, &mut self.__grads, rows, self.__input_grads #bprop_len
                );
            }
        )
    })
}

/// `train_sgd_batch`, for a network without `unfold`: `fprop_batch`, then a backward sweep that
/// moves each module's parameters once their gradient over the batch is known.
fn train_sgd_batch(model: &Model, f: &TokenStream) -> Option<TokenStream> {
    if model.steps.is_some() {
        return None;
    }
    let rt = rt();
    let e = &model.states[model.energy?].name;
    let ids = &model.givens;
    let (s, l) = (sig(model, ids), lens(model, ids));
    let names = ids.iter().map(|&i| &model.states[i].name);
    let many = many_args(ids.len() + 1);
    let (pass, ran) = (batch_pass(model), record_forward("TrainSgdBatch"));
    let name = entry_name(model, "train_sgd_batch");
    Some(quote!(
        /// One step of minibatch gradient descent: [`Self::fprop_batch`], then bprop over the
        /// rows with each module's parameters moved by `−lr ·` their gradient (the sum over the
        /// rows) once it is known; returns the batch's energy before the step. The parameters
        /// are those of `fprop_batch`, `zero_grad`, `bprop_batch`, `sgd_step(lr)`, bit for bit,
        /// with fewer passes over the pools: a linear module's update is made as its gradient's
        /// matrix product stores it, and its gradient is not zeroed first; the inputs and
        /// targets are read where they are, not copied into the batch. What remains in
        /// [`Self::grads`] and in the batch's inputs and targets is unspecified, and a
        /// `bprop_batch` after it panics (call `fprop_batch` first).
        #many
        #[track_caller]
        pub fn #name(&mut self, #(#s,)* lr: #f) -> #rt::Result<#f, ::bpnet::Error> {
            self.__own_pool();
            #l
            self.__batch_rows = rows;
            #pass
            self.__batch.__train_sgd(
                &mut self.__params, &mut self.__grads, rows, self.__input_grads, lr, #(#names),*
            );
            #ran
            #rt::Result::Ok(self.__batch.#e.__sum(rows))
        }
    ))
}

/// Where a minibatch's forward pass begins, for a network with dropout: new masks, in the
/// batch's copy of the mode.
fn batch_pass(model: &Model) -> TokenStream {
    if super::mode::has_dropout(model) {
        quote!(self.__mode.next_pass(); self.__batch.__mode = self.__mode;)
    } else {
        quote!()
    }
}

/// An fprop_batch doc, and for a network of one input and one target, how a batch of pairs
/// becomes its two slices (in backticks: an intra-doc link may not resolve in the user's crate).
fn pairs_doc(model: &Model, doc: &str) -> String {
    let roles = model.givens.iter().map(|&g| model.states[g].role);
    let pair = roles.collect::<Vec<_>>() == [StateRole::Input, StateRole::Target];
    if doc.is_empty() || !pair {
        return doc.to_string();
    }
    format!(
        "{doc}\n\nA minibatch kept as `(input, target)` pairs is split into the two slices this \
         takes by `bpnet::train::Columns` (`columns.split(&pairs)`)."
    )
}

/// `run_batch` (and `_continued`), for a network with an output.
fn run(model: &Model) -> Option<TokenStream> {
    let rt = rt();
    let f = float_tokens(model.float);
    let steps = model.steps;
    let len_param = steps.map(|_| quote!(, len: usize));
    let len_arg = steps.map(|_| quote!(, len));
    let set_len = steps.map(|_| quote!(self.__batch.__len = len;));
    let inputs: Vec<usize> = model
        .givens
        .iter()
        .copied()
        .filter(|&g| model.states[g].role == StateRole::Input)
        .collect();
    let ran = record_forward("RunBatch");
    let pass = batch_pass(model);
    model.output.map(|o| {
        let st = &model.states[o];
        let (out, w) = (&st.name, st.width);
        let (ret, value) = if st.step {
            (
                quote!(::bpnet::StepRows<'_, #f, #w>),
                quote!(::bpnet::StepRows::__new(self.__batch.#out.first(len), rows)),
            )
        } else {
            (quote!(&[[#f; #w]]), quote!(&self.__batch.#out.x[..rows]))
        };
        let docs = if steps.is_some() {
            [
                "Inference over a minibatch of sequences (one per row), from the initial values: \
                 the output of every sequence (at every step run, `out[t][i]`, for an output \
                 inside the `unfold` block).",
                "[`Self::run_batch`] continuing the last minibatch call, as \
                 [`Self::fprop_batch_continued`] does: for running long sequences in chunks.",
            ]
        } else {
            [
                "Inference over a minibatch: the output of every sample.",
                "",
            ]
        };
        let runs = entries(
            model,
            &inputs,
            "run_batch",
            docs,
            &ret,
            &quote!(
                self.__run_batch_rows(rows #len_arg);
                #rt::Result::Ok(#value)
            ),
        );
        quote!(
            #runs

            /// Records the batch and runs what the output needs over it.
            fn __run_batch_rows(&mut self, rows: usize #len_param) {
                self.__batch_rows = rows;
                #set_len
                #pass
                self.__batch.__run(&self.__params, rows #len_arg);
                #ran
            }
        )
    })
}

/// The network's minibatch methods.
fn methods(model: &Model) -> TokenStream {
    let bname = format_ident!("{}Batch", model.name);
    let steps = model.steps;
    let (train, run) = (train(model), run(model));
    let reserve_doc = if steps.is_some() {
        "Allocates the states of minibatches of up to `capacity` sequences (once, outside the \
         training loop): every per-step state keeps `capacity` rows at each of the `STEPS` steps. \
         `fprop_batch`, `bprop_batch` and `run_batch` then allocate nothing."
    } else {
        "Allocates the states of minibatches of up to `capacity` samples (once, outside the \
         training loop): `fprop_batch`, `bprop_batch` and `run_batch` then allocate nothing."
    };
    let batch_doc = if steps.is_some() {
        "The states of the last minibatch, one row per sequence at every step: \
         `batch().h[t].x[i]` is state `h` at step `t` of sequence `i`."
    } else {
        "The states of the last minibatch, one row per sample."
    };
    quote!(
        #[doc = #reserve_doc]
        ///
        /// Unless [`Self::set_batch_threads`] chose the threads, it also chooses them: 2 on a
        /// machine with 2 cores or more when the batch's largest product has at least 8 × 2^20
        /// multiply-adds, else 1.
        ///
        /// # Errors
        /// [`Error::Alloc`](::bpnet::Error::Alloc) if the states for `capacity` rows cannot be
        /// allocated (their size overflows, or the system refuses it): the previous batch, and
        /// the threads, are then kept.
        pub fn reserve_batch(&mut self, capacity: usize) -> ::core::result::Result<(), ::bpnet::Error> {
            let mut batch = #bname::__new(capacity)?;
            batch.__gemm.try_take_threads(&mut self.__batch.__gemm)?;
            batch.__gemm.threads_by_default();
            self.__batch = batch;
            self.__batch.__mode = self.__mode;
            self.__sync_training();
            self.__sync_seeds();
            self.__batch_rows = 0;
            ::core::result::Result::Ok(())
        }

        /// Splits the minibatch's large matrix products (a million multiply-adds or more)
        /// across `threads` threads: this one and `threads - 1` helpers started now, kept
        /// across [`Self::reserve_batch`] and stopped with the network. The gradients are the
        /// same, bit for bit, as on one thread (each thread computes its own block of a
        /// product). At most `bpnet::kernels::gemm::MAX_THREADS`.
        ///
        /// By default [`Self::reserve_batch`] chooses: 2 threads on a machine with 2 cores or
        /// more when the largest product of the batch has at least 8 × 2^20 multiply-adds (a
        /// 784-256 layer on 64 rows has 12.8 million), else 1 (`bpnet::kernels::gemm::default_threads`).
        /// A call of this method replaces that choice, for good: `set_batch_threads(1)` keeps a
        /// network on one core. By `cargo bench --bench speed` on a 2-core machine, a
        /// 784-256-10 net's training step took 1.14 to 1.17 times less time on 2 threads with
        /// batches of 64 and 1.24 to 1.26 times less with batches of 256. Helpers sleep
        /// between products after a brief spin.
        ///
        /// # Errors
        /// [`Error::Thread`](::bpnet::Error::Thread) if the system cannot start a thread
        /// ([`Error::Alloc`](::bpnet::Error::Alloc) if its buffers cannot be allocated): the
        /// threads in use are then kept.
        pub fn set_batch_threads(&mut self, threads: usize) -> ::core::result::Result<(), ::bpnet::Error> {
            self.__batch.__gemm.try_set_threads(threads)
        }

        /// The threads the minibatch's large products use (see [`Self::set_batch_threads`]).
        pub fn batch_threads(&self) -> usize {
            self.__batch.__gemm.threads()
        }

        #[doc = #batch_doc]
        pub fn batch(&self) -> &#bname {
            &self.__batch
        }

        #train
        #run
    )
}
