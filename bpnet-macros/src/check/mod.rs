//! Names, widths and graph rules, as a sequence of named passes over one [`Checker`]. Every rule
//! adds its error and checking goes on, so the user sees every mistake at once (combined with
//! `syn::Error::combine`). The rules of one kind (its arity, options and widths) are the kind's,
//! in `kinds/`; the passes apply them.

mod ends;
mod graph;
mod initial;
mod modules;
mod names;
mod options;
mod pool;
mod time;
mod widths;

use crate::model::{InitialM, Model, ModuleM, StateM, StateRole};
use crate::parse::{Initial, NetworkDef, Stmt, Width};
use proc_macro2::Span;
use quote::ToTokens;
use std::collections::HashMap;
use syn::{Attribute, Ident};

/// Every error found, combined.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    pub fn at(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }
    pub fn spanned(&mut self, tokens: impl ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }
    pub fn any(&self) -> bool {
        self.0.is_some()
    }
}

/// Statement data the checker carries while widths are not yet known.
pub struct Pending<'a> {
    pub name: Ident,
    pub width: Option<usize>,
    pub declared: Option<&'a Width>,
    pub role: StateRole,
    pub attrs: Vec<Attribute>,
    pub producer: Option<usize>,
    /// Already reported (a second definition): left out of later rules to avoid cascades.
    pub quiet: bool,
    pub step: bool,
}

/// What the passes know so far.
pub struct Checker<'a> {
    pub def: &'a NetworkDef,
    pub errs: Errors,
    /// The statements, each with whether it is inside the `unfold` block.
    pub flat: Vec<(&'a Stmt, bool)>,
    pub steps: Option<usize>,
    /// `unfold 0` or an unreadable `T` (already reported).
    pub zero_steps: bool,
    pub initials: Vec<&'a Initial>,
    pub states: Vec<Pending<'a>>,
    pub state_ids: HashMap<String, usize>,
    pub givens: Vec<usize>,
    pub energy: Option<(usize, Span)>,
    pub output: Option<(usize, Span)>,
    /// The state of every module statement, in order.
    pub assign_state: Vec<usize>,
    /// Rules about unused states follow the graph's edges; where a statement or an argument
    /// could not be read, or a rule already rejected a role, they would only repeat that error.
    pub incomplete: bool,
    pub modules: Vec<ModuleM>,
    pub order: Vec<usize>,
    pub initial_of: Vec<Option<InitialM>>,
    pub inferred_output: Option<usize>,
}

pub fn check(def: &NetworkDef) -> Result<Model, syn::Error> {
    let mut c = Checker {
        def,
        errs: Errors::default(),
        flat: Vec::new(),
        steps: None,
        zero_steps: false,
        initials: Vec::new(),
        states: Vec::new(),
        state_ids: HashMap::new(),
        givens: Vec::new(),
        energy: None,
        output: None,
        assign_state: Vec::new(),
        incomplete: false,
        modules: Vec::new(),
        order: Vec::new(),
        initial_of: Vec::new(),
        inferred_output: None,
    };
    for e in &def.errors {
        c.errs.push(e.clone());
    }
    names::statements(&mut c);
    names::states(&mut c);
    time::unfold_needs_input(&mut c);
    modules::modules(&mut c);
    graph::energy_ends(&mut c);
    graph::losses_lowered(&mut c);
    time::steps(&mut c);
    graph::order(&mut c);
    widths::widths(&mut c);
    initial::initial_values(&mut c);
    pool::pool(&mut c);
    ends::energy_and_output(&mut c);
    ends::reachability(&mut c);
    finish(c)
}

/// The model, if no rule was broken.
fn finish(c: Checker) -> Result<Model, syn::Error> {
    if let Some(e) = c.errs.0 {
        return Err(e);
    }
    let def = c.def;
    Ok(Model {
        attrs: def.attrs.clone(),
        vis: def.vis.clone(),
        name: def.name.clone(),
        float: def.float,
        states: c
            .states
            .into_iter()
            .zip(c.initial_of)
            .map(|(p, initial)| StateM {
                step: p.step,
                initial,
                width_span: p.declared.map_or(p.name.span(), |w| w.lit.span()),
                name: p.name,
                width: p.width.unwrap_or(1),
                role: p.role,
                attrs: p.attrs,
                producer: p.producer,
            })
            .collect(),
        modules: c.modules,
        givens: c.givens,
        energy: c.energy.map(|(e, _)| e),
        output: c.inferred_output,
        order: c.order,
        steps: c.steps,
    })
}

/// ` (did you mean `hidden`?)` after an unknown state's name near a known one's; else nothing.
pub fn state_hint(c: &Checker, name: &str) -> String {
    crate::suggest::closest(name, c.state_ids.keys().map(String::as_str))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}
