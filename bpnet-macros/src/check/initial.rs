//! Pass: initial values. A state read with a delay starts from zeros, from given values of its
//! width, or from a learned vector in the pool.

use super::{Checker, state_hint};
use crate::model::InitialM;
use crate::parse::{FloatTy, InitialValue};
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
        if let InitialValue::Values(v, _, each) = &init.value {
            for (&x, lit) in v.iter().zip(each) {
                if let Some(msg) = not_held(x, c.def.float) {
                    let text = lit.to_string().replace(' ', "");
                    c.errs
                        .spanned(lit, format!("the initial value `{text}` of `{name}` {msg}"));
                }
            }
        }
        let Some(&s) = c.state_ids.get(&name) else {
            let hint = state_hint(c, &name);
            c.errs
                .at(init.state.span(), format!("unknown state `{name}`{hint}"));
            continue;
        };
        if !delayed[s] {
            // A statement that could not be read may be the one reading it with a delay.
            if c.incomplete {
                continue;
            }
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
            InitialValue::Values(v, tokens, _) => {
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

/// Why `v` cannot be a constant of the network's float: infinite as written (`1e400`) or as the
/// float (`1e39` for `f32`), with the largest one.
fn not_held(v: f64, float: FloatTy) -> Option<String> {
    let (held, ty, max) = match float {
        FloatTy::F32 => (f64::from(v as f32), "f32", format!("{:e}", f32::MAX)),
        FloatTy::F64 => (v, "f64", format!("{:e}", f64::MAX)),
    };
    (!held.is_finite()).then(|| {
        format!(
            "is infinite as {ty}: a value must be finite, at most {max} in magnitude, the largest \
             {ty}"
        )
    })
}
