//! Names, widths and graph rules. Every rule adds its error and checking goes on, so the user sees
//! every mistake at once (combined with `syn::Error::combine`).

use crate::parse::{
    AssignRole, BrokenRole, DeclRole, FloatTy, InitialValue, NetworkDef, Stmt, Width,
};
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use std::collections::HashMap;
use syn::ext::IdentExt;
use syn::{Attribute, Ident, Path};

/// A state of the checked network.
pub struct StateM {
    pub name: Ident,
    pub width: usize,
    pub role: StateRole,
    pub attrs: Vec<Attribute>,
    /// The module that computes it (none for inputs and targets).
    pub producer: Option<usize>,
    /// One value per time step (declared inside `unfold`).
    pub step: bool,
    /// For a per-step state read with a delay: its value before step 0.
    pub initial: Option<InitialM>,
}

/// The value a delayed read sees before step 0.
#[derive(Clone)]
pub enum InitialM {
    Zeros,
    /// A parameter vector in the pool.
    Learned,
    Values(Vec<f64>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StateRole {
    Input,
    Target,
    Computed,
}

/// The sigmoid modules with trainable biases, `y = f(x + b)`: one runtime module each, with the
/// same kernels.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Tanh,
    Sigmoid,
    ScaledTanh,
}

impl Act {
    /// The kind as written, which is also the runtime module of its kernels.
    pub fn name(self) -> &'static str {
        match self {
            Act::Tanh => "tanh",
            Act::Sigmoid => "sigmoid",
            Act::ScaledTanh => "scaled_tanh",
        }
    }
}

/// The classification losses: from a state of energies (or logits) and a one-hot target, a scalar.
#[derive(Clone, Copy, PartialEq)]
pub enum Loss {
    Energy,
    Nll { beta: f64 },
    Hinge { margin: f64 },
    CrossEntropy,
}

impl Loss {
    /// The kind as written.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Energy => "energy_loss",
            Loss::Nll { .. } => "nll",
            Loss::Hinge { .. } => "hinge",
            Loss::CrossEntropy => "cross_entropy",
        }
    }

    /// The runtime module of its kernels (`bpnet_runtime::loss::…`).
    pub fn kernels(self) -> &'static str {
        match self {
            Loss::Energy => "energy",
            other => other.name(),
        }
    }

    /// The number it is declared with, passed to every kernel: β or the margin.
    pub fn param(self) -> Option<f64> {
        match self {
            Loss::Nll { beta } => Some(beta),
            Loss::Hinge { margin } => Some(margin),
            Loss::Energy | Loss::CrossEntropy => None,
        }
    }

    /// What the first argument holds.
    fn scores(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "logits",
            _ => "energies",
        }
    }
}

/// The kinds of module.
pub enum Kind {
    Linear {
        out: usize,
    },
    /// `tanh`, `sigmoid` or `scaled_tanh`.
    Act(Act),
    /// `energy_loss`, `nll`, `hinge` or `cross_entropy`.
    Loss(Loss),
    Add,
    Euclidean,
    /// A type implementing `bpnet::Module` (a user module or a nested network).
    User {
        path: Path,
        /// The width the declaration gives its output state.
        out: Width,
    },
    /// The sum of a per-step state over the steps run.
    Sum,
    /// A per-step state at the last step run.
    Last,
    /// A module with an error already reported; never reaches `lower`.
    Broken,
}

impl Kind {
    pub fn label(&self) -> String {
        match self {
            Kind::Linear { .. } => "linear".into(),
            Kind::Act(a) => a.name().into(),
            Kind::Loss(l) => l.name().into(),
            Kind::Add => "add".into(),
            Kind::Euclidean => "euclidean".into(),
            Kind::User { path, .. } => path_string(path),
            Kind::Sum => "sum".into(),
            Kind::Last => "last".into(),
            Kind::Broken => "?".into(),
        }
    }
}

/// A module of the checked network.
pub struct ModuleM {
    pub name: Ident,
    pub kind: Kind,
    /// The states it reads, in order.
    pub args: Vec<usize>,
    /// The identifiers of the arguments as written (for spans).
    pub arg_idents: Vec<Ident>,
    /// The state it writes.
    pub out: usize,
    /// Runs at every step (declared inside `unfold`).
    pub step: bool,
    /// Per argument: how many steps back it is read (0: the current step).
    pub delays: Vec<usize>,
    /// For `sum(e[a..b])`: the steps gathered (`b` open: to the last step run).
    pub range: Option<(usize, Option<usize>)>,
}

impl ModuleM {
    /// The arguments read at the current step, with their positions: the module's dependencies.
    pub fn now_args(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.args
            .iter()
            .zip(&self.delays)
            .enumerate()
            .filter(|(_, (_, d))| **d == 0)
            .map(|(i, (a, _))| (i, *a))
    }
}

/// The checked network: everything `lower` and `expand` need, with no error left to find.
pub struct Model {
    pub attrs: Vec<Attribute>,
    pub vis: syn::Visibility,
    pub name: Ident,
    pub float: FloatTy,
    pub states: Vec<StateM>,
    pub modules: Vec<ModuleM>,
    /// Inputs and targets, in declaration order (the order of fprop's arguments).
    pub givens: Vec<usize>,
    pub energy: Option<usize>,
    pub output: Option<usize>,
    /// Modules in an order where each runs after the modules computing its inputs (delayed
    /// reads, which see an earlier step, are not dependencies).
    pub order: Vec<usize>,
    /// `T` of the `unfold` block, if the network has one.
    pub steps: Option<usize>,
}

impl Model {
    /// How the energy depends on state `s`: `(linearly, otherwise)` — whether some path from `s`
    /// reaches the energy through `add`, `sum` and `last` alone (the energy is then a sum of `s`
    /// and other terms), and whether some path goes through another module. A network's output
    /// without an energy (a network used as a module) has neither.
    pub fn energy_paths(&self, s: usize) -> (bool, bool) {
        let (mut linearly, mut otherwise) = (false, false);
        let mut seen = vec![false; self.states.len()];
        let mut todo = vec![s];
        while let Some(s) = todo.pop() {
            if std::mem::replace(&mut seen[s], true) {
                continue;
            }
            linearly |= Some(s) == self.energy;
            for m in self.modules.iter().filter(|m| m.args.contains(&s)) {
                if matches!(m.kind, Kind::Add | Kind::Sum | Kind::Last) {
                    todo.push(m.out);
                } else {
                    otherwise = true;
                }
            }
        }
        (linearly, otherwise)
    }

    /// The single input of a network that can be used as a module.
    pub fn module_input(&self) -> Option<usize> {
        match (self.energy, self.output, self.givens.as_slice()) {
            (None, Some(_), [only]) if self.steps.is_none() => Some(*only),
            _ => None,
        }
    }

    /// Number of parameters of a built-in module (`None` for user modules).
    pub fn builtin_params(&self, m: &ModuleM) -> Option<usize> {
        match &m.kind {
            Kind::Linear { out } => Some(out * self.states[m.args[0]].width),
            Kind::Act(_) => Some(self.states[m.out].width),
            Kind::Add | Kind::Euclidean | Kind::Loss(_) | Kind::Sum | Kind::Last => Some(0),
            Kind::User { .. } | Kind::Broken => None,
        }
    }
}

/// Every error found, combined.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn at(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }
    fn spanned(&mut self, tokens: impl ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }
}

pub fn path_string(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// Statement data the checker carries while widths are not yet known.
struct Pending<'a> {
    name: Ident,
    width: Option<usize>,
    declared: Option<&'a Width>,
    role: StateRole,
    attrs: Vec<Attribute>,
    producer: Option<usize>,
    /// Already reported (a second definition): left out of later rules to avoid cascades.
    quiet: bool,
    step: bool,
}

pub fn check(def: &NetworkDef) -> Result<Model, syn::Error> {
    let mut errs = Errors::default();
    for e in &def.errors {
        errs.push(e.clone());
    }

    // The statements, each with whether it is inside the `unfold` block.
    let mut flat: Vec<(&Stmt, bool)> = Vec::new();
    let mut steps: Option<usize> = None;
    let mut zero_steps = false;
    let mut initials = Vec::new();
    for stmt in &def.stmts {
        match stmt {
            Stmt::Unfold(u) => {
                if steps.is_some() {
                    errs.spanned(&u.head, "a network has one `unfold` block");
                } else if u.steps.value == 0 {
                    errs.spanned(
                        &u.head,
                        "`unfold 0`: a network is unfolded over at least one step",
                    );
                }
                if steps.is_some() {
                    // A second block's statements are left out: that one error is enough.
                    continue;
                }
                zero_steps = u.steps.value == 0 || u.bad_steps.is_some();
                if let Some(e) = &u.bad_steps {
                    errs.push(e.clone());
                }
                steps = Some(u.steps.value.max(1));
                for inner in &u.stmts {
                    match inner {
                        Stmt::Unfold(nested) => errs.spanned(
                            &nested.head,
                            "`unfold` blocks do not nest: a network has one time axis",
                        ),
                        Stmt::Initial(i) => initials.push(i),
                        other => flat.push((other, true)),
                    }
                }
            }
            Stmt::Initial(i) => initials.push(i),
            other => flat.push((other, false)),
        }
    }

    // Names: states first (any order of declaration is allowed), then modules.
    let mut states: Vec<Pending> = Vec::new();
    let mut state_ids: HashMap<String, usize> = HashMap::new();
    let mut givens = Vec::new();
    let mut energy: Option<(usize, Span)> = None;
    let mut output: Option<(usize, Span)> = None;
    let mut assign_state = Vec::new();
    let no_attrs = Vec::new();
    // Rules about unused states follow the graph's edges; where a statement or an argument could
    // not be read, or a rule already rejected a role, they would only repeat that error.
    let mut incomplete = flat.iter().any(|(s, _)| matches!(s, Stmt::Broken(..)));
    for &(stmt, step) in &flat {
        let (name, attrs, role, width, declared, marks) = match stmt {
            Stmt::Decl(d) => {
                let role = match d.role {
                    DeclRole::Input => StateRole::Input,
                    DeclRole::Target => StateRole::Target,
                };
                (
                    &d.name,
                    &d.attrs,
                    role,
                    Some(d.width.value),
                    Some(&d.width),
                    None,
                )
            }
            Stmt::Assign(a) => (
                &a.state,
                &a.attrs,
                StateRole::Computed,
                None,
                a.width.as_ref(),
                a.role,
            ),
            Stmt::Broken(b) => {
                let (role, marks) = match b.role {
                    BrokenRole::Input => (StateRole::Input, None),
                    BrokenRole::Target => (StateRole::Target, None),
                    BrokenRole::Energy => (
                        StateRole::Computed,
                        Some((AssignRole::Energy, b.name.span())),
                    ),
                    BrokenRole::Output => (
                        StateRole::Computed,
                        Some((AssignRole::Output, b.name.span())),
                    ),
                    BrokenRole::Hidden => (StateRole::Computed, None),
                };
                (
                    &b.name,
                    &no_attrs,
                    role,
                    b.width.as_ref().map(|w| w.value),
                    b.width.as_ref(),
                    marks,
                )
            }
            Stmt::Unfold(_) | Stmt::Initial(_) => unreachable!("flattened above"),
        };
        let key = name.unraw().to_string();
        if key.starts_with("__") {
            errs.at(
                name.span(),
                format!("`{key}`: names starting with `__` are reserved for generated code"),
            );
        }
        if let Some(w) = declared
            && w.value == 0
        {
            errs.spanned(
                &w.lit,
                format!("state `{key}` has width 0; a state needs at least one component"),
            );
        }
        let id = states.len();
        let mut quiet = false;
        if let Some(&first) = state_ids.get(&key) {
            quiet = true;
            errs.at(
                name.span(),
                format!(
                    "state `{key}` is defined twice (first as {}); a state has one definition",
                    match states[first].role {
                        StateRole::Input => "an input",
                        StateRole::Target => "a target",
                        StateRole::Computed => "a module's output",
                    }
                ),
            );
        } else {
            state_ids.insert(key.clone(), id);
        }
        if role != StateRole::Computed {
            givens.push(id);
        }
        if let Stmt::Assign(_) = stmt {
            assign_state.push(id);
        }
        if let Some((r, span)) = marks {
            let slot = match r {
                AssignRole::Energy => &mut energy,
                AssignRole::Output => &mut output,
            };
            let what = match r {
                AssignRole::Energy => "energy",
                AssignRole::Output => "output",
            };
            if let Some((prev, _)) = slot {
                quiet = true;
                incomplete = true;
                errs.at(
                    span,
                    format!(
                        "a network has one {what}: `{key}` is a second one, after `{}`",
                        states[*prev].name
                    ),
                );
            } else {
                *slot = Some((id, span));
            }
        }
        states.push(Pending {
            name: name.clone(),
            width: width.filter(|&w| w > 0),
            declared,
            role,
            attrs: attrs.clone(),
            producer: None,
            quiet,
            step,
        });
    }

    // An unfolded network's calls take their number of steps from a per-step input.
    if let Some(u) = def.stmts.iter().find_map(|s| match s {
        Stmt::Unfold(u) => Some(u),
        _ => None,
    }) && !states
        .iter()
        .any(|st| st.step && st.role == StateRole::Input)
        && !flat
            .iter()
            .any(|(s, step)| *step && matches!(s, Stmt::Broken(b) if b.role == BrokenRole::Input))
    {
        errs.spanned(
            &u.head,
            "an `unfold` block needs a per-step `input`: the length of its sequence is the number \
             of steps a call runs",
        );
    }

    // Modules: kinds, names, arguments and arities.
    let mut modules: Vec<ModuleM> = Vec::new();
    let mut module_ids: HashMap<String, Ident> = HashMap::new();
    let assigns = flat.iter().filter_map(|&(s, step)| match s {
        Stmt::Assign(a) => Some((a, step)),
        _ => None,
    });
    for ((a, step), &out) in assigns.zip(&assign_state) {
        let call = &a.call;
        let kind_name = path_string(&call.kind);
        let kind = match kind_name.as_str() {
            "linear" => Some(match &call.out_width {
                Some((_, w)) if w.value > 0 => Kind::Linear { out: w.value },
                _ => Kind::Broken,
            }),
            "tanh" => Some(Kind::Act(Act::Tanh)),
            "sigmoid" => Some(Kind::Act(Act::Sigmoid)),
            "scaled_tanh" => Some(Kind::Act(Act::ScaledTanh)),
            "add" => Some(Kind::Add),
            "euclidean" => Some(Kind::Euclidean),
            // The options (β, the margin) are read below, once the module has a name.
            "energy_loss" => Some(Kind::Loss(Loss::Energy)),
            "nll" => Some(Kind::Loss(Loss::Nll { beta: 1.0 })),
            "hinge" => Some(Kind::Loss(Loss::Hinge { margin: 1.0 })),
            "cross_entropy" => Some(Kind::Loss(Loss::CrossEntropy)),
            "sum" | "last" if step => {
                incomplete = true;
                errs.spanned(
                    &call.kind,
                    format!(
                        "`{kind_name}` gathers the steps of the `unfold` block: it goes after the \
                         block, not inside it"
                    ),
                );
                None
            }
            "sum" => Some(Kind::Sum),
            "last" => Some(Kind::Last),
            _ if call.kind.segments.len() == 1
                && kind_name.starts_with(|c: char| c.is_ascii_lowercase()) =>
            {
                errs.spanned(
                    &call.kind,
                    format!(
                        "unknown module `{kind_name}`: the built-in modules are `linear`, `tanh`, \
                         `sigmoid`, `scaled_tanh`, `add`, `euclidean`, the losses `energy_loss`, \
                         `nll`, `hinge` and `cross_entropy`, and `sum` and `last` after an \
                         `unfold` block; a user module is a type that implements `bpnet::Module`"
                    ),
                );
                None
            }
            _ => match &a.width {
                Some(w) => Some(Kind::User {
                    path: call.kind.clone(),
                    out: w.clone(),
                }),
                None => {
                    errs.spanned(
                        &a.state,
                        format!(
                            "state `{}` is made by user module `{kind_name}`, whose output width the \
                             macro cannot see: declare it, as in `{}: N = …`",
                            a.state, a.state
                        ),
                    );
                    None
                }
            },
        };
        let mut kind = kind.unwrap_or(Kind::Broken);

        // The module's name: given, or (for built-ins) the state's.
        let name = match (&a.module, &kind) {
            (Some(m), _) => m.clone(),
            (None, Kind::User { out, .. }) => {
                errs.spanned(
                    &call.kind,
                    format!(
                        "user module `{kind_name}` needs a name, which becomes its field: \
                         `{}: {} = NAME: {kind_name}(…)`",
                        a.state, out.value
                    ),
                );
                a.state.clone()
            }
            (None, _) => a.state.clone(),
        };
        let key = name.unraw().to_string();
        if let Some(first) = module_ids.get(&key) {
            errs.at(
                name.span(),
                format!(
                    "module `{key}` is defined twice (first for state `{}`); a module has one definition",
                    first
                ),
            );
        } else {
            module_ids.insert(key.clone(), a.state.clone());
        }
        if matches!(kind, Kind::User { .. }) && a.module.is_some() {
            if key.starts_with("__") {
                errs.at(
                    name.span(),
                    format!("`{key}`: names starting with `__` are reserved for generated code"),
                );
            }
            if let Some(&s) = state_ids.get(&key) {
                errs.at(
                    name.span(),
                    format!(
                        "user module `{key}` becomes a field of the struct, like state `{}`: give them different names",
                        states[s].name
                    ),
                );
            }
        }

        // Options: a loss's β or margin.
        check_options(&mut kind, &call.options, &key, def.float, &mut errs);

        // Arity and the output width arrow.
        let (want, form) = match kind {
            Kind::Linear { .. } => (Arity::Exactly(1), "`linear(x -> N)`".to_string()),
            Kind::Broken => (Arity::AtLeast(0), String::new()),
            Kind::Act(a) => (Arity::Exactly(1), format!("`{}(x)`", a.name())),
            Kind::User { .. } => (Arity::Exactly(1), "`Type(x)`".to_string()),
            Kind::Euclidean => (Arity::Exactly(2), "`euclidean(x, y)`".to_string()),
            Kind::Loss(Loss::CrossEntropy) => {
                (Arity::Exactly(2), "`cross_entropy(logits, y)`".to_string())
            }
            Kind::Loss(l) => (Arity::Exactly(2), format!("`{}(energies, y)`", l.name())),
            Kind::Add => (Arity::AtLeast(2), "`add(a, b, …)`".to_string()),
            Kind::Sum => (Arity::Exactly(1), "`sum(e)`".to_string()),
            Kind::Last => (Arity::Exactly(1), "`last(h)`".to_string()),
        };
        let n = call.args.len();
        let arity_ok = match want {
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
        };
        if !arity_ok {
            incomplete = true;
            let need = match want {
                Arity::Exactly(1) => "one input state".to_string(),
                Arity::Exactly(k) => format!("{k} input states"),
                Arity::AtLeast(k) => format!("at least {k} input states"),
            };
            errs.spanned(
                call.tokens(),
                format!(
                    "module `{key}` ({}) takes {need}, as in {form}, but is given {n}",
                    kind.label()
                ),
            );
        }
        match (kind_name.as_str(), &kind, &call.out_width) {
            ("linear", _, None) => errs.spanned(
                call.tokens(),
                format!("linear module `{key}` needs its output width: `linear(x -> N)`"),
            ),
            ("linear", _, Some((_, w))) if w.value == 0 => errs.spanned(
                &w.lit,
                format!(
                    "linear module `{key}` has output width 0; a state needs at least one component"
                ),
            ),
            ("linear", _, Some(_)) | (_, _, None) | (_, Kind::Broken, _) => {}
            (_, other, Some((arrow, _))) => errs.spanned(
                arrow,
                format!(
                    "only `linear` takes an output width (`-> N`); {} module `{key}` {}",
                    other.label(),
                    match other {
                        Kind::User { .. } => "gets it from its state's declared width",
                        Kind::Euclidean => "makes the scalar energy",
                        Kind::Loss(_) => "makes the scalar loss",
                        _ => "keeps the width of its input",
                    }
                ),
            ),
        }

        // Arguments, and the steps they are read at.
        let mut args = Vec::new();
        let mut delays = Vec::new();
        let mut range = None;
        let mut arg_ok = true;
        for (arg, delay) in call.args.iter().zip(&call.delays) {
            match state_ids.get(&arg.unraw().to_string()) {
                Some(&s) => {
                    args.push(s);
                    let mut k = 0;
                    if let Some(d) = delay
                        && let Some((a, b)) = d.range
                    {
                        let t = steps.unwrap_or(usize::MAX);
                        if kind_name != "sum" {
                            errs.spanned(
                                &d.tokens,
                                format!(
                                    "a range of steps `{arg}[{a}..{}]` is what `sum` gathers; \
                                     module `{key}` reads one step",
                                    b.map_or(String::new(), |b| b.to_string())
                                ),
                            );
                        } else if b.is_some_and(|b| b <= a) || a >= t || b.is_some_and(|b| b > t) {
                            errs.spanned(
                                &d.tokens,
                                format!(
                                    "`{arg}[{a}..{}]` is not a range of steps of `0..{t}`: it needs \
                                     start < end ≤ T",
                                    b.map_or(String::new(), |b| b.to_string())
                                ),
                            );
                        } else {
                            range = Some((a, b));
                        }
                    } else if let Some(d) = delay {
                        // A rejected delay still is no dependency: no cycle is reported for it.
                        if d.offset != 0 {
                            k = d.offset.unsigned_abs() as usize;
                        }
                        if d.offset > 0 {
                            incomplete = true;
                            errs.spanned(
                                &d.tokens,
                                format!(
                                    "`{arg}[t + {}]` reads a future step; a module at step `t` reads \
                                     steps `t` or earlier",
                                    d.offset
                                ),
                            );
                        } else if !step {
                            incomplete = true;
                            errs.spanned(
                                &d.tokens,
                                format!(
                                    "`{arg}[t - {}]`: a delay is read inside an `unfold` block, and \
                                     module `{key}` is outside any",
                                    -d.offset
                                ),
                            );
                        } else if !states[s].step {
                            incomplete = true;
                            errs.spanned(
                                &d.tokens,
                                format!(
                                    "`{arg}` has one value for the whole sequence (it is declared \
                                     outside the `unfold` block), so it has no earlier step to read"
                                ),
                            );
                        } else if let Some(t) = steps
                            && (-d.offset) as usize >= t
                            && !zero_steps
                        {
                            incomplete = true;
                            errs.spanned(
                                &d.tokens,
                                format!(
                                    "`{arg}[t - {}]` reaches back {} steps, but the network is \
                                     unfolded over {t}: a delay must be less than `T`",
                                    -d.offset, -d.offset
                                ),
                            );
                        }
                    }
                    delays.push(k);
                }
                None => {
                    arg_ok = false;
                    incomplete = true;
                    let hint = closest(&arg.unraw().to_string(), state_ids.keys())
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default();
                    errs.at(arg.span(), format!("unknown state `{arg}`{hint}"));
                }
            }
        }
        if states[out].quiet {
            continue;
        }
        let arg_idents = call
            .args
            .iter()
            .filter(|a| state_ids.contains_key(&a.unraw().to_string()))
            .cloned()
            .collect();
        states[out].producer = Some(modules.len());
        modules.push(ModuleM {
            name,
            kind: if arg_ok && arity_ok {
                kind
            } else {
                Kind::Broken
            },
            args,
            arg_idents,
            out,
            step,
            delays,
            range,
        });
    }

    // The energy ends the graph.
    if let Some((e, _)) = energy {
        for m in &modules {
            for (arg, ident) in m.args.iter().zip(&m.arg_idents) {
                if *arg == e {
                    incomplete = true;
                    errs.at(
                        ident.span(),
                        format!(
                            "the energy `{}` ends the network; module `{}` cannot read it",
                            states[e].name, m.name
                        ),
                    );
                }
            }
        }
    }

    // A loss is lowered: it becomes the energy, alone or added to others, and nothing computes
    // with it. (Losses added, or gathered over the steps, are losses too.)
    let mut lossy = vec![false; states.len()];
    loop {
        let mut changed = false;
        for m in &modules {
            let l = matches!(m.kind, Kind::Loss(_))
                || (matches!(m.kind, Kind::Add | Kind::Sum | Kind::Last)
                    && m.args.iter().any(|&a| lossy[a]));
            if l && !lossy[m.out] {
                lossy[m.out] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for m in &modules {
        if matches!(m.kind, Kind::Add | Kind::Sum | Kind::Last | Kind::Broken) {
            continue;
        }
        for (&a, ident) in m.args.iter().zip(&m.arg_idents) {
            if lossy[a] && energy.is_none_or(|(e, _)| e != a) {
                errs.at(
                    ident.span(),
                    format!(
                        "`{ident}` is a loss, to be lowered, not a state to compute with: it \
                         becomes the energy, alone or added to others (`add`, `sum`, `last`), \
                         and {} module `{}` cannot read it",
                        m.kind.label(),
                        m.name
                    ),
                );
            }
        }
    }

    // Time: what runs at every step, what runs once, and how they meet.
    for m in &modules {
        match (&m.kind, m.step) {
            (Kind::Sum | Kind::Last, _) => {
                for (&a, ident) in m.args.iter().zip(&m.arg_idents) {
                    if !states[a].step {
                        errs.at(
                            ident.span(),
                            format!(
                                "`{}({ident})`: `{ident}` has one value for the whole sequence; \
                                 `{}` gathers a state of the `unfold` block",
                                m.kind.label(),
                                m.kind.label()
                            ),
                        );
                    }
                }
            }
            (_, false) => {
                for (&a, ident) in m.args.iter().zip(&m.arg_idents) {
                    if states[a].step {
                        errs.at(
                            ident.span(),
                            format!(
                                "module `{}` runs once, after the `unfold` block, but `{ident}` has \
                                 a value at every step: read `last({ident})` or `sum({ident})`",
                                m.name
                            ),
                        );
                    }
                }
            }
            (_, true) => {}
        }
    }
    // A state computed once, after the steps (from `sum`/`last`), cannot feed a step.
    let mut after = vec![false; states.len()];
    loop {
        let mut changed = false;
        for m in &modules {
            let from_steps = matches!(m.kind, Kind::Sum | Kind::Last)
                || (!m.step && m.args.iter().any(|&a| after[a]));
            if from_steps && !after[m.out] {
                after[m.out] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for m in modules.iter_mut().filter(|m| m.step) {
        for ((&a, ident), d) in m.args.iter().zip(&m.arg_idents).zip(m.delays.iter_mut()) {
            if after[a] && !states[a].step {
                // Reported here; not also as the cycle it closes.
                *d = usize::MAX;
                incomplete = true;
                errs.at(
                    ident.span(),
                    format!(
                        "`{ident}` is computed after the steps (from `sum` or `last`), so module \
                         `{}` inside the `unfold` block cannot read it",
                        m.name
                    ),
                );
            }
        }
    }
    if let (Some((e, span)), Some(_)) = (energy, steps)
        && states[e].step
    {
        errs.at(
            span,
            format!(
                "the energy of an unfolded network is one number for the whole sequence: name \
                 the per-step value `{0}` something else, say `e`, and declare after the block \
                 `energy = sum(e)` (every step) or `energy = last(e)` (the last step)",
                states[e].name
            ),
        );
    }

    // Graph: a topological order of the modules, or the cycles that prevent one.
    let order = topological_order(&modules, &states, &mut errs);

    // Widths: what each module makes, until nothing changes (a delayed read may see a state
    // computed later in the order); then the rules, once every width that can be known is.
    let arg_text = |m: &ModuleM, i: usize| -> String {
        match m.delays[i] {
            0 => m.arg_idents[i].to_string(),
            d => format!("{}[t - {d}]", m.arg_idents[i]),
        }
    };
    let made_by = |m: &ModuleM, states: &[Pending]| -> Option<usize> {
        let known = || m.args.iter().find_map(|&a| states[a].width);
        match &m.kind {
            Kind::Broken => None,
            Kind::Linear { out } => Some(*out),
            Kind::User { out, .. } => Some(out.value),
            Kind::Euclidean | Kind::Loss(_) => Some(1),
            Kind::Add => known(),
            Kind::Act(_) | Kind::Sum | Kind::Last => states[m.args[0]].width,
        }
    };
    loop {
        let mut changed = false;
        for &mi in &order {
            let m = &modules[mi];
            if states[m.out].width.is_some() {
                continue;
            }
            let made = made_by(m, &states);
            let st = &mut states[m.out];
            st.width = made.or(st.declared.map(|d| d.value)).filter(|&w| w > 0);
            changed |= st.width.is_some();
        }
        if !changed {
            break;
        }
    }
    for &mi in &order {
        let m = &modules[mi];
        if matches!(m.kind, Kind::Add | Kind::Euclidean) {
            let widths: Vec<Option<usize>> = m.args.iter().map(|&a| states[a].width).collect();
            if let Some(first) = widths[0] {
                for (i, w) in widths.iter().enumerate().skip(1) {
                    if let Some(w) = *w
                        && w != first
                    {
                        errs.at(
                            m.arg_idents[i].span(),
                            format!(
                                "{} module `{}` needs inputs of equal width: `{}` has width {first}, \
                                 but `{}` has width {w}",
                                m.kind.label(),
                                m.name,
                                arg_text(m, 0),
                                arg_text(m, i),
                            ),
                        );
                    }
                }
            }
        }
        if let Kind::Loss(loss) = m.kind {
            check_loss(m, loss, &states, &modules, &arg_text, &mut errs);
        }
        let st = &states[m.out];
        if let (Some(w), Some(d)) = (made_by(m, &states), st.declared)
            && w != d.value
            && d.value != 0
            && !matches!(m.kind, Kind::User { .. })
        {
            errs.spanned(
                &d.lit,
                format!(
                    "state `{}` is declared with width {}, but {} module `{}` makes width {}",
                    st.name,
                    d.value,
                    m.kind.label(),
                    m.name,
                    w
                ),
            );
        }
    }
    for st in &states {
        if st.width.is_none() && errs.0.is_none() {
            errs.at(
                st.name.span(),
                format!(
                    "the width of `{}` cannot be worked out: it only flows around a loop; \
                     declare it, as in `{}: N = …`",
                    st.name, st.name
                ),
            );
        }
    }

    // Statements that define a state without a module (errors above) leave it unknown; a state
    // defined by nothing at all cannot happen (every state has a statement).

    // Initial values of the states read with a delay.
    let mut delayed = vec![false; states.len()];
    for m in &modules {
        for (&a, &d) in m.args.iter().zip(&m.delays) {
            delayed[a] |= d > 0;
        }
    }
    let mut initial_of: Vec<Option<InitialM>> = delayed
        .iter()
        .map(|&d| d.then_some(InitialM::Zeros))
        .collect();
    let mut given_initial = vec![false; states.len()];
    for init in &initials {
        let name = init.state.unraw().to_string();
        let Some(&s) = state_ids.get(&name) else {
            let hint = closest(&name, state_ids.keys())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            errs.at(init.state.span(), format!("unknown state `{name}`{hint}"));
            continue;
        };
        if !delayed[s] {
            errs.at(
                init.state.span(),
                format!(
                    "`initial {name}`: no module reads `{name}` with a delay (`{name}[t - 1]`), so \
                     it has no use for an initial value"
                ),
            );
            continue;
        }
        if std::mem::replace(&mut given_initial[s], true) {
            errs.at(
                init.state.span(),
                format!("`{name}` is given a second initial value"),
            );
            continue;
        }
        initial_of[s] = Some(match &init.value {
            InitialValue::Zeros => InitialM::Zeros,
            InitialValue::Learned => InitialM::Learned,
            InitialValue::Values(v, tokens) => {
                if let Some(w) = states[s].width
                    && v.len() != w
                {
                    errs.spanned(
                        tokens,
                        format!(
                            "the initial value of `{name}` has {} values, but `{name}` has width {w}",
                            v.len()
                        ),
                    );
                }
                InitialM::Values(v.clone())
            }
        });
    }

    // Energy and output.
    if let Some((e, span)) = energy {
        if let Some(w) = states[e].width
            && w != 1
        {
            errs.at(
                span,
                format!(
                    "the energy must be a scalar, but `{}` has width {w}{}",
                    states[e].name,
                    states[e].producer.map_or(String::new(), |p| format!(
                        " (made by {} module `{}`)",
                        modules[p].kind.label(),
                        modules[p].name
                    ))
                ),
            );
        }
    } else {
        for &g in &givens {
            if states[g].role == StateRole::Target {
                errs.at(
                    states[g].name.span(),
                    format!(
                        "target `{}` needs an energy to compare against: add `energy = euclidean(out, {})`",
                        states[g].name, states[g].name
                    ),
                );
            }
        }
        if output.is_none() {
            errs.at(
                def.name.span(),
                format!(
                    "network `{}` has neither an energy nor an output: declare `energy = …` to train it, \
                     or `output out = …` to use it as a module",
                    def.name
                ),
            );
        }
    }
    let output = output.map(|(o, _)| o).or_else(|| {
        // Inferred: the side of the energy's Euclidean distance that is not a target (looking
        // through `sum` or `last` in an unfolded network).
        let (e, _) = energy?;
        let mut m = &modules[states[e].producer?];
        if matches!(m.kind, Kind::Sum | Kind::Last) {
            m = &modules[states[m.args[0]].producer?];
        }
        // A loss's energies (or logits): run gives the scores to classify by.
        if matches!(m.kind, Kind::Loss(_)) {
            return (states[m.args[0]].role != StateRole::Target).then_some(m.args[0]);
        }
        if !matches!(m.kind, Kind::Euclidean) {
            return None;
        }
        let free: Vec<usize> = m
            .args
            .iter()
            .copied()
            .filter(|&a| states[a].role != StateRole::Target)
            .collect();
        (free.len() == 1 && free.len() < m.args.len()).then(|| free[0])
    });

    // Reachability: everything must lead to the energy (or to the output of a module network).
    if let Some(sink) = energy.map(|(e, _)| e).or(output) {
        let mut used = vec![false; states.len()];
        let mut stack = vec![sink];
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut used[s], true) {
                continue;
            }
            if let Some(p) = states[s].producer {
                stack.extend(modules[p].args.iter().copied());
            }
        }
        let sink_name = &states[sink].name;
        for (s, st) in states.iter().enumerate() {
            // Without an energy a target is already reported as needing one.
            let energyless_target = energy.is_none() && st.role == StateRole::Target;
            if used[s] || st.quiet || incomplete || energyless_target {
                continue;
            }
            match st.role {
                StateRole::Input | StateRole::Target => errs.at(
                    st.name.span(),
                    format!(
                        "{} `{}` is never used: nothing on the way to `{sink_name}` reads it",
                        if st.role == StateRole::Input { "input" } else { "target" },
                        st.name
                    ),
                ),
                StateRole::Computed => errs.at(
                    st.name.span(),
                    format!(
                        "state `{}` does not lead to `{sink_name}`: its module would run for nothing",
                        st.name
                    ),
                ),
            }
        }
    }
    if let Some(o) = output {
        // The output must be computable without the targets (run takes inputs only).
        let mut stack = vec![o];
        let mut seen = vec![false; states.len()];
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut seen[s], true) {
                continue;
            }
            let Some(p) = states[s].producer else {
                continue;
            };
            for (&a, ident) in modules[p].args.iter().zip(&modules[p].arg_idents) {
                if states[a].role == StateRole::Target {
                    errs.at(
                        ident.span(),
                        format!(
                            "output `{}` would depend on target `{}` through module `{}`; \
                             run() computes the output from the inputs alone",
                            states[o].name, states[a].name, modules[p].name
                        ),
                    );
                }
                stack.push(a);
            }
        }
    }

    if let Some(e) = errs.0 {
        return Err(e);
    }
    Ok(Model {
        attrs: def.attrs.clone(),
        vis: def.vis.clone(),
        name: def.name.clone(),
        float: def.float,
        states: states
            .into_iter()
            .zip(initial_of)
            .map(|(p, initial)| StateM {
                step: p.step,
                initial,
                name: p.name,
                width: p
                    .width
                    .expect("every state's width is known when no error was found"),
                role: p.role,
                attrs: p.attrs,
                producer: p.producer,
            })
            .collect(),
        modules,
        givens,
        energy: energy.map(|(e, _)| e),
        output,
        order,
        steps,
    })
}

enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

/// A call's `name = value` options: `beta` for `nll` (> 0), `margin` for `hinge` (≥ 0), none for
/// the other kinds. Sets the loss's number; a wrong option is reported and the default kept.
fn check_options(
    kind: &mut Kind,
    options: &[crate::parse::CallOption],
    key: &str,
    float: FloatTy,
    errs: &mut Errors,
) {
    // The value as the network's float will hold it, and that float's name and largest value.
    let (as_float, ty, min, max): (fn(f64) -> f64, _, _, _) = match float {
        FloatTy::F32 => (
            |v| f64::from(v as f32),
            "f32",
            format!("{:e}", f32::from_bits(1)),
            format!("{:e}", f32::MAX),
        ),
        FloatTy::F64 => (
            |v| v,
            "f64",
            format!("{:e}", f64::from_bits(1)),
            format!("{:e}", f64::MAX),
        ),
    };
    let mut given = false;
    for opt in options {
        let name = opt.name.unraw().to_string();
        let label = kind.label();
        match kind {
            Kind::Broken => {}
            Kind::Loss(Loss::Nll { beta }) if name == "beta" => {
                if std::mem::replace(&mut given, true) {
                    errs.spanned(
                        &opt.tokens,
                        format!("`beta` is given twice to nll module `{key}`"),
                    );
                } else if opt.value > 0.0 && opt.value.is_finite() {
                    let v = as_float(opt.value);
                    if v.is_finite() && v > 0.0 {
                        *beta = opt.value;
                    } else {
                        errs.spanned(
                            &opt.tokens,
                            format!(
                                "β of nll module `{key}` is {} as {ty}: `beta` must lie between \
                                 {min} and {max}, the smallest positive and the largest {ty}",
                                if v.is_finite() { "zero" } else { "infinite" },
                            ),
                        );
                    }
                } else {
                    errs.spanned(
                        &opt.tokens,
                        format!(
                            "β, the inverse temperature of nll module `{key}`, is a positive \
                             number (1 by default): a smaller `beta` makes its probabilities \
                             flatter, a larger one sharper"
                        ),
                    );
                }
            }
            Kind::Loss(Loss::Hinge { margin }) if name == "margin" => {
                if std::mem::replace(&mut given, true) {
                    errs.spanned(
                        &opt.tokens,
                        format!("`margin` is given twice to hinge module `{key}`"),
                    );
                } else if opt.value >= 0.0 && opt.value.is_finite() {
                    if as_float(opt.value).is_finite() {
                        *margin = opt.value;
                    } else {
                        errs.spanned(
                            &opt.tokens,
                            format!(
                                "the margin of hinge module `{key}` is infinite as {ty}: \
                                 `margin` must be at most {max}, the largest {ty}"
                            ),
                        );
                    }
                } else {
                    errs.spanned(
                        &opt.tokens,
                        format!(
                            "the margin of hinge module `{key}` is zero or more (1 by default): \
                             how much lower than every other class's the correct class's energy \
                             must be"
                        ),
                    );
                }
            }
            Kind::Loss(Loss::Nll { .. }) => errs.spanned(
                &opt.name,
                format!("nll module `{key}` takes one option, `beta = …`, not `{name}`"),
            ),
            Kind::Loss(Loss::Hinge { .. }) => errs.spanned(
                &opt.name,
                format!("hinge module `{key}` takes one option, `margin = …`, not `{name}`"),
            ),
            _ => errs.spanned(
                &opt.name,
                format!(
                    "{label} module `{key}` takes no option `{name} = …`: only the losses `nll` \
                     (`beta = …`) and `hinge` (`margin = …`) are declared with a number"
                ),
            ),
        }
    }
}

/// The rules of a loss `kind(energies, y)`: `y` is a target, one-hot over the classes, so of the
/// energies' width, which is at least 2.
fn check_loss(
    m: &ModuleM,
    loss: Loss,
    states: &[Pending],
    modules: &[ModuleM],
    arg_text: &dyn Fn(&ModuleM, usize) -> String,
    errs: &mut Errors,
) {
    let (e, y) = (m.args[0], m.args[1]);
    let (name, scores) = (loss.name(), loss.scores());
    if states[y].role != StateRole::Target {
        let what = match (states[y].role, states[y].producer) {
            (StateRole::Input, _) => "an input".to_string(),
            (_, Some(p)) => format!(
                "computed by {} module `{}`",
                modules[p].kind.label(),
                modules[p].name
            ),
            _ => "not a target".to_string(),
        };
        errs.at(
            m.arg_idents[1].span(),
            format!(
                "the second argument of {name} module `{}` is the correct answer, a `target` \
                 (one-hot over the classes), but `{}` is {what}",
                m.name,
                arg_text(m, 1)
            ),
        );
    }
    match (states[e].width, states[y].width) {
        (Some(k), _) if k < 2 => errs.at(
            m.arg_idents[0].span(),
            format!(
                "{name} module `{}` chooses among the classes of `{}`, but it has width {k}: a \
                 classification loss needs {scores} for at least 2 classes, one per class",
                m.name,
                arg_text(m, 0)
            ),
        ),
        (Some(k), Some(w)) if k != w && states[y].role == StateRole::Target => errs.at(
            m.arg_idents[1].span(),
            format!(
                "{name} module `{}` reads {k} {scores} from `{}`, one per class, but target `{}` \
                 has width {w}: a one-hot target has one value per class, `target {}: {k}`",
                m.name,
                arg_text(m, 0),
                arg_text(m, 1),
                states[y].name
            ),
        ),
        _ => {}
    }
}

/// Kahn's algorithm over "module reads a state computed by another module". Modules on a cycle
/// are left out of the order, and each cycle is reported once, with the states on it.
fn topological_order(modules: &[ModuleM], states: &[Pending], errs: &mut Errors) -> Vec<usize> {
    let preds = |m: &ModuleM| -> Vec<usize> {
        m.now_args()
            .filter_map(|(_, a)| states[a].producer)
            .collect()
    };
    let mut indegree: Vec<usize> = modules.iter().map(|m| preds(m).len()).collect();
    let mut succs = vec![Vec::new(); modules.len()];
    for (i, m) in modules.iter().enumerate() {
        for p in preds(m) {
            succs[p].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..modules.len()).filter(|&i| indegree[i] == 0).collect();
    ready.reverse();
    let mut order = Vec::new();
    while let Some(i) = ready.pop() {
        order.push(i);
        for &s in succs[i].iter().rev() {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                ready.push(s);
            }
        }
    }
    // Each module left has a predecessor left: walk back until a module repeats.
    let mut reported = vec![false; modules.len()];
    for start in 0..modules.len() {
        if indegree[start] == 0 || reported[start] {
            continue;
        }
        let mut path = vec![start];
        let mut cur = start;
        let cycle_from = loop {
            let next = modules[cur]
                .now_args()
                .filter_map(|(_, a)| states[a].producer)
                .find(|&p| indegree[p] > 0)
                .expect("a module left by Kahn's algorithm has a predecessor left");
            if reported[next] {
                break None;
            }
            if let Some(pos) = path.iter().position(|&m| m == next) {
                break Some(pos);
            }
            path.push(next);
            cur = next;
        };
        for &m in &path {
            reported[m] = true;
        }
        let Some(cycle_from) = cycle_from else {
            continue;
        };
        // path[cycle_from..] walks backwards along data flow; print it forwards.
        let mut cycle: Vec<usize> = path[cycle_from..].iter().rev().copied().collect();
        let lowest = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap();
        cycle.rotate_left(lowest);
        let names: Vec<String> = cycle
            .iter()
            .map(|&m| format!("`{}`", states[modules[m].out].name))
            .collect();
        let first = cycle[0];
        let last = *cycle.last().expect("a cycle has a module");
        // The argument of `first` that reads the state `last` computes closes the cycle.
        let (closing, _) = modules[first]
            .now_args()
            .find(|&(_, a)| states[a].producer == Some(last))
            .expect("consecutive modules on a cycle are connected");
        errs.at(
            modules[first].arg_idents[closing].span(),
            format!(
                "cycle: {} -> {}; a loop must be unfolded in time: read the state of an \
                 earlier step inside an `unfold` block, as in `h[t - 1]`",
                names.join(" -> "),
                names[0]
            ),
        );
    }
    order
}

/// The known name closest to `name`, if it is a likely typo.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    known
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2 && *d < k.len().max(2))
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Tokens for the float type.
pub fn float_tokens(f: FloatTy) -> TokenStream {
    match f {
        FloatTy::F32 => quote::quote!(f32),
        FloatTy::F64 => quote::quote!(f64),
    }
}
