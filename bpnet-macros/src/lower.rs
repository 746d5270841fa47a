//! Lowering the checked graph to a flat schedule, and unfolding it in time.
//!
//! The modules split into three runs: those computed once before the steps (`pre`), those
//! computed at every step (`step`, one loop over `t`), and those computed once after the steps from
//! `sum`/`last` (`post`). For the backward sweep every input of every module gets, at expansion
//! time, whether its `dx` is overwritten (the first contribution in the sweep) or accumulated (a
//! state that fans out). States whose derivative gathers contributions from several steps (read
//! with a delay, gathered by `sum`/`last`, or read by every step) are cleared once before the
//! sweep and always accumulated.

use crate::model::{InitialM, Kind, Model};
use crate::op::Flow;

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

/// The forward and backward runs of one part of the schedule.
#[derive(Default)]
pub struct Part {
    /// Dependencies first.
    pub fprop: Vec<usize>,
    /// The modules the output needs, dependencies first.
    pub run: Vec<usize>,
    /// The reverse of `fprop`.
    pub bprop: Vec<BackStep>,
}

pub struct Schedule {
    pub pre: Part,
    /// Run at every step `t`, inside one loop.
    pub step: Part,
    pub post: Part,
    /// Per state: `dx` is cleared before the backward sweep and every contribution adds.
    pub gather: Vec<bool>,
    /// Per state: how many steps back it is read (the values kept before step 0).
    pub history: Vec<usize>,
    /// Per module (declaration order), where its parameters start.
    pub offsets: Vec<Offset>,
    /// Per state with a learned initial value: where that vector sits in the pool (after the
    /// modules).
    pub initial_offsets: Vec<Option<Offset>>,
    /// The pool size.
    pub total: Offset,
}

pub fn lower(model: &Model) -> Schedule {
    let (offsets, initial_offsets, total) = offsets(model);
    let gather = gather(model);
    let run_modules = run_modules(model);
    let (pre, step, post) = parts(model);
    // The backward sweep: after-part, the steps (their block once: a state that is not gathered
    // only receives contributions within its own step), then the before-part.
    let mut written = vec![false; model.states.len()];
    let mut backward = |ids: &[usize]| -> Vec<BackStep> {
        ids.iter()
            .rev()
            .map(|&m| BackStep {
                module: m,
                accumulate: model.modules[m]
                    .args
                    .iter()
                    .map(|&a| gather[a] || std::mem::replace(&mut written[a], true))
                    .collect(),
            })
            .collect()
    };
    let (post_b, step_b, pre_b) = (backward(&post), backward(&step), backward(&pre));
    let make = |fprop: Vec<usize>, bprop: Vec<BackStep>| Part {
        run: fprop.iter().copied().filter(|&i| run_modules[i]).collect(),
        fprop,
        bprop,
    };
    Schedule {
        pre: make(pre, pre_b),
        step: make(step, step_b),
        post: make(post, post_b),
        gather,
        history: history(model),
        offsets,
        initial_offsets,
        total,
    }
}

/// Where each module's parameters start in the pool, then each learned initial value's, and the
/// pool's size.
fn offsets(model: &Model) -> (Vec<Offset>, Vec<Option<Offset>>, Offset) {
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
    let initial_offsets = model
        .states
        .iter()
        .map(|st| {
            matches!(st.initial, Some(InitialM::Learned)).then(|| {
                let here = next.clone();
                next.known += st.width;
                here
            })
        })
        .collect();
    (offsets, initial_offsets, next)
}

/// Per state: how many steps back it is read.
fn history(model: &Model) -> Vec<usize> {
    let mut history = vec![0; model.states.len()];
    for m in &model.modules {
        for (&a, &d) in m.args.iter().zip(&m.delays) {
            history[a] = history[a].max(d);
        }
    }
    history
}

/// The modules in order, split into those before the steps, at every step, and after them
/// (`sum`/`last` and what depends on them).
fn parts(model: &Model) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut after = vec![false; model.modules.len()];
    for &i in &model.order {
        let m = &model.modules[i];
        after[i] = m.kind.flow() == Flow::Gather
            || (!m.step
                && m.args
                    .iter()
                    .any(|&a| model.states[a].producer.is_some_and(|p| after[p])));
    }
    let (mut pre, mut step, mut post) = (Vec::new(), Vec::new(), Vec::new());
    for &i in &model.order {
        match (model.modules[i].step, after[i]) {
            (true, _) => step.push(i),
            (false, false) => pre.push(i),
            (false, true) => post.push(i),
        }
    }
    (pre, step, post)
}

/// Per state: whether its dx gathers contributions from more than one step.
fn gather(model: &Model) -> Vec<bool> {
    let mut gather = vec![false; model.states.len()];
    for m in &model.modules {
        for (&a, &d) in m.args.iter().zip(&m.delays) {
            let st = &model.states[a];
            gather[a] |= d > 0 || m.kind.flow() == Flow::Gather || (m.step && !st.step);
        }
    }
    gather
}

/// Per module: whether the output needs it (delayed reads included), for `run`.
fn run_modules(model: &Model) -> Vec<bool> {
    let mut needed = vec![false; model.states.len()];
    let mut run_modules = vec![false; model.modules.len()];
    let Some(out) = model.output else {
        return run_modules;
    };
    needed[out] = true;
    loop {
        let mut changed = false;
        for (i, m) in model.modules.iter().enumerate() {
            if needed[m.out] && !run_modules[i] {
                run_modules[i] = true;
                changed = true;
                for &a in &m.args {
                    needed[a] = true;
                }
            }
        }
        if !changed {
            return run_modules;
        }
    }
}
