//! The `network!` procedural macro of bpnet. Use it through the `bpnet` crate.
//!
//! Phases, one module each: `parse` the declaration (recovering statement by statement),
//! `check` names, widths and graph rules (collecting every error), `lower` the checked graph to
//! a schedule of kernel calls, `expand` the schedule to Rust. When there are errors, `fallback`
//! still emits the struct so one mistake does not cascade.

mod check;
mod expand;
mod fallback;
mod lower;
mod parse;
mod unfold;

use proc_macro::TokenStream;

/// Declares a network of modules and generates a struct with its states, its pooled parameters
/// and monomorphic `fprop`/`bprop` methods. See the `bpnet` crate for the grammar.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let def = match syn::parse::<parse::NetworkDef>(input) {
        Ok(def) => def,
        Err(err) => return err.to_compile_error().into(),
    };
    match check::check(&def) {
        Ok(model) => expand::expand(&model, &lower::lower(&model)).into(),
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(fallback::fallback(&def));
            out.into()
        }
    }
}
