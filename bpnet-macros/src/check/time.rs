//! Pass: time. What runs at every step, what runs once, and how they meet.

use super::Checker;
use crate::model::StateRole;
use crate::op::Flow;
use crate::parse::{BrokenRole, Stmt};

/// An unfolded network's calls take their number of steps from a per-step input.
pub fn unfold_needs_input(c: &mut Checker) {
    let Some(u) = c.def.stmts.iter().find_map(|s| match s {
        Stmt::Unfold(u) => Some(u),
        _ => None,
    }) else {
        return;
    };
    let has_input = c
        .states
        .iter()
        .any(|st| st.step && st.role == StateRole::Input)
        || c.flat
            .iter()
            .any(|(s, step)| *step && matches!(s, Stmt::Broken(b) if b.role == BrokenRole::Input));
    if !has_input {
        c.errs.spanned(
            &u.head,
            "an `unfold` block needs a per-step `input`: the length of its sequence is the number \
             of steps a call runs",
        );
    }
}

/// `sum`/`last` gather a per-step state; a module outside the block reads none; a state computed
/// after the steps feeds no step; the energy is one number per sequence.
pub fn steps(c: &mut Checker) {
    gathered_and_static(c);
    after_the_steps(c);
    if let (Some((e, span)), Some(_)) = (c.energy, c.steps)
        && c.states[e].step
    {
        c.errs.at(
            span,
            format!(
                "the energy of an unfolded network is one number for the whole sequence: name \
                 the per-step value `{0}` something else, say `e`, and declare after the block \
                 `energy = sum(e)` (every step) or `energy = last(e)` (the last step)",
                c.states[e].name
            ),
        );
    }
}

fn gathered_and_static(c: &mut Checker) {
    for m in &c.modules {
        let args = m.args.iter().zip(&m.arg_idents);
        match (m.kind.flow(), m.step) {
            (Flow::Gather, _) => {
                let label = m.kind.label();
                for (&a, ident) in args {
                    if !c.states[a].step {
                        c.errs.at(
                            ident.span(),
                            format!(
                                "`{label}({ident})`: `{ident}` has one value for the whole \
                                 sequence; `{label}` gathers a state of the `unfold` block"
                            ),
                        );
                    }
                }
            }
            (_, false) => {
                for (&a, ident) in args {
                    if c.states[a].step {
                        c.errs.at(
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
}

/// A state computed once, after the steps (from `sum`/`last`), cannot feed a step.
fn after_the_steps(c: &mut Checker) {
    let mut after = vec![false; c.states.len()];
    loop {
        let mut changed = false;
        for m in &c.modules {
            let from_steps =
                m.kind.flow() == Flow::Gather || (!m.step && m.args.iter().any(|&a| after[a]));
            if from_steps && !after[m.out] {
                after[m.out] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for m in c.modules.iter_mut().filter(|m| m.step) {
        for ((&a, ident), d) in m.args.iter().zip(&m.arg_idents).zip(m.delays.iter_mut()) {
            if after[a] && !c.states[a].step {
                // Reported here; not also as the cycle it closes.
                *d = usize::MAX;
                c.incomplete = true;
                c.errs.at(
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
}
