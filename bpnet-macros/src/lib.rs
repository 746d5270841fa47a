//! The `network!` procedural macro of bpnet. Use it through the `bpnet` crate.
//!
//! Phases, one module each: `parse` the declaration (recovering statement by statement),
//! `check` it in named passes (names, modules, time, graph, widths, initial values, energy and
//! output, reachability; collecting every error) into a `model`, `lower` the checked graph to a
//! schedule (unfolding it in time), `expand` the schedule to Rust. When there are errors,
//! `fallback` still emits the struct so one mistake does not cascade, and the user modules'
//! `const` assertions that can still be checked are emitted next to it (`expand::user_checks`),
//! so that they are reported with the others.
//!
//! A built-in kind of module lives in one place: its file in `kinds/`, implementing `op::Op`
//! (width rule, parameters, emission in every sweep and form). `sweep` makes the schedules of
//! both forms (per sample, per minibatch) from the kinds' calls (`user` for user modules), in the
//! places `emit` gives them.

mod check;
mod emit;
mod expand;
mod fallback;
mod kinds;
mod limits;
mod lower;
mod model;
mod op;
mod parse;
mod suggest;
mod sweep;
mod user;

use proc_macro::TokenStream;

/// Declares a network of modules and generates a struct with its states, its pooled parameters
/// and monomorphic `fprop`/`bprop` methods. See the `bpnet` crate for the grammar.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    expand_network(input.into()).into()
}

/// `network!` for bpnet without std: the same declaration, checked the same way, generating the
/// inference form alone (see the `bpnet` crate).
#[proc_macro]
pub fn network_inference(input: TokenStream) -> TokenStream {
    expand_for(input.into(), expand::Build::Inference).into()
}

/// The whole macro on `proc_macro2` tokens (so it can be measured in tests).
fn expand_network(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    expand_for(input, expand::Build::Std)
}

fn expand_for(input: proc_macro2::TokenStream, build: expand::Build) -> proc_macro2::TokenStream {
    let def = match parse::parse_all::<parse::NetworkDef>(input) {
        Ok(def) => def,
        Err(err) => return err.to_compile_error(),
    };
    match check::check(&def) {
        Ok(model) => expand::expand(&model, &lower::lower(&model), build),
        Err(failed) => {
            let mut out = failed.error.to_compile_error();
            out.extend(fallback::fallback(&def, &failed.users, build));
            // The user modules' own checks, which the errors above do not make moot.
            out.extend(expand::user_checks(&failed.users));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    mod corpus;
    mod fuzz;

    use proc_macro2::{TokenStream, TokenTree};
    use quote::quote;

    fn count(tokens: TokenStream) -> usize {
        tokens
            .into_iter()
            .map(|tt| match tt {
                TokenTree::Group(g) => 1 + count(g.stream()),
                _ => 1,
            })
            .sum()
    }

    fn elman(steps: usize) -> TokenStream {
        let steps = proc_macro2::Literal::usize_unsuffixed(steps);
        quote! {
            pub struct Elman {
                unfold #steps {
                    input  x: 4;
                    target y: 1;
                    s      = wx: linear(x -> 32);
                    c      = wh: linear(h[t - 1] -> 32);
                    a      = add(s, c);
                    h      = th: tanh(a);
                    o      = wo: linear(h -> 1);
                    e      = euclidean(o, y);
                }
                energy = sum(e);
            }
        }
    }

    /// The steps are a loop in the generated code, not copies: the expansion's size does not
    /// depend on `T`. (`cargo test -p bpnet-macros -- --nocapture` prints the counts.)
    #[test]
    fn expansion_size_does_not_grow_with_steps() {
        let (small, large) = (
            count(super::expand_network(elman(8))),
            count(super::expand_network(elman(512))),
        );
        println!("expanded tokens: T = 8: {small}, T = 512: {large}");
        assert_eq!(small, large);
        assert!(
            small > 1000,
            "the expansion is a real network: {small} tokens"
        );
        // The README states these numbers; keep it true.
        let readme = include_str!("../../README.md")
            .split_whitespace()
            .collect::<Vec<_>>();
        let claim =
            format!("**{small} tokens with `unfold 8` and {large} tokens with `unfold 512`**.");
        let claim: Vec<&str> = claim.split_whitespace().collect();
        assert!(
            readme.windows(claim.len()).any(|w| w == claim.as_slice()),
            "README.md should say: {}",
            claim.join(" ")
        );
        let text = super::expand_network(elman(8)).to_string();
        assert!(text.contains("for t in 0 .. len"), "no loop over steps");
        assert!(!text.contains("compile_error"), "{text}");
    }
}
