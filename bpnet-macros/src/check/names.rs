//! Pass: the statements (the `unfold` block flattened) and the names of the states, with their
//! roles (input, target, computed; the energy and the output).

use super::{Checker, Pending};
use crate::model::StateRole;
use crate::parse::{AssignRole, BrokenRole, DeclRole, Stmt, Width};
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Attribute, Ident};

/// The statements, each with whether it is inside the `unfold` block; `T`; the `initial` lines.
pub fn statements(c: &mut Checker) {
    for stmt in &c.def.stmts {
        match stmt {
            Stmt::Unfold(u) => {
                for e in &u.errors {
                    c.errs.push(e.clone());
                }
                if c.steps.is_some() {
                    c.errs.spanned(&u.head, "a network has one `unfold` block");
                    // A second block's statements are left out: that one error is enough.
                    continue;
                }
                if u.steps.value == 0 {
                    c.errs.spanned(
                        &u.head,
                        "`unfold 0`: a network is unfolded over at least one step",
                    );
                }
                c.zero_steps = u.steps.value == 0 || u.bad_steps.is_some();
                if let Some(e) = &u.bad_steps {
                    c.errs.push(e.clone());
                }
                c.steps = Some(u.steps.value.max(1));
                for inner in &u.stmts {
                    match inner {
                        Stmt::Unfold(nested) => c.errs.spanned(
                            &nested.head,
                            "`unfold` blocks do not nest: a network has one time axis",
                        ),
                        Stmt::Initial(i) => c.initials.push(i),
                        other => c.flat.push((other, true)),
                    }
                }
            }
            Stmt::Initial(i) => c.initials.push(i),
            other => c.flat.push((other, false)),
        }
    }
    c.incomplete = c.flat.iter().any(|(s, _)| matches!(s, Stmt::Broken(..)));
}

/// What a statement says of its state: name, attributes, role, width, declared width, and
/// whether it is the energy or the output.
type Head<'a> = (
    &'a Ident,
    &'a [Attribute],
    StateRole,
    Option<usize>,
    Option<&'a Width>,
    Option<(AssignRole, Span)>,
);

fn head(stmt: &Stmt) -> Option<Head<'_>> {
    Some(match stmt {
        Stmt::Decl(d) => {
            let role = match d.role {
                DeclRole::Input => StateRole::Input,
                DeclRole::Target => StateRole::Target,
            };
            (
                &d.name,
                &d.attrs,
                role,
                Some(d.width.value),
                Some(&d.width),
                None,
            )
        }
        Stmt::Assign(a) => (
            &a.state,
            &a.attrs,
            StateRole::Computed,
            None,
            a.width.as_ref(),
            a.role,
        ),
        Stmt::Broken(b) => {
            let (role, marks) = match b.role {
                BrokenRole::Input => (StateRole::Input, None),
                BrokenRole::Target => (StateRole::Target, None),
                BrokenRole::Energy => (
                    StateRole::Computed,
                    Some((AssignRole::Energy, b.name.span())),
                ),
                BrokenRole::Output => (
                    StateRole::Computed,
                    Some((AssignRole::Output, b.name.span())),
                ),
                BrokenRole::Hidden => (StateRole::Computed, None),
            };
            (
                &b.name,
                &[],
                role,
                b.width.as_ref().map(|w| w.value),
                b.width.as_ref(),
                marks,
            )
        }
        // `flat` holds no `unfold` or `initial` statement.
        Stmt::Unfold(_) | Stmt::Initial(_) => return None,
    })
}

/// States first (any order of declaration is allowed): names, duplicates, roles.
pub fn states(c: &mut Checker) {
    let flat = c.flat.clone();
    for (stmt, step) in flat {
        let Some((name, attrs, role, width, declared, marks)) = head(stmt) else {
            continue;
        };
        let key = name.unraw().to_string();
        if key.starts_with("__") {
            c.errs.at(
                name.span(),
                format!("`{key}`: names starting with `__` are reserved for generated code"),
            );
        }
        if let Some(w) = declared
            && w.value == 0
        {
            c.errs.spanned(
                &w.lit,
                format!("state `{key}` has width 0; a state needs at least one component"),
            );
        }
        let id = c.states.len();
        let mut quiet = false;
        if let Some(&first) = c.state_ids.get(&key) {
            quiet = true;
            c.errs.at(
                name.span(),
                format!(
                    "state `{key}` is defined twice (first as {}); a state has one definition",
                    match c.states[first].role {
                        StateRole::Input => "an input",
                        StateRole::Target => "a target",
                        StateRole::Computed => "a module's output",
                    }
                ),
            );
        } else {
            c.state_ids.insert(key.clone(), id);
        }
        if role != StateRole::Computed && !quiet {
            c.givens.push(id);
        }
        if let Stmt::Assign(_) = stmt {
            c.assign_state.push(id);
        }
        if let Some((r, span)) = marks {
            quiet |= mark(c, id, &key, r, span);
        }
        let width = width.filter(|&w| w > 0);
        c.states.push(Pending {
            name: name.clone(),
            shape: width.and(declared.map(|d| d.shape())),
            width,
            declared,
            role,
            attrs: attrs.to_vec(),
            producer: None,
            quiet,
            step,
        });
    }
}

/// Records state `id` as the energy or the output; `true` if there already is one (reported).
fn mark(c: &mut Checker, id: usize, key: &str, r: AssignRole, span: Span) -> bool {
    let (slot, what) = match r {
        AssignRole::Energy => (&mut c.energy, "energy"),
        AssignRole::Output => (&mut c.output, "output"),
    };
    if let Some((prev, _)) = slot {
        let prev = c.states[*prev].name.clone();
        c.incomplete = true;
        c.errs.at(
            span,
            format!("a network has one {what}: `{key}` is a second one, after `{prev}`"),
        );
        true
    } else {
        *slot = Some((id, span));
        false
    }
}

/// `#[derive(Clone)]` or `#[derive(Debug)]` on a network: it implements both itself (its
/// batch's threads are not copied, and `Debug` is a summary), so a derive would conflict.
pub fn derives(c: &mut Checker) {
    use syn::punctuated::Punctuated;
    for attr in &c.def.attrs {
        if !attr.path().is_ident("derive") {
            continue;
        }
        let Ok(paths) =
            attr.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
        else {
            continue;
        };
        for path in paths {
            let Some(last) = path.segments.last() else {
                continue;
            };
            let name = last.ident.to_string();
            if name == "Clone" || name == "Debug" {
                c.errs.spanned(
                    &path,
                    format!(
                        "a network implements `{name}` itself (`Clone` copies all but its \
                         minibatch threads; `Debug` prints a summary): remove `{name}` from \
                         this `#[derive]`"
                    ),
                );
            }
        }
    }
}
