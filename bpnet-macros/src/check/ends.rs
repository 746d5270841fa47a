//! Passes: the energy and the output (a scalar energy; a target needs one; the output inferred
//! when not declared), and reachability (everything leads to the energy or the output, and the
//! output does not need a target).

use super::Checker;
use crate::model::StateRole;
use crate::op::Flow;

pub fn energy_and_output(c: &mut Checker) {
    if let Some((e, span)) = c.energy {
        if let Some(w) = c.states[e].width
            && w != 1
        {
            let made = c.states[e].producer.map_or(String::new(), |p| {
                format!(
                    " (made by {} module `{}`)",
                    c.modules[p].kind.label(),
                    c.modules[p].name
                )
            });
            c.errs.at(
                span,
                format!(
                    "the energy must be a scalar, but `{}` has width {w}{made}",
                    c.states[e].name
                ),
            );
        }
    } else {
        without_energy(c);
    }
    c.inferred_output = c.output.map(|(o, _)| o).or_else(|| inferred_output(c));
}

/// A target needs an energy; a network needs an energy or an output.
fn without_energy(c: &mut Checker) {
    for &g in &c.givens {
        if c.states[g].role == StateRole::Target {
            let n = &c.states[g].name;
            c.errs.at(
                n.span(),
                format!(
                    "target `{n}` needs an energy to compare against: add `energy = \
                     euclidean(out, {n})`"
                ),
            );
        }
    }
    if c.output.is_none() {
        let n = &c.def.name;
        c.errs.at(
            n.span(),
            format!(
                "network `{n}` has neither an energy nor an output: declare `energy = …` to train \
                 it, or `output out = …` to use it as a module"
            ),
        );
    }
}

/// The side of the energy's Euclidean distance that is not a target (looking through `sum` or
/// `last` in an unfolded network), or a loss's energies (or logits): run gives the scores to
/// classify by.
fn inferred_output(c: &Checker) -> Option<usize> {
    let (e, _) = c.energy?;
    let mut m = c.modules.get(c.states[e].producer?)?;
    if m.kind.flow() == Flow::Gather {
        m = c.modules.get(c.states[*m.args.first()?].producer?)?;
    }
    match m.kind.flow() {
        Flow::Loss => {
            let scores = *m.args.first()?;
            (c.states[scores].role != StateRole::Target).then_some(scores)
        }
        Flow::Term => {
            let free: Vec<usize> = m
                .args
                .iter()
                .copied()
                .filter(|&a| c.states[a].role != StateRole::Target)
                .collect();
            (free.len() == 1 && free.len() < m.args.len()).then(|| free[0])
        }
        _ => None,
    }
}

/// Everything must lead to the energy (or to the output of a module network), and the output must
/// be computable without the targets (run takes inputs only).
pub fn reachability(c: &mut Checker) {
    if let Some(sink) = c.energy.map(|(e, _)| e).or(c.inferred_output) {
        unused(c, sink);
    }
    if let Some(o) = c.inferred_output {
        output_without_targets(c, o);
    }
}

fn unused(c: &mut Checker, sink: usize) {
    let mut used = vec![false; c.states.len()];
    let mut stack = vec![sink];
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut used[s], true) {
            continue;
        }
        if let Some(p) = c.states[s].producer {
            stack.extend(c.modules[p].args.iter().copied());
        }
    }
    let sink_name = &c.states[sink].name;
    for (s, st) in c.states.iter().enumerate() {
        // Without an energy a target is already reported as needing one.
        let energyless_target = c.energy.is_none() && st.role == StateRole::Target;
        if used[s] || st.quiet || c.incomplete || energyless_target {
            continue;
        }
        let msg = match st.role {
            StateRole::Input | StateRole::Target => format!(
                "{} `{}` is never used: nothing on the way to `{sink_name}` reads it",
                if st.role == StateRole::Input {
                    "input"
                } else {
                    "target"
                },
                st.name
            ),
            StateRole::Computed => format!(
                "state `{}` does not lead to `{sink_name}`: its module would run for nothing",
                st.name
            ),
        };
        c.errs.at(st.name.span(), msg);
    }
}

fn output_without_targets(c: &mut Checker, o: usize) {
    let mut stack = vec![o];
    let mut seen = vec![false; c.states.len()];
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut seen[s], true) {
            continue;
        }
        let Some(p) = c.states[s].producer else {
            continue;
        };
        let m = &c.modules[p];
        for (&a, ident) in m.args.iter().zip(&m.arg_idents) {
            if c.states[a].role == StateRole::Target {
                c.errs.at(
                    ident.span(),
                    format!(
                        "output `{}` would depend on target `{}` through module `{}`; run() \
                         computes the output from the inputs alone",
                        c.states[o].name, c.states[a].name, m.name
                    ),
                );
            }
            stack.push(a);
        }
    }
}
