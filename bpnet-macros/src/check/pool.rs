//! Pass: the size of the parameter pool. The built-in modules' parameters (a linear's
//! `out × in`, its biases, an activation's biases) and the learned initial values, summed with
//! checked arithmetic, are at most [`MAX_PARAMS`]: the pool, its gradients and its curvature are
//! allocated when the network is created, and a count the macro accepts must be one a program
//! can allocate.

use super::Checker;
use crate::limits::{self, MAX_PARAMS};
use crate::model::{InitialM, Kind};
use syn::ext::IdentExt;

pub fn pool(c: &mut Checker) {
    let mut total: usize = 0;
    for m in &c.modules {
        let Kind::Op(op) = &m.kind else {
            continue;
        };
        let ins: Option<Vec<&[usize]>> = m
            .args
            .iter()
            .map(|&a| c.states[a].shape.as_deref())
            .collect();
        let (Some(ins), Some(out)) = (ins, c.states[m.out].shape.as_deref()) else {
            continue;
        };
        // Each tensor's size, then the module's, then the pool's: `None` past `usize`.
        let own = op
            .tensors_shaped(&ins, out)
            .iter()
            .try_fold(0usize, |sum, t| {
                let len = t.shape.iter().try_fold(1usize, |p, &d| p.checked_mul(d))?;
                sum.checked_add(len)
            });
        let new_total = own.and_then(|n| total.checked_add(n));
        match new_total {
            Some(t) if t <= MAX_PARAMS => total = t,
            _ => {
                let own = own.map_or_else(|| "more than usize::MAX".into(), |n| n.to_string());
                let before = if total > 0 {
                    format!(" after the {total} of the modules before it")
                } else {
                    String::new()
                };
                let msg = format!(
                    "{} module `{}` has {own} parameters{before}: the pool would hold more than \
                     {} parameters, the most a network has (they are allocated when it is created, \
                     with as many gradients and curvatures)",
                    m.kind.label(),
                    m.name,
                    limits::show(MAX_PARAMS)
                );
                c.errs.spanned(&m.call, msg);
                // One error is enough: the modules after it only add to the same sum.
                return;
            }
        }
    }
    for (st, init) in c.states.iter().zip(&c.initial_of) {
        if let (Some(InitialM::Learned), Some(w)) = (init, st.width) {
            match total.checked_add(w) {
                Some(t) if t <= MAX_PARAMS => total = t,
                _ => {
                    let at = c
                        .initials
                        .iter()
                        .find(|i| i.state.unraw() == st.name.unraw())
                        .map_or(st.name.span(), |i| i.state.span());
                    c.errs.at(
                        at,
                        format!(
                            "the learned initial value of `{}` ({w} parameters) would take the \
                             pool past {} parameters, the most a network has",
                            st.name,
                            limits::show(MAX_PARAMS)
                        ),
                    );
                    return;
                }
            }
        }
    }
}
