//! Pass (with `modules`): a call's `name = value` options, against its kind's [`OptSpec`]s. Each
//! value is checked for its rule and for the network's float (a number that is finite as `f64`
//! may be infinite, or zero, as `f32`).

use super::Checker;
use crate::kinds::{self, Args, Entry, OptSpec, Rule};
use crate::limits::{self, MAX_WIDTH};
use crate::parse::{Call, FloatTy, OptLit};
use syn::ext::IdentExt;

/// The options of built-in `entry`'s call, checked; a wrong one is reported and its default
/// kept, so that the module's other rules are still checked (`None` if a required one has no
/// value).
pub fn options(c: &mut Checker, e: &Entry, call: &Call, key: &str) -> Option<Args> {
    let mut values: Vec<(&'static str, f64)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for opt in &call.options {
        let name = opt.name.unraw().to_string();
        let Some(spec) = e.options.iter().find(|s| s.name == name) else {
            let msg = unknown(e, key, &name);
            c.errs.spanned(&opt.name, msg);
            continue;
        };
        if seen.contains(&spec.name) {
            c.errs.spanned(
                &opt.tokens,
                format!("`{name}` is given twice to {} module `{key}`", e.name),
            );
            continue;
        }
        seen.push(spec.name);
        match value(spec, &opt.value, c.def.float) {
            Ok(v) => values.push((spec.name, v)),
            Err(msg) => {
                let msg = msg.replace("{label}", e.name).replace("{key}", key);
                c.errs.spanned(&opt.tokens, msg);
            }
        }
    }
    let mut ok = true;
    for spec in e.options {
        if values.iter().any(|(n, _)| *n == spec.name) {
            continue;
        }
        match spec.default {
            Some(d) => values.push((spec.name, d)),
            None if seen.contains(&spec.name) => ok = false,
            None => {
                ok = false;
                let explain = spec.explain.replace("{key}", key);
                c.errs.spanned(
                    call.tokens(),
                    format!("`{} = …` is missing: {explain}", spec.name),
                );
            }
        }
    }
    ok.then_some(Args {
        out: call.out_width.as_ref().map(|(_, w)| w.value),
        values,
    })
}

/// A user module is declared without options.
pub fn no_options(c: &mut Checker, label: &str, call: &Call, key: &str) {
    for opt in &call.options {
        let name = opt.name.unraw().to_string();
        c.errs.spanned(
            &opt.name,
            format!(
                "{label} module `{key}` takes no option `{name} = …`: only the built-in modules \
                 {} are declared with options",
                kinds::with_options()
            ),
        );
    }
}

/// The error for an option `name` that kind `e` does not take.
fn unknown(e: &Entry, key: &str, name: &str) -> String {
    let label = e.name;
    let list: Vec<String> = e
        .options
        .iter()
        .map(|o| format!("`{} = …`", o.name))
        .collect();
    let near = crate::suggest::closest(name, e.options.iter().map(|o| o.name))
        .map(|o| format!(" (did you mean `{o}`?)"))
        .unwrap_or_default();
    match list.as_slice() {
        [] => format!(
            "{label} module `{key}` takes no option `{name} = …`: only the built-in modules {} \
             are declared with options",
            kinds::with_options()
        ),
        [one] => format!("{label} module `{key}` takes one option, {one}, not `{name}`{near}"),
        [rest @ .., last] => format!(
            "{label} module `{key}` takes the options {} and {last}, not `{name}`{near}",
            rest.join(", ")
        ),
    }
}

/// An option's value, checked against its rule and the network's float; else the message
/// (`{label}` and `{key}` to fill in).
fn value(spec: &OptSpec, lit: &OptLit, float: FloatTy) -> Result<f64, String> {
    let explain = || spec.explain.to_string();
    let v = kinds::literal(spec.rule, lit).ok_or_else(|| match (spec.rule, lit) {
        (Rule::Bool, _) => format!(
            "`{}` of {{label}} module `{{key}}` is `true` or `false`: {}",
            spec.name, spec.explain
        ),
        (_, OptLit::Bool(b)) => format!(
            "`{}` of {{label}} module `{{key}}` is a number, not `{b}`: {}",
            spec.name, spec.explain
        ),
        _ => explain(),
    })?;
    let in_rule = match spec.rule {
        Rule::Positive => v > 0.0 && v.is_finite(),
        Rule::NonNegative => v >= 0.0 && v.is_finite(),
        Rule::Finite | Rule::Bool => v.is_finite(),
        Rule::Index => v >= 0.0 && v.fract() == 0.0,
    };
    if in_rule && spec.rule == Rule::Index && v > MAX_WIDTH as f64 {
        return Err(format!(
            "`{} = {v}` is too large: an index of a component is less than a state's width, which \
             is at most {}",
            spec.name,
            limits::show(MAX_WIDTH)
        ));
    }
    if !in_rule {
        return Err(explain());
    }
    if matches!(spec.rule, Rule::Index | Rule::Bool) {
        return Ok(v);
    }
    let (as_float, ty, min, max): (fn(f64) -> f64, _, _, _) = match float {
        FloatTy::F32 => (
            |v| f64::from(v as f32),
            "f32",
            format!("{:e}", f32::from_bits(1)),
            format!("{:e}", f32::MAX),
        ),
        FloatTy::F64 => (
            |v| v,
            "f64",
            format!("{:e}", f64::from_bits(1)),
            format!("{:e}", f64::MAX),
        ),
    };
    let held = as_float(v);
    let (what, name) = (spec.what, spec.name);
    match spec.rule {
        Rule::Positive if !(held.is_finite() && held > 0.0) => Err(format!(
            "{what} of {{label}} module `{{key}}` is {} as {ty}: `{name}` must lie between {min} \
             and {max}, the smallest positive and the largest {ty}",
            if held.is_finite() { "zero" } else { "infinite" },
        )),
        _ if !held.is_finite() => Err(format!(
            "{what} of {{label}} module `{{key}}` is infinite as {ty}: `{name}` must be at most \
             {max}, the largest {ty}"
        )),
        _ => Ok(v),
    }
}
