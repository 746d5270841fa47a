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

use crate::model::{InitialM, Kind, Model, ModuleM, StateM, StateRole};
use crate::parse::{Initial, NetworkDef, Stmt, Width};
use proc_macro2::Span;
use quote::ToTokens;
use std::collections::HashMap;
use syn::ext::IdentExt;
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
    /// Its shape once its width is known: `[width]`, or a feature map's sizes.
    pub shape: Option<Vec<usize>>,
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
    /// User modules whose arguments or arity were wrong (reported; their module is `Broken`):
    /// their declared output and their field are still known to the fallback.
    pub broken_users: Vec<ModuleM>,
}

/// A declaration with errors: all of them, and what can still be checked of its user modules.
pub struct Failed {
    pub error: syn::Error,
    /// A model of the user modules alone (see [`user_checks`]), for their compile-time checks.
    pub users: Model,
}

pub fn check(def: &NetworkDef) -> Result<Model, Box<Failed>> {
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
        broken_users: Vec::new(),
    };
    for e in &def.errors {
        c.errs.push(e.clone());
    }
    names::derives(&mut c);
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
fn finish(mut c: Checker) -> Result<Model, Box<Failed>> {
    if let Some(error) = c.errs.0.take() {
        let users = user_checks(&c);
        return Err(Box::new(Failed { error, users }));
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
                shape: p
                    .shape
                    .filter(|s| p.width == Some(crate::op::product(s)))
                    .unwrap_or_else(|| vec![p.width.unwrap_or(1)]),
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

/// The user modules of a declaration with errors, as far as their `const` assertions and bounds
/// can still be checked (`expand::user_checks`), so that their mistakes are reported with the
/// others instead of after those are fixed: each user module with a name of its own (a module
/// without one may be a miswritten built-in, reported as such) and a name used once (the alias is
/// named after it), of a known float. Its output's width is the declared one; its input's is
/// known or 0, which leaves the `IN` assertion out (see `expand::user_checks`).
fn user_checks(c: &Checker) -> Model {
    let def = c.def;
    let mut states: Vec<StateM> = c
        .states
        .iter()
        .map(|p| StateM {
            name: p.name.clone(),
            // A state declared with another width than its module makes (reported) has none
            // that a user module reading it can be checked against.
            width: p
                .width
                .filter(|&w| p.declared.is_none_or(|d| d.value == w))
                .unwrap_or(0),
            shape: Vec::new(),
            width_span: p.name.span(),
            role: p.role,
            attrs: Vec::new(),
            producer: None,
            step: p.step,
            initial: None,
        })
        .collect();
    let named: std::collections::HashSet<String> = c
        .flat
        .iter()
        .filter_map(|(s, _)| match s {
            Stmt::Assign(a) => a.module.as_ref().map(|m| m.unraw().to_string()),
            _ => None,
        })
        .collect();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for m in &c.modules {
        *seen.entry(m.name.unraw().to_string()).or_default() += 1;
    }
    // A user module that reads no single known state is checked against no input: a state of
    // width 0 stands for it.
    let unknown = states.len();
    states.push(StateM {
        name: def.name.clone(),
        width: 0,
        shape: Vec::new(),
        width_span: def.name.span(),
        role: StateRole::Computed,
        attrs: Vec::new(),
        producer: None,
        step: false,
        initial: None,
    });
    let modules = c
        .modules
        .iter()
        .chain(&c.broken_users)
        .filter(|_| !def.float_unknown)
        .filter_map(|m| match &m.kind {
            Kind::User { path, out } => {
                let key = m.name.unraw().to_string();
                (named.contains(&key) && seen[&key] == 1).then_some((m, path, out))
            }
            _ => None,
        })
        .map(|(m, path, out)| {
            states[m.out].width = out.value;
            ModuleM {
                name: m.name.clone(),
                kind: Kind::User {
                    path: path.clone(),
                    out: out.clone(),
                },
                args: match m.args.as_slice() {
                    &[a] if m.arg_idents.len() == 1 => vec![a],
                    _ => vec![unknown],
                },
                arg_idents: m.arg_idents.clone(),
                out: m.out,
                step: m.step,
                delays: m.delays.clone(),
                range: None,
                options: Vec::new(),
                call: m.call.clone(),
            }
        })
        .collect();
    Model {
        attrs: Vec::new(),
        vis: def.vis.clone(),
        name: def.name.clone(),
        float: def.float,
        states,
        modules,
        givens: Vec::new(),
        energy: None,
        output: None,
        order: Vec::new(),
        steps: c.steps,
    }
}
