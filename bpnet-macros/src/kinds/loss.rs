//! The lecture's classification losses over the energies of every answer, from a state of
//! energies (or logits) and a one-hot target: `energy_loss`, `nll(e, y, beta = β)`,
//! `hinge(e, y, margin = m)` and `cross_entropy(logits, y)`. A loss is lowered: it becomes the
//! energy, alone or added to others.

use super::{Args, Arity, Entry, OptSpec, Rule};
use crate::op::{Flow, Op, Sites, StateRole, WidthView};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

macro_rules! loss_entry {
    ($c:ident, $name:literal, $usage:literal, $options:expr, $build:expr) => {
        pub const $c: Entry = Entry {
            name: $name,
            flow: Flow::Loss,
            arity: Arity::Exactly(2),
            usage: $usage,
            no_arrow: Some("makes the scalar loss"),
            options: $options,
            build: $build,
        };
    };
}

loss_entry!(
    ENERGY_LOSS,
    "energy_loss",
    "`energy_loss(energies, y)`",
    &[],
    |_| { Box::new(Loss::new("energy_loss", "energy", None)) }
);
loss_entry!(
    NLL,
    "nll",
    "`nll(energies, y)`",
    &[OptSpec {
        name: "beta",
        rule: Rule::Positive,
        default: Some(1.0),
        what: "β",
        explain: "β, the inverse temperature of nll module `{key}`, is a positive number (1 by \
                  default): a smaller `beta` makes its probabilities flatter, a larger one sharper",
    }],
    |a: &Args| Box::new(Loss::new("nll", "nll", Some(("β", a.get("beta")))))
);
loss_entry!(
    HINGE,
    "hinge",
    "`hinge(energies, y)`",
    &[OptSpec {
        name: "margin",
        rule: Rule::NonNegative,
        default: Some(1.0),
        what: "the margin",
        explain: "the margin of hinge module `{key}` is zero or more (1 by default): how much \
                  lower than every other class's the correct class's energy must be",
    }],
    |a: &Args| Box::new(Loss::new("hinge", "hinge", Some(("m", a.get("margin")))))
);
loss_entry!(
    CROSS_ENTROPY,
    "cross_entropy",
    "`cross_entropy(logits, y)`",
    &[],
    |_| Box::new(Loss::new("cross_entropy", "cross_entropy", None))
);

/// A loss: its name, its runtime module (`bpnet_runtime::loss::…`), and the number it is
/// declared with (β or the margin, with its symbol), passed to every kernel.
struct Loss {
    name: &'static str,
    kernels: &'static str,
    number: Option<(&'static str, f64)>,
}

impl Loss {
    fn new(name: &'static str, kernels: &'static str, number: Option<(&'static str, f64)>) -> Self {
        Loss {
            name,
            kernels,
            number,
        }
    }

    /// `::bpnet::__private::loss::<kernels>::<float>`.
    fn kernels(&self, s: &dyn Sites) -> TokenStream {
        let (rt, m, f) = (s.rt(), format_ident!("{}", self.kernels), s.float());
        quote!(#rt::loss::#m::#f)
    }

    /// What the first argument holds.
    fn scores(&self) -> &'static str {
        if self.name == "cross_entropy" {
            "logits"
        } else {
            "energies"
        }
    }
}

impl Op for Loss {
    fn name(&self) -> &'static str {
        self.name
    }
    fn detail(&self, _: &[usize], _: usize) -> String {
        match self.number {
            Some((sym, v)) => format!("{} {sym}={v}", self.name),
            None => self.name.to_string(),
        }
    }
    fn flow(&self) -> Flow {
        Flow::Loss
    }
    fn width(&self, _: &[Option<usize>]) -> Option<usize> {
        Some(1)
    }
    /// `y` is a target, one-hot over the classes, so of the energies' width, which is at least 2.
    fn check(&self, view: &WidthView, errs: &mut dyn FnMut(Span, String)) {
        let (e, y) = (&view.args[0], &view.args[1]);
        let (name, scores, module) = (self.name, self.scores(), &view.name);
        if y.role != StateRole::Target {
            let what = match (y.role, &y.made_by) {
                (StateRole::Input, _) => "an input".to_string(),
                (_, Some((kind, m))) => format!("computed by {kind} module `{m}`"),
                _ => "not a target".to_string(),
            };
            errs(
                y.span,
                format!(
                    "the second argument of {name} module `{module}` is the correct answer, a \
                     `target` (one-hot over the classes), but `{}` is {what}",
                    y.text
                ),
            );
        }
        match (e.width, y.width) {
            (Some(k), _) if k < 2 => errs(
                e.span,
                format!(
                    "{name} module `{module}` chooses among the classes of `{}`, but it has width \
                     {k}: a classification loss needs {scores} for at least 2 classes, one per \
                     class",
                    e.text
                ),
            ),
            (Some(k), Some(w)) if k != w && y.role == StateRole::Target => errs(
                y.span,
                format!(
                    "{name} module `{module}` reads {k} {scores} from `{}`, one per class, but \
                     target `{}` has width {w}: a one-hot target has one value per class, \
                     `target {}: {k}`",
                    e.text, y.text, y.state
                ),
            ),
            _ => {}
        }
    }
    fn fprop(&self, s: &dyn Sites) -> TokenStream {
        let k = self.kernels(s);
        let p = self.number.map(|(_, v)| s.number(v));
        let (xe, xy, xo) = (s.x(&s.arg(0)), s.x(&s.arg(1)), s.x_mut(&s.out()));
        if s.batch() {
            let w = s.width(0);
            quote!(#k::fprop_batch(#xe, #xy, #xo, #w, rows #p);)
        } else {
            quote!(#k::fprop(#xe, #xy, #xo #p);)
        }
    }
    /// dL/dE into the energies (every class), dL/dy into the target.
    fn backward(&self, s: &dyn Sites, acc: &[bool]) -> TokenStream {
        let k = self.kernels(s);
        let p = self.number.map(|(_, v)| s.number(v));
        let mid = if s.inner() { "_inner" } else { "" };
        let tail = |i: usize| if acc[i] { "_acc" } else { "" };
        let (ve, vy) = (
            s.backward(mid, tail(0)),
            s.backward(&format!("{mid}_target"), tail(1)),
        );
        let (e, y, o) = (s.arg(0), s.arg(1), s.out());
        let (xe, xy, dxo) = (s.x(&e), s.x(&y), s.d(&o));
        let (dxe, dxy) = (s.d_mut(&e), s.d_mut(&y));
        let rows = s.batch().then(|| {
            let w = s.width(0);
            quote!(, #w, rows)
        });
        let calls = [
            quote!(#k::#ve(#xe, #xy, #dxo, #dxe #rows #p);),
            quote!(#k::#vy(#xe, #xy, #dxo, #dxy #rows #p);),
        ];
        let calls = calls
            .into_iter()
            .enumerate()
            .map(|(i, call)| s.unless_skipped(i, call));
        quote!(#(#calls)*)
    }
}
