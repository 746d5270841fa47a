//! Pass: initial values. A state read with a delay starts from zeros, from given values of its
//! width, or from a learned vector in the pool.

use super::{Checker, closest};
use crate::model::InitialM;
use crate::parse::InitialValue;
use syn::ext::IdentExt;

pub fn initial_values(c: &mut Checker) {
    let mut delayed = vec![false; c.states.len()];
    for m in &c.modules {
        for (&a, &d) in m.args.iter().zip(&m.delays) {
            delayed[a] |= d > 0;
        }
    }
    c.initial_of = delayed
        .iter()
        .map(|&d| d.then_some(InitialM::Zeros))
        .collect();
    let mut given = vec![false; c.states.len()];
    for init in c.initials.clone() {
        let name = init.state.unraw().to_string();
        let Some(&s) = c.state_ids.get(&name) else {
            let hint = closest(&name, c.state_ids.keys())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            c.errs
                .at(init.state.span(), format!("unknown state `{name}`{hint}"));
            continue;
        };
        if !delayed[s] {
            c.errs.at(
                init.state.span(),
                format!(
                    "`initial {name}`: no module reads `{name}` with a delay (`{name}[t - 1]`), so \
                     it has no use for an initial value"
                ),
            );
            continue;
        }
        if std::mem::replace(&mut given[s], true) {
            c.errs.at(
                init.state.span(),
                format!("`{name}` is given a second initial value"),
            );
            continue;
        }
        c.initial_of[s] = Some(match &init.value {
            InitialValue::Zeros => InitialM::Zeros,
            InitialValue::Learned => InitialM::Learned,
            InitialValue::Values(v, tokens) => {
                if let Some(w) = c.states[s].width
                    && v.len() != w
                {
                    c.errs.spanned(
                        tokens,
                        format!(
                            "the initial value of `{name}` has {} values, but `{name}` has width \
                             {w}",
                            v.len()
                        ),
                    );
                }
                InitialM::Values(v.clone())
            }
        });
    }
}
