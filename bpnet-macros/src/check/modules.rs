//! Pass: modules. Each module statement's kind, name, options, arity and arguments (with the
//! steps they are read at).

use super::{Checker, options, state_hint};
use crate::kinds::{self, Arity, Entry};
use crate::model::{Kind, ModuleM, path_string};
use crate::parse::{Assign, Call, Stmt};
use syn::Ident;
use syn::ext::IdentExt;

pub fn modules(c: &mut Checker) {
    let assigns: Vec<(&Assign, bool)> = c
        .flat
        .iter()
        .filter_map(|&(s, step)| match s {
            Stmt::Assign(a) => Some((&**a, step)),
            _ => None,
        })
        .collect();
    let mut module_ids: std::collections::HashMap<String, Ident> = Default::default();
    for ((a, step), out) in assigns.into_iter().zip(c.assign_state.clone()) {
        module(c, a, step, out, &mut module_ids);
    }
}

/// A call's kind: a built-in (its entry), a user type, or an error.
enum Found {
    Builtin(&'static Entry),
    User,
    None,
}

fn find_kind(c: &mut Checker, a: &Assign, step: bool) -> Found {
    let call = &a.call;
    let kind_name = path_string(&call.kind);
    match kinds::lookup(&kind_name) {
        Some(e) if e.flow == crate::op::Flow::Gather && step => {
            c.incomplete = true;
            c.errs.spanned(
                &call.kind,
                format!(
                    "`{kind_name}` gathers the steps of the `unfold` block: it goes after the \
                     block, not inside it"
                ),
            );
            Found::None
        }
        Some(e) => Found::Builtin(e),
        None if call.kind.segments.len() == 1
            && kind_name.starts_with(|c: char| c.is_ascii_lowercase()) =>
        {
            unknown_kind(c, call, &kind_name);
            Found::None
        }
        None if a.width.is_some() => Found::User,
        None => {
            needs_width(c, a, &kind_name);
            Found::None
        }
    }
}

/// A lower-case kind that is not built in: the built-in it is a typo of, else the list.
fn unknown_kind(c: &mut Checker, call: &Call, kind_name: &str) {
    let user = "a user module is a type that implements `bpnet::Module`";
    let msg = match kinds::nearest(kind_name) {
        Some(k) => format!("unknown module `{kind_name}`: did you mean `{k}`? ({user})"),
        None => format!(
            "unknown module `{kind_name}`: the built-in modules are {}; {user}",
            kinds::known_list()
        ),
    };
    c.errs.spanned(&call.kind, msg);
}

/// A user module's state without a declared width; at the kind if it is a built-in's name
/// capitalised (`Tanh`), which is the likelier mistake.
fn needs_width(c: &mut Checker, a: &Assign, kind_name: &str) {
    let state = &a.state;
    match capitalised_kind(&a.call) {
        Some(k) => c.errs.spanned(
            &a.call.kind,
            format!(
                "did you mean the built-in `{k}`? kinds are lower case; a user module \
                 `{kind_name}` would need its output width declared, as in `{state}: N = …`, as \
                 the macro cannot see it"
            ),
        ),
        None => c.errs.spanned(
            state,
            format!(
                "state `{state}` is made by user module `{kind_name}`, whose output width the \
                 macro cannot see: declare it, as in `{state}: N = …`"
            ),
        ),
    }
}

/// The built-in kind a user module's type is named after but for case and `_` (`Tanh`,
/// `LeakyRelu`): almost surely that kind, miswritten.
fn capitalised_kind(call: &Call) -> Option<&'static str> {
    match call.kind.segments.iter().collect::<Vec<_>>().as_slice() {
        [seg] if seg.arguments.is_none() => {
            let name = seg.ident.unraw().to_string();
            kinds::nearest(&name).filter(|k| crate::suggest::same_but_case(k, &name))
        }
        _ => None,
    }
}

fn module(
    c: &mut Checker,
    a: &Assign,
    step: bool,
    out: usize,
    module_ids: &mut std::collections::HashMap<String, Ident>,
) {
    let call = &a.call;
    let kind_name = path_string(&call.kind);
    let found = find_kind(c, a, step);
    let user = matches!(found, Found::User);
    let name = module_name(c, a, user, &kind_name, module_ids);
    let key = name.unraw().to_string();

    let mut kind = match found {
        Found::Builtin(e) => {
            let args = options::options(c, e, call, &key);
            match (e.no_arrow, &call.out_width) {
                (None, Some((_, w))) if w.value == 0 => Kind::Broken,
                (None, None) => Kind::Broken,
                _ => args.map_or(Kind::Broken, |args| Kind::Op((e.build)(&args))),
            }
        }
        Found::User => {
            options::no_options(c, &kind_name, call, &key);
            Kind::User {
                path: call.kind.clone(),
                out: a
                    .width
                    .clone()
                    .expect("a user module's state has a declared width"),
            }
        }
        Found::None => Kind::Broken,
    };
    let entry = match found {
        Found::Builtin(e) => Some(e),
        _ => None,
    };

    let arity_ok = arity(c, entry, user, call, &key);
    arrow(c, entry, &kind, call, &key);
    let (args, delays, range, arg_ok) = arguments(c, call, step, &kind_name, &key);
    if c.states[out].quiet {
        return;
    }
    let arg_idents: Vec<Ident> = call
        .args
        .iter()
        .filter(|a| c.state_ids.contains_key(&a.unraw().to_string()))
        .cloned()
        .collect();
    if !(arg_ok && arity_ok) {
        if let Kind::User { .. } = kind {
            c.broken_users.push(ModuleM {
                name: name.clone(),
                kind,
                args: args.clone(),
                arg_idents: arg_idents.clone(),
                out,
                step,
                delays: delays.clone(),
                range: None,
                options: Vec::new(),
                call: call.tokens(),
            });
        }
        kind = Kind::Broken;
    }
    c.states[out].producer = Some(c.modules.len());
    c.modules.push(ModuleM {
        name,
        kind,
        args,
        arg_idents,
        out,
        step,
        delays,
        range,
        options: call
            .options
            .iter()
            .map(|o| (o.name.unraw().to_string(), o.name.span()))
            .collect(),
        call: call.tokens(),
    });
}

/// The module's name: given, or (for built-ins) the state's; unique, and for a user module not
/// a state's (both become fields).
fn module_name(
    c: &mut Checker,
    a: &Assign,
    user: bool,
    kind_name: &str,
    module_ids: &mut std::collections::HashMap<String, Ident>,
) -> Ident {
    let name = match (&a.module, user) {
        (Some(m), _) => m.clone(),
        (None, true) => {
            needs_name(c, a, kind_name);
            a.state.clone()
        }
        (None, false) => a.state.clone(),
    };
    let key = name.unraw().to_string();
    if let Some(first) = module_ids.get(&key) {
        c.errs.at(
            name.span(),
            format!(
                "module `{key}` is defined twice (first for state `{first}`); a module has one \
                 definition"
            ),
        );
    } else {
        module_ids.insert(key.clone(), a.state.clone());
    }
    if user && a.module.is_some() {
        if key.starts_with("__") {
            c.errs.at(
                name.span(),
                format!("`{key}`: names starting with `__` are reserved for generated code"),
            );
        }
        if let Some(&s) = c.state_ids.get(&key) {
            c.errs.at(
                name.span(),
                format!(
                    "user module `{key}` becomes a field of the struct, like state `{}`: give \
                     them different names",
                    c.states[s].name
                ),
            );
        }
    }
    name
}

/// A user module without a name (with the built-in it is likely a miswritten `Tanh` of).
fn needs_name(c: &mut Checker, a: &Assign, kind_name: &str) {
    let w = a.width.as_ref().map_or(0, |w| w.value);
    let usage = format!("`{}: {w} = NAME: {kind_name}(…)`", a.state);
    let msg = match capitalised_kind(&a.call) {
        Some(k) => format!(
            "did you mean the built-in `{k}`? kinds are lower case; a user module `{kind_name}` \
             would need a name, which becomes its field: {usage}"
        ),
        None => format!("user module `{kind_name}` needs a name, which becomes its field: {usage}"),
    };
    c.errs.spanned(&a.call.kind, msg);
}

/// The number of inputs; `false` if it is wrong (reported).
fn arity(c: &mut Checker, entry: Option<&Entry>, user: bool, call: &Call, key: &str) -> bool {
    let (want, usage, label) = match (entry, user) {
        (Some(e), _) => (e.arity, e.usage.to_string(), e.name.to_string()),
        (None, true) => (
            Arity::Exactly(1),
            "`Type(x)`".to_string(),
            path_string(&call.kind),
        ),
        (None, false) => return true,
    };
    let n = call.args.len();
    let ok = match want {
        Arity::Exactly(k) => n == k,
        Arity::AtLeast(k) => n >= k,
    };
    if !ok {
        c.incomplete = true;
        let need = match want {
            Arity::Exactly(1) => "one input state".to_string(),
            Arity::Exactly(k) => format!("{k} input states"),
            Arity::AtLeast(k) => format!("at least {k} input states"),
        };
        c.errs.spanned(
            call.tokens(),
            format!("module `{key}` ({label}) takes {need}, as in {usage}, but is given {n}"),
        );
    }
    ok
}

/// The output width arrow `-> N`: required by the kinds that take it, refused by the others.
fn arrow(c: &mut Checker, entry: Option<&Entry>, kind: &Kind, call: &Call, key: &str) {
    let name = entry.map(|e| e.name).unwrap_or("");
    match (entry.map(|e| e.no_arrow), &call.out_width) {
        (Some(None), None) => c.errs.spanned(
            call.tokens(),
            format!("{name} module `{key}` needs its output width: `{name}(x -> N)`"),
        ),
        (Some(None), Some((_, w))) if w.value == 0 => c.errs.spanned(
            &w.lit,
            format!(
                "{name} module `{key}` has output width 0; a state needs at least one component"
            ),
        ),
        (Some(None), Some(_)) | (_, None) => {}
        (None, Some(_)) if matches!(kind, Kind::Broken) => {}
        (Some(Some(what)), Some((arrow, _))) => c.errs.spanned(
            arrow,
            format!(
                "only `linear` takes an output width (`-> N`); {} module `{key}` {what}",
                kind_label(kind, name)
            ),
        ),
        (None, Some((arrow, _))) => c.errs.spanned(
            arrow,
            format!(
                "only `linear` takes an output width (`-> N`); {} module `{key}` gets it from \
                 its state's declared width",
                kind.label()
            ),
        ),
    }
}

/// A built-in kind's label, even when its module is broken.
fn kind_label(kind: &Kind, name: &str) -> String {
    match kind {
        Kind::Broken => name.to_string(),
        k => k.label(),
    }
}

/// Per argument: the state, the steps back it is read, and for `sum(e[a..b])` the range; `false`
/// if a state is unknown.
type Arguments = (Vec<usize>, Vec<usize>, Option<(usize, Option<usize>)>, bool);

fn arguments(c: &mut Checker, call: &Call, step: bool, kind_name: &str, key: &str) -> Arguments {
    let (mut args, mut delays, mut range, mut ok) = (Vec::new(), Vec::new(), None, true);
    for (arg, delay) in call.args.iter().zip(&call.delays) {
        let Some(&s) = c.state_ids.get(&arg.unraw().to_string()) else {
            ok = false;
            c.incomplete = true;
            let hint = state_hint(c, &arg.unraw().to_string());
            c.errs
                .at(arg.span(), format!("unknown state `{arg}`{hint}"));
            continue;
        };
        args.push(s);
        let mut k = 0;
        match delay {
            Some(d) if d.range.is_some() => {
                if let Some(r) = step_range(c, d, arg, kind_name, key) {
                    range = Some(r);
                }
            }
            Some(d) => k = delay_steps(c, d, arg, s, step, key),
            None => {}
        }
        delays.push(k);
    }
    (args, delays, range, ok)
}

/// `e[a..b]`: what `sum` gathers, `start < end ≤ T`.
fn step_range(
    c: &mut Checker,
    d: &crate::parse::Delay,
    arg: &Ident,
    kind_name: &str,
    key: &str,
) -> Option<(usize, Option<usize>)> {
    let (a, b) = d.range?;
    // Against an unreadable `T` (reported) every range is taken as possible.
    let t = match c.steps {
        Some(t) if !c.zero_steps => t,
        _ => usize::MAX,
    };
    let end = b.map_or(String::new(), |b| b.to_string());
    if kind_name != "sum" {
        c.errs.spanned(
            &d.tokens,
            format!(
                "a range of steps `{arg}[{a}..{end}]` is what `sum` gathers; module `{key}` reads \
                 one step"
            ),
        );
        None
    } else if b.is_some_and(|b| b <= a) || a >= t || b.is_some_and(|b| b > t) {
        c.errs.spanned(
            &d.tokens,
            format!(
                "`{arg}[{a}..{end}]` is not a range of steps of `0..{t}`: it needs start < end ≤ T"
            ),
        );
        None
    } else {
        Some((a, b))
    }
}

/// `h[t - k]`: `k`, the steps back, inside the block, of a per-step state, less than `T`. A
/// rejected delay still is no dependency: no cycle is reported for it.
fn delay_steps(
    c: &mut Checker,
    d: &crate::parse::Delay,
    arg: &Ident,
    s: usize,
    step: bool,
    key: &str,
) -> usize {
    let k = d.offset.unsigned_abs() as usize;
    let back = d.offset.unsigned_abs();
    let msg = if d.offset > 0 {
        format!(
            "`{arg}[t + {back}]` reads a future step; a module at step `t` reads steps `t` or \
             earlier"
        )
    } else if d.offset == 0 {
        return 0;
    } else if !step {
        format!(
            "`{arg}[t - {back}]`: a delay is read inside an `unfold` block, and module `{key}` is \
             outside any"
        )
    } else if !c.states[s].step {
        format!(
            "`{arg}` has one value for the whole sequence (it is declared outside the `unfold` \
             block), so it has no earlier step to read"
        )
    } else if let Some(t) = c.steps
        && k >= t
        && !c.zero_steps
    {
        format!(
            "`{arg}[t - {back}]` reaches back {back} steps, but the network is unfolded over \
             {t}: a delay must be less than `T`"
        )
    } else {
        return k;
    };
    c.incomplete = true;
    c.errs.spanned(&d.tokens, msg);
    k
}
