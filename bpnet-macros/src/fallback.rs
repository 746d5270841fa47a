//! What is emitted next to the errors: the struct with every state the declaration names and stub
//! methods, so that code using the network does not add errors of its own to the real ones.

use crate::expand::Build;
use crate::model::Model;
use crate::parse::{AssignRole, BrokenRole, DeclRole, FloatTy, NetworkDef, Stmt};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;

/// `users`: the user modules the stand-in keeps as fields, as `check::Failed::users` has them
/// (their aliases are emitted next to it, by `expand::user_checks`).
pub fn fallback(def: &NetworkDef, users: &Model, build: Build) -> TokenStream {
    let mut d = read(def);
    let (frozen_item, frozen_ctor) = frozen(def, &d, build);
    if build == Build::Inference {
        let Read { f: _, consts, .. } = &d;
        let (name, vis, attrs) = (&def.name, &def.vis, &def.attrs);
        return quote!(
            #(#attrs)*
            #vis enum #name {}
            #[allow(dead_code, unused_variables, clippy::all)]
            impl #name {
                pub const PARAMS: usize = 0;
                pub const __BROKEN: bool = true;
                pub const MODULES: &'static [::bpnet::ModuleInfo] = &[];
                pub const STATES: &'static [::bpnet::StateInfo] = &[];
                pub const DOT: &'static str = "";
                #(#consts)*
                #frozen_ctor
            }
            #frozen_item
        );
    }
    user_fields(&mut d, users);
    let accessors = accessors(&mut d);
    let (network, module) = (network_impls(def, &d), module_impl(def, &d));
    let (batch_item, batch_points) = batch(def, &d);
    let (entry_points, bprop) = (entry_points(&d), bprop(&d));
    let derives = stand_in_derives(def);
    let Read {
        f, fields, consts, ..
    } = &d;
    let (name, vis, attrs) = (&def.name, &def.vis, &def.attrs);
    quote!(
        #network
        #module
        #batch_item
        #(#attrs)*
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis struct #name { #(#fields)* }

        #[allow(dead_code, unused_variables, clippy::all)]
        impl #name {
            pub const PARAMS: usize = 0;
            pub const __BROKEN: bool = true;
            pub const MODULES: &'static [::bpnet::ModuleInfo] = &[];
            pub const STATES: &'static [::bpnet::StateInfo] = &[];
            pub const DOT: &'static str = "";
            #(#consts)*
            pub fn new<R: ?Sized>(rng: &mut R) -> Self { ::core::unreachable!() }
            #entry_points
            #batch_points
            #bprop
            pub fn energy(&self) -> #f { ::core::unreachable!() }
            pub fn set_input_grads(&mut self, on: bool) {}
            pub fn input_grads(&self) -> bool { false }
            pub fn zero_grad(&mut self) {}
            pub fn sgd_step(&mut self, lr: #f) {}
            pub fn params(&self) -> &[#f] { &[] }
            pub fn params_mut(&mut self) -> &mut [#f] { &mut [] }
            pub fn grads(&self) -> &[#f] { &[] }
            pub fn grads_mut(&mut self) -> &mut [#f] { &mut [] }
            pub fn curvature(&self) -> &[#f] { &[] }
            pub fn curvature_mut(&mut self) -> &mut [#f] { &mut [] }
            pub fn zero_curvature(&mut self) {}
            pub fn set_training(&mut self, on: bool) {}
            pub fn training(&self) -> bool { true }
            pub fn seed_dropout(&mut self, seed: u64) {}
            #(#accessors)*
            #frozen_ctor
        }
        #derives
        #frozen_item
    )
}

/// The stand-in inference form, `NameFrozen`, and its constructors.
fn frozen(def: &NetworkDef, d: &Read, build: Build) -> (TokenStream, TokenStream) {
    let (f, vis) = (&d.f, &def.vis);
    let fname = format_ident!("{}Frozen", def.name.unraw());
    let args = d.givens.iter().filter(|g| g.2).map(|(n, w, _, _)| match w {
        Some(w) => quote!(#n: &[#f; #w]),
        None => quote!(#n: &[#f]),
    });
    let entry = if d.unfolded {
        quote!(
            pub fn run_step(&mut self, #(#args),*) -> &[#f] { ::core::unreachable!() }
            pub fn reset(&mut self) {}
        )
    } else {
        quote!(pub fn run(&mut self, #(#args),*) -> &[#f] { ::core::unreachable!() })
    };
    let item = quote!(
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis struct #fname<'p>(&'p [#f]);
        #[allow(dead_code, unused_variables, clippy::all)]
        impl<'p> #fname<'p> {
            pub fn params(&self) -> &'p [#f] { self.0 }
            #entry
        }
    );
    let freeze = (build == Build::Std)
        .then(|| quote!(pub fn freeze(&self) -> #fname<'_> { ::core::unreachable!() }));
    let ctor = quote!(
        pub const fn frozen(params: &[#f]) -> #fname<'_> { #fname(params) }
        #freeze
    );
    (item, ctor)
}

/// `Clone` and `Debug` of the stand-in, as the network has them (unless the declaration
/// derives something: its derive is the error, and must not conflict with these).
fn stand_in_derives(def: &NetworkDef) -> TokenStream {
    if def.attrs.iter().any(|a| a.path().is_ident("derive")) {
        return quote!();
    }
    let name = &def.name;
    quote!(
        impl ::core::clone::Clone for #name {
            fn clone(&self) -> Self { ::core::unreachable!() }
        }
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::unreachable!()
            }
        }
    )
}

/// What the declaration says, read without checking it.
struct Read<'a> {
    f: TokenStream,
    fields: Vec<TokenStream>,
    consts: Vec<TokenStream>,
    modules: Vec<syn::Ident>,
    /// Inputs and targets: (name, width if usable, is an input, per step).
    givens: Vec<(&'a syn::Ident, Option<usize>, bool, bool)>,
    has_energy: bool,
    flat: Vec<(&'a Stmt, bool)>,
    unfolded: bool,
}

fn read(def: &NetworkDef) -> Read<'_> {
    let f = match def.float {
        FloatTy::F32 => quote!(f32),
        FloatTy::F64 => quote!(f64),
    };
    let mut seen = std::collections::HashSet::new();
    let mut fields = Vec::new();
    let mut consts = Vec::new();
    let mut modules = Vec::new();
    // Inputs and targets: (name, width if usable, is an input, per step).
    let mut givens: Vec<(&syn::Ident, Option<usize>, bool, bool)> = Vec::new();
    let mut has_energy = false;
    let mut flat: Vec<(&Stmt, bool)> = Vec::new();
    let mut unfolded = false;
    for stmt in &def.stmts {
        match stmt {
            // Only the first block: the checker reports a second one and leaves it out.
            Stmt::Unfold(u) if !unfolded => {
                unfolded = true;
                flat.extend(u.stmts.iter().map(|s| (s, true)));
            }
            Stmt::Unfold(_) => {}
            other => flat.push((other, false)),
        }
    }
    for &(stmt, step) in &flat {
        let (state, width) = match stmt {
            Stmt::Decl(d) => {
                let w = Some(d.width.value).filter(|&w| w > 0);
                givens.push((&d.name, w, d.role == DeclRole::Input, step));
                (&d.name, d.width.value)
            }
            Stmt::Assign(a) => {
                has_energy |= matches!(a.role, Some((AssignRole::Energy, _)));
                let w = a
                    .width
                    .as_ref()
                    .map(|w| w.value)
                    .or_else(|| a.call.out_width.as_ref().map(|(_, w)| w.value))
                    .unwrap_or(0);
                if let Some(m) = &a.module {
                    modules.push(m.clone());
                }
                (&a.state, w)
            }
            Stmt::Broken(b) => {
                let w = b.width.as_ref().map(|w| w.value).filter(|&w| w > 0);
                match b.role {
                    BrokenRole::Input | BrokenRole::Target => {
                        givens.push((&b.name, w, b.role == BrokenRole::Input, step));
                    }
                    BrokenRole::Energy => has_energy = true,
                    BrokenRole::Output | BrokenRole::Hidden => {}
                }
                if let Some(m) = &b.module {
                    modules.push(m.clone());
                }
                (&b.name, w.unwrap_or(0))
            }
            Stmt::Unfold(_) | Stmt::Initial(_) => continue,
        };
        if seen.insert(state.unraw().to_string()) {
            if step {
                fields.push(quote!(pub #state: ::bpnet::Steps<#f, #width>,));
            } else {
                fields.push(quote!(pub #state: ::bpnet::State<#f, #width>,));
            }
            let c = format_ident!("{}_WIDTH", state.unraw().to_string().to_uppercase());
            consts.push(quote!(pub const #c: usize = #width;));
        }
    }
    // A state given twice (reported) is one argument, as the checker keeps its first definition.
    let mut given_seen = std::collections::HashSet::new();
    givens.retain(|g| given_seen.insert(g.0.unraw().to_string()));
    Read {
        f,
        fields,
        consts,
        modules,
        givens,
        has_energy,
        flat,
        unfolded,
    }
}

impl Read<'_> {
    /// Arguments typed as the real methods' where the width is known, as slices elsewhere.
    fn args(&self, inputs_only: bool) -> Vec<TokenStream> {
        let f = &self.f;
        self.givens
            .iter()
            .filter(|g| !inputs_only || g.2)
            .map(|(n, w, _, step)| match (w, step) {
                (Some(w), false) => quote!(#n: &[#f; #w]),
                (None, false) => quote!(#n: &[#f]),
                (Some(w), true) => quote!(#n: &[[#f; #w]]),
                (None, true) => quote!(#n: impl ::core::marker::Sized),
            })
            .collect()
    }

    /// Rows of samples, or of sequences for the per-step inputs of an unfolded network.
    fn batch_args(&self, inputs_only: bool) -> Vec<TokenStream> {
        let f = &self.f;
        self.givens
            .iter()
            .filter(|g| !inputs_only || g.2)
            .map(|(n, w, _, step)| match (w, step) {
                (Some(w), false) => quote!(#n: &[[#f; #w]]),
                (Some(w), true) => quote!(#n: &[impl ::core::convert::AsRef<[[#f; #w]]>]),
                (None, _) => quote!(#n: impl ::core::marker::Sized),
            })
            .collect()
    }

    fn try_args(&self, inputs_only: bool) -> Vec<TokenStream> {
        self.givens
            .iter()
            .filter(|g| !inputs_only || g.2)
            .map(|(n, _, _, _)| quote!(#n: impl ::core::marker::Sized))
            .collect()
    }
}

/// The field of each user module, typed by its alias, as in the network (unless a state has its
/// name: that clash is reported).
fn user_fields(d: &mut Read, users: &Model) {
    let states: std::collections::HashSet<String> = users
        .states
        .iter()
        .map(|s| s.name.unraw().to_string())
        .collect();
    for (i, m) in users.modules.iter().enumerate() {
        if states.contains(&m.name.unraw().to_string()) {
            continue;
        }
        let (n, ty) = (&m.name, crate::emit::user_ty(users, i));
        d.fields.push(if m.step {
            quote!(pub #n: ::bpnet::__private::Vec<#ty>,)
        } else {
            quote!(pub #n: #ty,)
        });
    }
}

/// `<module>_params` and the other accessors of every named module, and their consts.
fn accessors(d: &mut Read) -> Vec<TokenStream> {
    let f = d.f.clone();
    let consts = &mut d.consts;
    let modules = &d.modules;
    let mut seen_modules = std::collections::HashSet::new();
    modules
        .iter()
        .filter(|m| seen_modules.insert(m.unraw().to_string()))
        .map(|m| {
            let m = m.unraw();
            let upper = m.to_string().to_uppercase();
            let (o, l) = (
                format_ident!("{}_OFFSET", upper),
                format_ident!("{}_LEN", upper),
            );
            consts.push(quote!(pub const #o: usize = 0; pub const #l: usize = 0;));
            let (p, pm, g, gm, c) = (
                format_ident!("{}_params", m),
                format_ident!("{}_params_mut", m),
                format_ident!("{}_grads", m),
                format_ident!("{}_grads_mut", m),
                format_ident!("{}_curvature", m),
            );
            quote!(
                pub fn #c(&self) -> &[#f] { &[] }
                pub fn #p(&self) -> &[#f] { &[] }
                pub fn #pm(&mut self) -> &mut [#f] { &mut [] }
                pub fn #g(&self) -> &[#f] { &[] }
                pub fn #gm(&mut self) -> &mut [#f] { &mut [] }
            )
        })
        .collect::<Vec<_>>()
}

/// `bpnet::Network` and `bpnet::SecondOrder` for a declaration with an energy.
fn network_impls(def: &NetworkDef, d: &Read) -> Option<TokenStream> {
    let (name, f) = (&def.name, &d.f);
    d.has_energy.then(|| {
        quote!(
            #[allow(unused_variables, clippy::all)]
            impl ::bpnet::Network for #name {
                type Float = #f;
                const PARAMS: usize = 0;
                const MODULES: &'static [::bpnet::ModuleInfo] = &[];
                const STATES: &'static [::bpnet::StateInfo] = &[];
                fn params(&self) -> &[#f] { &[] }
                fn params_mut(&mut self) -> &mut [#f] { &mut [] }
                fn grads(&self) -> &[#f] { &[] }
                fn energy(&self) -> #f { ::core::unreachable!() }
                fn zero_grad(&mut self) {}
                fn bprop(&mut self) {}
                fn sgd_step(&mut self, lr: #f) {}
                fn set_input_grads(&mut self, on: bool) {}
                fn input_grads(&self) -> bool { false }
                fn set_training(&mut self, on: bool) {}
                fn training(&self) -> bool { true }
            }
            #[allow(unused_variables, clippy::all)]
            impl ::bpnet::SecondOrder for #name {
                fn bbprop(&mut self) {}
                fn curvature(&self) -> &[#f] { &[] }
                fn zero_curvature(&mut self) {}
            }
        )
    })
}

/// A declaration that would be a module (no energy, an output, one input) still is one, so
/// networks that nest it report nothing about it.
fn module_impl(def: &NetworkDef, d: &Read) -> Option<TokenStream> {
    let (name, f, givens, flat) = (&def.name, &d.f, &d.givens, &d.flat);
    let (unfolded, has_energy) = (d.unfolded, d.has_energy);
    let has_output = flat.iter().any(|(s, _)| match s {
        Stmt::Assign(a) => matches!(a.role, Some((AssignRole::Output, _))),
        Stmt::Broken(b) => b.role == BrokenRole::Output,
        _ => false,
    });
    (!unfolded && !has_energy && has_output && givens.len() == 1 && givens[0].2)
        .then(|| {
        quote!(
            #[allow(unused_variables, clippy::all)]
            impl ::bpnet::Module for #name {
                type Float = #f;
                const IN: usize = 0;
                const OUT: usize = 0;
                const PARAMS: usize = 0;
                const __BROKEN: bool = true;
                fn create() -> Self { ::core::unreachable!() }
                fn init<R: ::bpnet::__private::Rng + ?::core::marker::Sized>(params: &mut [#f], rng: &mut R) {}
                fn fprop(&mut self, params: &[#f], input: &[#f], output: &mut [#f]) {}
                fn bprop(&mut self, params: &[#f], grads: &mut [#f], input: &[#f], output: &[#f], doutput: &[#f], dinput: &mut [#f]) {}
            }
            #[allow(unused_variables, clippy::all)]
            impl ::bpnet::Bbprop for #name {
                fn bbprop(&mut self, params: &[#f], ddparams: &mut [#f], input: &[#f], output: &[#f], ddoutput: &[#f], ddinput: &mut [#f]) {}
            }
        )
    })
}

/// The batch struct and the minibatch methods.
fn batch(def: &NetworkDef, d: &Read) -> (TokenStream, TokenStream) {
    let (name, vis, f, flat, unfolded) = (&def.name, &def.vis, &d.f, &d.flat, d.unfolded);
    let (batch_p, batch_run_p) = (d.batch_args(false), d.batch_args(true));
    // What run_batch returns: rows, or for an output inside the `unfold` block (declared there,
    // or the one an energy `sum(e)` / `last(e)` implies) every step of every sequence.
    let per_step_output = unfolded
        && flat.iter().any(|&(s, step)| match s {
            Stmt::Assign(a) => match a.role {
                Some((AssignRole::Output, _)) => step,
                Some((AssignRole::Energy, _)) => a
                    .call
                    .kind
                    .get_ident()
                    .is_some_and(|k| k == "sum" || k == "last"),
                _ => false,
            },
            Stmt::Broken(b) => b.role == BrokenRole::Output && step,
            _ => false,
        });
    let batch_output = if per_step_output {
        quote!(::bpnet::StepRows<'_, #f, 0>)
    } else {
        quote!(&[::std::vec::Vec<#f>])
    };
    let bname = format_ident!("{}Batch", name);
    let continued = unfolded.then(|| {
        quote!(
            pub fn fprop_batch_continued(&mut self, #(#batch_p),*) -> ::core::result::Result<#f, ::bpnet::Error> { ::core::unreachable!() }
            pub fn run_batch_continued(&mut self, #(#batch_run_p),*) -> ::core::result::Result<#batch_output, ::bpnet::Error> { ::core::unreachable!() }
        )
    });
    let batch_points = quote!(
        #continued
        pub fn reserve_batch(&mut self, capacity: usize) -> ::core::result::Result<(), ::bpnet::Error> { ::core::unreachable!() }
        pub fn set_batch_threads(&mut self, threads: usize) -> ::core::result::Result<(), ::bpnet::Error> { ::core::unreachable!() }
        pub fn batch_threads(&self) -> usize { 1 }
        pub fn batch(&self) -> &#bname { ::core::unreachable!() }
        pub fn fprop_batch(&mut self, #(#batch_p),*) -> ::core::result::Result<#f, ::bpnet::Error> { ::core::unreachable!() }
        pub fn bprop_batch(&mut self) {}
        pub fn bbprop_batch(&mut self) {}
        pub fn run_batch(&mut self, #(#batch_run_p),*) -> ::core::result::Result<#batch_output, ::bpnet::Error> { ::core::unreachable!() }
    );
    let batch_item = quote!(
        #[allow(dead_code)]
        #vis struct #bname {}
    );
    (batch_item, batch_points)
}

/// The per-sample or per-sequence entry points.
fn entry_points(d: &Read) -> TokenStream {
    let (f, unfolded) = (&d.f, d.unfolded);
    let (fprop_p, run_p) = (d.args(false), d.args(true));
    let (try_fprop_p, try_run_p) = (d.try_args(false), d.try_args(true));
    if unfolded {
        quote!(
            pub const STEPS: usize = 0;
            pub fn steps_run(&self) -> usize { 0 }
            pub fn reset(&mut self) {}
            pub fn fprop(&mut self, #(#fprop_p),*) -> ::core::result::Result<#f, ::bpnet::Error> { ::core::unreachable!() }
            pub fn fprop_continued(&mut self, #(#fprop_p),*) -> ::core::result::Result<#f, ::bpnet::Error> { ::core::unreachable!() }
            pub fn try_fprop(&mut self, #(#try_fprop_p),*) -> ::core::result::Result<#f, ::bpnet::Error> { ::core::unreachable!() }
            pub fn run(&mut self, #(#run_p),*) -> ::core::result::Result<::bpnet::StepValues<'_, #f, 0>, ::bpnet::Error> { ::core::unreachable!() }
            pub fn run_continued(&mut self, #(#run_p),*) -> ::core::result::Result<::bpnet::StepValues<'_, #f, 0>, ::bpnet::Error> { ::core::unreachable!() }
            pub fn try_run(&mut self, #(#try_run_p),*) -> ::core::result::Result<::bpnet::StepValues<'_, #f, 0>, ::bpnet::Error> { ::core::unreachable!() }
        )
    } else {
        quote!(
            pub fn fprop(&mut self, #(#fprop_p),*) -> #f { ::core::unreachable!() }
            pub fn try_fprop(&mut self, #(#try_fprop_p),*) -> ::core::result::Result<#f, ::bpnet::Error> { ::core::unreachable!() }
            pub fn run(&mut self, #(#run_p),*) -> &[#f] { ::core::unreachable!() }
            pub fn try_run(&mut self, #(#try_run_p),*) -> ::core::result::Result<&[#f], ::bpnet::Error> { ::core::unreachable!() }
        )
    }
}

/// bprop and bbprop: from the energy, or from a given derivative of the output.
fn bprop(d: &Read) -> TokenStream {
    if d.has_energy {
        quote!(
            pub fn bprop(&mut self) {}
            pub fn bbprop(&mut self) {}
        )
    } else {
        quote!(
            pub fn bprop<T>(&mut self, _: T) {}
            pub fn bbprop<T>(&mut self, _: T) {}
        )
    }
}
