//! What is emitted next to the errors: the struct with every state the declaration names and stub
//! methods, so that code using the network does not add errors of its own to the real ones.

use crate::parse::{AssignRole, FloatTy, NetworkDef, Stmt};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub fn fallback(def: &NetworkDef) -> TokenStream {
    let f = match def.float {
        FloatTy::F32 => quote!(f32),
        FloatTy::F64 => quote!(f64),
    };
    let (name, vis, attrs) = (&def.name, &def.vis, &def.attrs);
    let mut seen = std::collections::HashSet::new();
    let mut fields = Vec::new();
    let mut modules = Vec::new();
    let (mut givens, mut inputs, mut has_energy) = (0usize, 0usize, false);
    for stmt in &def.stmts {
        let (state, width) = match stmt {
            Stmt::Decl(d) => {
                givens += 1;
                if d.role == crate::parse::DeclRole::Input {
                    inputs += 1;
                }
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
            Stmt::Broken(name, w) => (name, w.as_ref().map_or(0, |w| w.value)),
        };
        if seen.insert(state.to_string()) {
            fields.push(quote!(pub #state: ::bpnet::State<#f, #width>,));
        }
    }
    let given_tys: Vec<_> = (0..givens).map(|i| format_ident!("A{}", i)).collect();
    let input_tys: Vec<_> = (0..inputs).map(|i| format_ident!("A{}", i)).collect();
    let bprop = if has_energy {
        quote!(
            pub fn bprop(&mut self) {}
        )
    } else {
        quote!(
            pub fn bprop<T>(&mut self, _: T) {}
        )
    };
    let mut seen_modules = std::collections::HashSet::new();
    let accessors = modules
        .iter()
        .filter(|m| seen_modules.insert(m.to_string()))
        .map(|m| {
            let (p, pm, g, gm) = (
                format_ident!("{}_params", m),
                format_ident!("{}_params_mut", m),
                format_ident!("{}_grads", m),
                format_ident!("{}_grads_mut", m),
            );
            quote!(
                pub fn #p(&self) -> &[#f] { &[] }
                pub fn #pm(&mut self) -> &mut [#f] { &mut [] }
                pub fn #g(&self) -> &[#f] { &[] }
                pub fn #gm(&mut self) -> &mut [#f] { &mut [] }
            )
        });
    let network = has_energy.then(|| {
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
            }
        )
    });
    quote!(
        #network
        #(#attrs)*
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis struct #name { #(#fields)* }

        #[allow(dead_code, unused_variables, clippy::all)]
        impl #name {
            pub const PARAMS: usize = 0;
            pub const MODULES: &'static [::bpnet::ModuleInfo] = &[];
            pub const STATES: &'static [::bpnet::StateInfo] = &[];
            pub const DOT: &'static str = "";
            pub fn new<R: ?Sized>(rng: &mut R) -> Self { ::core::unreachable!() }
            pub fn fprop<#(#given_tys),*>(&mut self, #(_: #given_tys),*) -> #f { ::core::unreachable!() }
            pub fn try_fprop<#(#given_tys),*>(&mut self, #(_: #given_tys),*) -> ::core::result::Result<#f, ::bpnet::Error> { ::core::unreachable!() }
            pub fn run<#(#input_tys),*>(&mut self, #(_: #input_tys),*) -> &[#f] { ::core::unreachable!() }
            pub fn try_run<#(#input_tys),*>(&mut self, #(_: #input_tys),*) -> ::core::result::Result<&[#f], ::bpnet::Error> { ::core::unreachable!() }
            #bprop
            pub fn energy(&self) -> #f { ::core::unreachable!() }
            pub fn zero_grad(&mut self) {}
            pub fn sgd_step(&mut self, lr: #f) {}
            pub fn params(&self) -> &[#f] { &[] }
            pub fn params_mut(&mut self) -> &mut [#f] { &mut [] }
            pub fn grads(&self) -> &[#f] { &[] }
            pub fn grads_mut(&mut self) -> &mut [#f] { &mut [] }
            #(#accessors)*
        }
    )
}
