//! Pass: widths. What each module makes, until nothing changes (a delayed read may see a state
//! computed later in the order); then each kind's rules, once every width that can be known is.

use super::Checker;
use crate::limits::{self, MAX_WIDTH};
use crate::model::{Kind, ModuleM};
use crate::op::{ArgView, WidthView};

pub fn widths(c: &mut Checker) {
    infer(c);
    for &mi in &c.order.clone() {
        kind_rules(c, mi);
        declared(c, mi);
    }
    if c.errs.any() {
        return;
    }
    for st in &c.states {
        if st.width.is_none() {
            c.errs.at(
                st.name.span(),
                format!(
                    "the width of `{}` cannot be worked out: it only flows around a loop; \
                     declare it, as in `{}: N = …`",
                    st.name, st.name
                ),
            );
            // One is enough: the others flow around the same loops.
            return;
        }
    }
}

/// The shape module `m` makes, from what is known of its inputs' (`[width]` for a vector).
fn made_by(c: &Checker, m: &ModuleM) -> Option<Vec<usize>> {
    match &m.kind {
        Kind::Broken => None,
        Kind::User { out, .. } => Some(out.shape()),
        Kind::Op(op) => {
            let ins: Vec<Option<&[usize]>> = m
                .args
                .iter()
                .map(|&a| c.states[a].shape.as_deref())
                .collect();
            op.shape(&ins)
        }
    }
}

/// The width of a shape, if it fits `usize`.
fn width_of(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Widths flow from the inputs, in order and around delayed loops. A width a module would make
/// beyond [`MAX_WIDTH`] (a `concat` of wide states; computed with checked arithmetic) is
/// reported once, at the call, and stays unknown, so nothing is computed from it.
fn infer(c: &mut Checker) {
    let mut too_wide: Vec<(usize, Option<usize>)> = Vec::new();
    loop {
        let mut changed = false;
        for &mi in &c.order {
            let m = &c.modules[mi];
            if c.states[m.out].width.is_some() || too_wide.iter().any(|&(t, _)| t == mi) {
                continue;
            }
            let made = made_by(c, m);
            if wider_than_allowed(c, m) {
                too_wide.push((mi, made.as_deref().and_then(width_of)));
                continue;
            }
            let st = &mut c.states[m.out];
            // A shape declared on a vector of its width gives the vector its maps.
            let shape = match (made, st.declared) {
                (Some(made), Some(d))
                    if made.len() == 1 && width_of(&d.shape()) == Some(made[0]) =>
                {
                    Some(d.shape())
                }
                (made, d) => made.or(d.map(|d| d.shape())),
            };
            st.width = shape.as_deref().and_then(width_of).filter(|&w| w > 0);
            st.shape = shape.filter(|_| st.width.is_some());
            changed |= st.width.is_some();
        }
        if !changed {
            break;
        }
    }
    for (mi, made) in too_wide {
        let m = &c.modules[mi];
        let w = made.map_or_else(|| "more than usize::MAX".to_string(), |w| w.to_string());
        let msg = format!(
            "state `{}` would have width {w}, made by {} module `{}`: a state's width is at most \
             {} components (a state is fixed-size arrays inside the network's struct)",
            c.states[m.out].name,
            m.kind.label(),
            m.name,
            limits::show(MAX_WIDTH)
        );
        c.errs.spanned(&m.call, msg);
    }
}

/// Whether module `m` would make a width beyond [`MAX_WIDTH`] from its inputs' known widths: a
/// sum that does not fit in `usize` or passes the limit.
fn wider_than_allowed(c: &Checker, m: &ModuleM) -> bool {
    let Kind::Op(op) = &m.kind else {
        return false;
    };
    let ins: Vec<Option<&[usize]>> = m
        .args
        .iter()
        .map(|&a| c.states[a].shape.as_deref())
        .collect();
    if ins.iter().any(Option::is_none) {
        return false;
    }
    op.shape(&ins)
        .as_deref()
        .and_then(width_of)
        .is_none_or(|w| w > MAX_WIDTH)
}

/// The kind's own rules on its inputs' widths (and roles).
fn kind_rules(c: &mut Checker, mi: usize) {
    let m = &c.modules[mi];
    let Kind::Op(op) = &m.kind else {
        return;
    };
    let view = view(c, m);
    let mut found = Vec::new();
    op.check(&view, &mut |span, msg| found.push((span, msg)));
    for (span, msg) in found {
        c.errs.at(span, msg);
    }
}

/// A module as its kind's width rules see it.
fn view(c: &Checker, m: &ModuleM) -> WidthView {
    let args = (0..m.args.len().min(m.arg_idents.len()))
        .map(|i| {
            let st = &c.states[m.args[i]];
            ArgView {
                text: match m.delays[i] {
                    0 => m.arg_idents[i].to_string(),
                    d => format!("{}[t - {d}]", m.arg_idents[i]),
                },
                span: m.arg_idents[i].span(),
                width: st.width,
                shape: st.shape.clone(),
                role: st.role,
                state: st.name.to_string(),
                made_by: st.producer.map(|p| {
                    let p = &c.modules[p];
                    (p.kind.label(), p.name.to_string())
                }),
            }
        })
        .collect();
    WidthView {
        name: m.name.to_string(),
        args,
        options: m.options.clone(),
    }
}

/// A declared width must be the one the module makes (a user module's is what it makes), and a
/// declared shape `[6, 28, 28]` the shape it makes; a module that makes a vector of that width
/// takes the declared shape (`m: [4, 2, 2] = linear(x -> 16)`).
fn declared(c: &mut Checker, mi: usize) {
    let m = &c.modules[mi];
    let st = &c.states[m.out];
    let (Some(made), Some(d)) = (made_by(c, m), st.declared) else {
        return;
    };
    let Some(w) = width_of(&made) else {
        return;
    };
    // A width of 0: its module's own rule has said what is wrong.
    if w == 0 || d.value == 0 || matches!(m.kind, Kind::User { .. }) {
        return;
    }
    let show = |s: &[usize]| s.iter().map(usize::to_string).collect::<Vec<_>>().join("×");
    let msg = if w != d.value {
        let made = if made.len() > 1 {
            format!("width {w} ({})", show(&made))
        } else {
            format!("width {w}")
        };
        format!(
            "state `{}` is declared with width {}, but {} module `{}` makes {made}",
            st.name,
            d.value,
            m.kind.label(),
            m.name,
        )
    } else if let Some(dims) = &d.dims
        && *dims != made
        && made.len() > 1
    {
        format!(
            "state `{}` is declared with shape {}, but {} module `{}` makes shape {}",
            st.name,
            show(dims),
            m.kind.label(),
            m.name,
            show(&made)
        )
    } else {
        return;
    };
    c.errs.spanned(&d.lit, msg);
}
