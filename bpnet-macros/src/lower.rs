//! Lowering the checked graph to a flat schedule: the order of fprop calls, the order of bprop
//! calls with, for every input of every module, whether its `dx` is overwritten (the first
//! contribution in the backward sweep) or accumulated (a state that fans out), and the parameter
//! offsets. Unfolding in time will also live here.

use crate::check::{Kind, Model};

/// One module's step in the backward sweep.
pub struct BackStep {
    pub module: usize,
    /// Per argument: `true` when `dx` already holds another module's contribution.
    pub accumulate: Vec<bool>,
}

/// The start of a module's parameters in the pool: a known number plus the `PARAMS` of the user
/// modules before it (given by module index; only the compiler knows their values).
#[derive(Clone, Default)]
pub struct Offset {
    pub known: usize,
    pub user: Vec<usize>,
}

pub struct Schedule {
    /// Every module, dependencies first.
    pub fprop: Vec<usize>,
    /// The modules the output needs, dependencies first (empty without an output).
    pub run: Vec<usize>,
    /// Every module, in reverse of `fprop`.
    pub bprop: Vec<BackStep>,
    /// Per module (declaration order), where its parameters start.
    pub offsets: Vec<Offset>,
    /// The pool size.
    pub total: Offset,
}

pub fn lower(model: &Model) -> Schedule {
    let mut offsets = Vec::new();
    let mut next = Offset::default();
    for (i, m) in model.modules.iter().enumerate() {
        offsets.push(next.clone());
        match (&m.kind, model.builtin_params(m)) {
            (Kind::User { .. }, _) => next.user.push(i),
            (_, Some(n)) => next.known += n,
            (_, None) => {}
        }
    }

    let mut run = Vec::new();
    if let Some(out) = model.output {
        let mut needed = vec![false; model.states.len()];
        needed[out] = true;
        for &m in model.order.iter().rev() {
            let module = &model.modules[m];
            if needed[module.out] {
                run.push(m);
                for &a in &module.args {
                    needed[a] = true;
                }
            }
        }
        run.reverse();
    }

    let mut written = vec![false; model.states.len()];
    let bprop = model
        .order
        .iter()
        .rev()
        .map(|&m| BackStep {
            module: m,
            accumulate: model.modules[m]
                .args
                .iter()
                .map(|&a| std::mem::replace(&mut written[a], true))
                .collect(),
        })
        .collect();

    Schedule {
        fprop: model.order.clone(),
        run,
        bprop,
        offsets,
        total: next,
    }
}
