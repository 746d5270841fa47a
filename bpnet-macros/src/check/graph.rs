//! Pass: the graph. The energy ends it, a loss is lowered, and the modules have an order in which
//! each runs after those computing its inputs (or the cycles that prevent one are reported).

use super::{Checker, Errors, Pending};
use crate::model::{Kind, ModuleM};
use crate::op::Flow;

/// No module reads the energy.
pub fn energy_ends(c: &mut Checker) {
    let Some((e, _)) = c.energy else {
        return;
    };
    for m in &c.modules {
        for (arg, ident) in m.args.iter().zip(&m.arg_idents) {
            if *arg == e {
                c.incomplete = true;
                c.errs.at(
                    ident.span(),
                    format!(
                        "the energy `{}` ends the network; module `{}` cannot read it",
                        c.states[e].name, m.name
                    ),
                );
            }
        }
    }
}

/// A loss becomes the energy, alone or added to others, and nothing computes with it. (Losses
/// added, or gathered over the steps, are losses too.)
pub fn losses_lowered(c: &mut Checker) {
    let mut lossy = vec![false; c.states.len()];
    loop {
        let mut changed = false;
        for m in &c.modules {
            let flow = m.kind.flow();
            let l = flow == Flow::Loss || (flow.passes() && m.args.iter().any(|&a| lossy[a]));
            if l && !lossy[m.out] {
                lossy[m.out] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for m in &c.modules {
        if matches!(m.kind, Kind::Broken) || m.kind.flow().passes() {
            continue;
        }
        for (&a, ident) in m.args.iter().zip(&m.arg_idents) {
            if lossy[a] && c.energy.is_none_or(|(e, _)| e != a) {
                c.errs.at(
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
}

/// A topological order of the modules, or the cycles that prevent one.
pub fn order(c: &mut Checker) {
    c.order = topological_order(&c.modules, &c.states, &mut c.errs);
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
    report_cycles(modules, states, &indegree, errs);
    order
}

/// Each module Kahn's algorithm left has a predecessor left: walk back until a module repeats.
fn report_cycles(modules: &[ModuleM], states: &[Pending], indegree: &[usize], errs: &mut Errors) {
    let mut reported = vec![false; modules.len()];
    for start in 0..modules.len() {
        if indegree[start] == 0 || reported[start] {
            continue;
        }
        let mut path = vec![start];
        let mut cur = start;
        let cycle_from = loop {
            let Some(next) = modules[cur]
                .now_args()
                .filter_map(|(_, a)| states[a].producer)
                .find(|&p| indegree[p] > 0)
            else {
                break None;
            };
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
        report_cycle(modules, states, &path[cycle_from..], errs);
    }
}

/// `path` walks backwards along data flow; the cycle is printed forwards, from its lowest module.
fn report_cycle(modules: &[ModuleM], states: &[Pending], path: &[usize], errs: &mut Errors) {
    let mut cycle: Vec<usize> = path.iter().rev().copied().collect();
    let lowest = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap_or(0);
    cycle.rotate_left(lowest);
    let names: Vec<String> = cycle
        .iter()
        .map(|&m| format!("`{}`", states[modules[m].out].name))
        .collect();
    let (first, last) = (cycle[0], cycle[cycle.len() - 1]);
    // The argument of `first` that reads the state `last` computes closes the cycle.
    let Some((closing, _)) = modules[first]
        .now_args()
        .find(|&(_, a)| states[a].producer == Some(last))
    else {
        return;
    };
    errs.at(
        modules[first].arg_idents[closing].span(),
        format!(
            "cycle: {} -> {}; a loop must be unfolded in time: read the state of an earlier step \
             inside an `unfold` block, as in `h[t - 1]`",
            names.join(" -> "),
            names[0]
        ),
    );
}
