//! The checked network: what `check` proves and `lower` and `expand` read. No rule is checked
//! here; these are the types and the graph facts derived from them.

use crate::op::Op;
pub use crate::op::{Flow, StateRole};
use crate::parse::FloatTy;
use crate::parse::Width;
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, Ident, Path};

/// A module's kind in the checked network.
pub enum Kind {
    /// A built-in kind.
    Op(Box<dyn Op>),
    /// A type implementing `bpnet::Module` (a user module or a nested network).
    User {
        path: Path,
        /// The width the declaration gives its output state.
        out: Width,
    },
    /// A module with an error already reported; never reaches `lower`.
    Broken,
}

impl Kind {
    pub fn label(&self) -> String {
        match self {
            Kind::Op(op) => op.label(),
            Kind::User { path, .. } => path_string(path),
            Kind::Broken => "?".into(),
        }
    }

    pub fn flow(&self) -> Flow {
        match self {
            Kind::Op(op) => op.flow(),
            _ => Flow::Module,
        }
    }

    /// Linear in its inputs (see `Op::linear`); a user module is not known to be.
    pub fn linear(&self) -> bool {
        self.op().is_some_and(|op| op.linear())
    }

    pub fn op(&self) -> Option<&dyn Op> {
        match self {
            Kind::Op(op) => Some(op.as_ref()),
            _ => None,
        }
    }
}

/// A state of the checked network.
pub struct StateM {
    pub name: Ident,
    pub width: usize,
    /// Its shape: `[width]`, or the sizes of a feature map (their product is `width`).
    pub shape: Vec<usize>,
    /// Where the width is declared (`2` of `input x: 2`; the name when it is inferred), for the
    /// entry points' parameters (see `emit::param`).
    pub width_span: proc_macro2::Span,
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
    /// The options as written, each name with its span (for errors about their values).
    pub options: Vec<(String, proc_macro2::Span)>,
    /// The call's tokens, `kind(` … `)`, for errors about the module as a whole.
    pub call: TokenStream,
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
    /// reaches the energy through modules that pass their inputs' sum on unchanged (`add`, `sum`,
    /// `last`) alone (the energy is then a sum of `s` and other terms), and whether some path goes
    /// through another module. A network's output without an energy (a network used as a module)
    /// has neither.
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
                if m.kind.linear() {
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

    /// The widths of module `m`'s inputs and output.
    pub fn widths(&self, m: &ModuleM) -> (Vec<usize>, usize) {
        (
            m.args.iter().map(|&a| self.states[a].width).collect(),
            self.states[m.out].width,
        )
    }

    /// The shapes of module `m`'s inputs and output.
    pub fn shapes(&self, m: &ModuleM) -> (Vec<&[usize]>, &[usize]) {
        (
            m.args.iter().map(|&a| &self.states[a].shape[..]).collect(),
            &self.states[m.out].shape,
        )
    }

    /// The parameter tensors of module `m` (none for user modules).
    pub fn tensors(&self, m: &ModuleM) -> Vec<crate::op::Tensor> {
        match &m.kind {
            Kind::Op(op) => {
                let (ins, out) = self.shapes(m);
                op.tensors_shaped(&ins, out)
            }
            Kind::User { .. } | Kind::Broken => Vec::new(),
        }
    }

    /// Number of parameters of a built-in module (`None` for user modules).
    pub fn builtin_params(&self, m: &ModuleM) -> Option<usize> {
        match &m.kind {
            Kind::Op(_) => Some(self.tensors(m).iter().map(|t| t.len()).sum()),
            Kind::User { .. } | Kind::Broken => None,
        }
    }
}

pub fn path_string(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// Tokens for the float type.
pub fn float_tokens(f: FloatTy) -> TokenStream {
    match f {
        FloatTy::F32 => quote::quote!(f32),
        FloatTy::F64 => quote::quote!(f64),
    }
}
