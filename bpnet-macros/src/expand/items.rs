//! The struct's fields and their initial values, the user modules' compile-time checks, the
//! constants and descriptions, the parameters' initialisation and the per-module accessors.

use crate::emit::{
    Cx, Form, bound_idents, bounds, module_len, needs_consts, offset_tokens, plain, range, rt,
    user_item, user_module, user_ty,
};
use crate::lower::Schedule;
use crate::model::{Kind, Model, StateRole, float_tokens, path_string};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// Whether module `i` has `<module>_params` accessors and `_OFFSET`/`_LEN` consts.
fn has_accessors(model: &Model, i: usize) -> bool {
    match &model.modules[i].kind {
        Kind::Op(op) => op.accessors(),
        Kind::User { .. } => true,
        Kind::Broken => false,
    }
}

/// What a state is, in docs (`input`, …) and as a `bpnet::Role`.
pub fn role_of(model: &Model, i: usize) -> (&'static str, TokenStream) {
    let st = &model.states[i];
    match st.role {
        StateRole::Input => ("input", quote!(Input)),
        StateRole::Target => ("target", quote!(Target)),
        StateRole::Computed if Some(i) == model.energy => ("energy", quote!(Energy)),
        StateRole::Computed if Some(i) == model.output => ("output", quote!(Output)),
        StateRole::Computed => ("hidden state", quote!(Hidden)),
    }
}

/// The user modules: (module index, its type as written).
pub fn users(model: &Model) -> Vec<(usize, &syn::Path)> {
    model
        .modules
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match &m.kind {
            Kind::User { path, .. } => Some((i, path)),
            _ => None,
        })
        .collect()
}

/// The associated consts: the range consts, `PARAMS`, every state's width and every module's
/// place in the pool, `MODULES`, `STATES` and `DOT`.
pub fn consts(model: &Model, sched: &Schedule) -> TokenStream {
    let total = offset_tokens(model, &sched.total, 0);
    let range_consts = range_consts(model, sched);
    // Named constants: every state's width, every module's place in the pool.
    let width_consts = model.states.iter().map(|st| {
        let c = format_ident!("{}_WIDTH", plain(&st.name).to_uppercase());
        let w = st.width;
        let doc = format!("Width of state `{}`.", plain(&st.name));
        quote!(#[doc = #doc] pub const #c: usize = #w;)
    });
    let place_consts = model.modules.iter().enumerate().filter(|(i, _)| has_accessors(model, *i)).map(|(i, m)| {
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
        // The kind's tensors, by name and shape (for the keys of a saved file).
        let tensors = m
            .kind
            .op()
            .map(|_| {
                model
                    .tensors(m)
                    .into_iter()
                    .map(|t| {
                        let (name, shape) = (
                            t.name,
                            t.shape
                                .iter()
                                .map(|&d| proc_macro2::Literal::usize_unsuffixed(d)),
                        );
                        quote!((#name, &[#(#shape),*]))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        quote!(::bpnet::ModuleInfo {
            name: #n, kind: #kind, offset: #off, len: #len, inputs: &[#(#ins),*], output: #out,
            children: #children, tensors: &[#(#tensors),*],
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
                children: &[], tensors: &[],
            }))
        })
        .collect();
    let state_infos = model.states.iter().enumerate().map(|(i, st)| {
        let n = plain(&st.name);
        let w = st.width;
        let role = role_of(model, i).1;
        quote!(::bpnet::StateInfo { name: #n, width: #w, role: ::bpnet::Role::#role })
    });
    let dot = super::docs::dot(model);
    // Broken too if a module it nests is (its stand-in has no layout to check).
    let nested_broken: Vec<TokenStream> = users(model)
        .iter()
        .map(|&(i, _)| user_item(model, i, "__BROKEN"))
        .collect();
    quote!(
        #range_consts

        /// Number of parameters in the pool.
        pub const PARAMS: usize = #total;
        /// Whether the declaration, or a network it nests, has errors (then a stand-in is
        /// generated, and a parameter file exported by `bpnet::io::export_rust` does not add
        /// an error of its own).
        #[doc(hidden)]
        pub const __BROKEN: bool = false #(|| #nested_broken)*;
        #(#width_consts)*
        #(#place_consts)*
        /// Every module: name, kind, place in the pool, wiring.
        pub const MODULES: &'static [::bpnet::ModuleInfo] =
            &[#(#module_infos,)* #(#initial_infos),*];
        /// Every state: name, width, role.
        pub const STATES: &'static [::bpnet::StateInfo] = &[#(#state_infos),*];
        /// The graph in Graphviz DOT: states as boxes, modules as ellipses.
        pub const DOT: &'static str = #dot;
    )
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

/// The fields of the states and of the user modules.
pub fn fields(model: &Model) -> TokenStream {
    let f = float_tokens(model.float);
    let rt = rt();
    let users = users(model);
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
                role_of(model, i).0
            );
            quote!(#(#a)* #[doc = #doc] pub #n: ::bpnet::Steps<#f, #w>,)
        } else {
            let doc = format!("The {} `{n}`, width {w}{made}.", role_of(model, i).0);
            quote!(#(#a)* #[doc = #doc] pub #n: ::bpnet::State<#f, #w>,)
        }
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
    quote!(#(#state_fields)* #(#user_fields)*)
}

/// The private aliases of the user modules' types.
pub fn aliases(model: &Model) -> TokenStream {
    let vis = &model.vis;
    let users = users(model);
    let aliases = users.iter().map(|&(i, p)| {
        let alias = user_ty(model, i);
        // The type as written (an unknown type is reported here, once), and the alias every use
        // names: the same type, checked to be a module once, in the anonymous constant.
        let tail = alias.to_string().replacen("__bpnet", "", 1);
        let raw = syn::Ident::new(&format!("__bpnet_raw{tail}"), p.span());
        let ok = quote_spanned!(p.span()=> { <#raw as ::bpnet::Module>::__BROKEN || true });
        quote!(
            #[doc(hidden)] #[allow(non_camel_case_types)] #vis type #raw = #p;
            #[doc(hidden)] #[allow(non_camel_case_types)] #vis type #alias =
                <::bpnet::__private::Checked<#raw, #ok> as ::bpnet::__private::Select>::Type;
        )
    });
    quote!(#(#aliases)*)
}

/// The states' and user modules' initial values, as field initialisers.
pub fn inits(model: &Model, sched: &Schedule) -> TokenStream {
    let users = users(model);
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

    quote!(#(#state_inits)* #(#user_inits)*)
}

/// Compile-time checks of user modules, spanned on the user's type. The messages are built in
/// const items so that they name both sides: the declared width and the module's constant.
pub fn asserts(model: &Model) -> TokenStream {
    let f = float_tokens(model.float);
    let rt = rt();
    let users = users(model);
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
        // A width of 0 is one not known (in `user_checks`, next to other errors): not checked.
        let check_in = (wi > 0).then(|| quote_spanned!(p.span()=>
            const _: () = {
                let found = #t::IN;
                if !#t::__BROKEN && found != #wi {
                    ::core::panic!("{}", #rt::Message::new().str(#msg_in).num(found).as_str());
                }
            };
        ));
        let check_out = (wo > 0).then(|| quote_spanned!(p.span()=>
            const _: () = {
                let found = #t::OUT;
                if !#t::__BROKEN && found != #wo {
                    ::core::panic!("{}", #rt::Message::new().str(#msg_out).num(found).as_str());
                }
            };
        ));
        quote_spanned!(p.span()=>
            #check_in
            #check_out
            const _: fn() = || {
                fn same_float<A: #rt::SameFloat<B>, B>() {}
                same_float::<#t::Float, #f_here>();
            };
        )
    });
    quote!(#(#asserts)*)
}

/// The parameters' initialisation: each kind's (linear: fan-in scaled uniform), each user
/// module's `init`; biases start at zero.
pub fn param_inits(model: &Model, sched: &Schedule) -> TokenStream {
    let inits = model
        .modules
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match &m.kind {
            Kind::Op(op) => op.init(&Cx {
                model,
                sched,
                i,
                form: Form::Sample,
                order: crate::op::Order::First,
                slots: crate::op::Order::First,
                stream: false,
            }),
            Kind::User { path, .. } => {
                let r = range(model, sched, i);
                let t = user_module(model, i);
                let rt = quote_spanned!(path.span()=> ::bpnet::__private);
                Some(quote_spanned!(path.span()=> #t::init(#rt::cast_mut(&mut params[#r]), rng);))
            }
            Kind::Broken => None,
        });
    quote!(#(#inits)*)
}

/// Per-module parameter accessors, and those of the learned initial values.
pub fn accessors(model: &Model, sched: &Schedule) -> TokenStream {
    let f = float_tokens(model.float);
    let accessors = model
        .modules
        .iter()
        .enumerate()
        .filter(|(i, _)| has_accessors(model, *i))
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
                Kind::Op(op) => {
                    let (ins, out) = model.widths(m);
                    op.pool_doc(&ins, out)
                }
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

    quote!(#(#accessors)* #(#initial_accessors)*)
}
