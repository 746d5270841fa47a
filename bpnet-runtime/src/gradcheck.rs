//! Verifying bprop against finite differences, on any generated network.

use crate::{Float, Module, Network};
use core::fmt;
use rand::{Rng, RngExt};

/// The worst disagreement found for one module's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleCheck {
    /// The module's name.
    pub name: &'static str,
    /// Its kind (`linear`, `tanh`, or a user type).
    pub kind: &'static str,
    /// Its number of parameters.
    pub params: usize,
    /// The largest relative error over its parameters.
    pub max_rel_error: f64,
    /// Position in the pool of the parameter with that error.
    pub worst_index: usize,
    /// bprop's derivative at that parameter.
    pub analytic: f64,
    /// The central-difference derivative at that parameter.
    pub numeric: f64,
    /// The first position (in the pool, as `worst_index`) whose derivative bprop **wrote** instead
    /// of adding it to what was there: the value after bprop alone matches the finite difference,
    /// but the value added to the non-zero start does not. `None` when bprop added, as the
    /// [`Module`] contract requires (`dx[i] += …`, `g[k] += …`, never `=`).
    pub overwritten: Option<usize>,
}

/// The outcome of [`check_gradients`]: one row per module that has parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// One entry per module with parameters, in declaration order.
    pub modules: Vec<ModuleCheck>,
    /// The finite-difference step used.
    pub step: f64,
}

impl GradCheck {
    /// The largest relative error over the whole pool (0 for a net without parameters).
    pub fn max_rel_error(&self) -> f64 {
        self.modules
            .iter()
            .map(|m| m.max_rel_error)
            .fold(0.0, f64::max)
    }

    /// The module with the largest relative error.
    pub fn worst(&self) -> Option<&ModuleCheck> {
        self.modules
            .iter()
            .max_by(|a, b| a.max_rel_error.total_cmp(&b.max_rel_error))
    }

    /// Whether every parameter's relative error is at most `tolerance` and no derivative was
    /// overwritten ([`ModuleCheck::overwritten`]).
    pub fn passes(&self, tolerance: f64) -> bool {
        self.max_rel_error() <= tolerance && self.modules.iter().all(|m| m.overwritten.is_none())
    }
}

impl fmt::Display for GradCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:<12} {:>7} {:>12}  worst (index: bprop vs finite difference)",
            "module", "kind", "params", "rel. error"
        )?;
        for m in &self.modules {
            writeln!(
                f,
                "{:<16} {:<12} {:>7} {:>12.3e}  {}: {:.9e} vs {:.9e}",
                m.name, m.kind, m.params, m.max_rel_error, m.worst_index, m.analytic, m.numeric
            )?;
        }
        for m in &self.modules {
            if let Some(i) = m.overwritten {
                let what = if m.name == "input" {
                    "dE/d(input) (`dinput`)"
                } else {
                    "the gradient (`grads`)"
                };
                writeln!(
                    f,
                    "`{}` overwrote {what} at position {i} instead of adding to it: bprop must \
                     add (`+=`) into `dinput` and `grads`, which hold other contributions",
                    m.name
                )?;
            }
        }
        Ok(())
    }
}

/// Compares the gradients bprop puts in the pool with central differences of the energy.
///
/// `fprop` runs the network on one fixed sample and returns its energy; it is called twice per
/// parameter. The step is `ε^(1/3)` of the element type (about 6e-6 for `f64`). The relative error
/// of a parameter is `|a − n| / max(|a|, |n|, 1e-8 + 1e-3 · g)` where `a` is bprop's derivative,
/// `n` the finite difference and `g` the largest `|n|` in the pool, so derivatives that are zero up
/// to rounding do not count as large relative errors. Use `f64` networks for tight tolerances.
///
/// bprop **adds** into the pool, so `a` is what a second fprop and bprop add to the pool that the
/// first left (not zero): a module that writes its gradient (`g[k] = …`) instead of adding to it
/// fails the check, and its row says so ([`ModuleCheck::overwritten`]).
///
/// On return the parameters are as they were and the gradient pool holds bprop's gradient.
pub fn check_gradients<N: Network>(
    net: &mut N,
    mut fprop: impl FnMut(&mut N) -> N::Float,
) -> GradCheck {
    let h = N::Float::EPSILON.to_f64().cbrt();
    net.zero_grad();
    fprop(net);
    net.bprop();
    let before: Vec<f64> = net.grads().iter().map(|g| g.to_f64()).collect();
    fprop(net);
    net.bprop();
    let after: Vec<f64> = net.grads().iter().map(|g| g.to_f64()).collect();
    let mut numeric = vec![0.0; after.len()];
    for (i, n) in numeric.iter_mut().enumerate() {
        let p = net.params()[i];
        let step = N::Float::from_f64(h);
        net.params_mut()[i] = p + step;
        let up = fprop(net).to_f64();
        net.params_mut()[i] = p - step;
        let down = fprop(net).to_f64();
        net.params_mut()[i] = p;
        *n = (up - down) / (2.0 * h);
    }
    net.zero_grad();
    fprop(net);
    net.bprop();
    let groups = N::MODULES
        .iter()
        .filter(|m| m.len > 0)
        .map(|m| (m.name, m.kind, m.range()));
    GradCheck {
        modules: compare(&before, &after, &numeric, groups),
        step: h,
    }
}

/// One row per group of positions: the worst relative error of what bprop added (`after −
/// before`) against `numeric`, and the first position where bprop wrote instead of adding.
fn compare<'a>(
    before: &[f64],
    after: &[f64],
    numeric: &[f64],
    groups: impl Iterator<Item = (&'static str, &'static str, core::ops::Range<usize>)> + 'a,
) -> Vec<ModuleCheck> {
    let floor = 1e-8 + 1e-3 * numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let rel = |a: f64, n: f64| {
        let err = (a - n).abs() / a.abs().max(n.abs()).max(floor);
        if err.is_nan() { f64::INFINITY } else { err }
    };
    groups
        .map(|(name, kind, range)| {
            let mut row = ModuleCheck {
                name,
                kind,
                params: range.len(),
                max_rel_error: 0.0,
                worst_index: range.start,
                analytic: after[range.start] - before[range.start],
                numeric: numeric[range.start],
                overwritten: None,
            };
            for i in range {
                let (a, n) = (after[i] - before[i], numeric[i]);
                let err = rel(a, n);
                if err > row.max_rel_error {
                    row.max_rel_error = err;
                    row.worst_index = i;
                    row.analytic = a;
                    row.numeric = n;
                }
                // Written, not added: the value left alone is the derivative, by far.
                if row.overwritten.is_none() && rel(after[i], n) < 1e-2 * err {
                    row.overwritten = Some(i);
                }
            }
            row
        })
        .collect()
}

/// Checks a [`Module`]'s bprop on its own — a user module, or a network without an energy —
/// against central differences, for its parameters and for its input.
///
/// The module gets a fresh pool initialised by [`Module::init`] and the energy `E = r · y` for a
/// random direction `r` (so every output counts). It is given the same seed
/// ([`Module::set_seed`]) before every fprop, so that a module drawing random numbers (a network
/// with `dropout`) is checked on one draw. bprop starts from `grads` and `dinput` holding
/// random values of magnitude 0.5 to 1 (not zero, as in a network, where they hold the other
/// modules' and the other samples' and steps' contributions), and what it **added** to them is
/// compared with the finite differences: a bprop that writes (`dx[i] = …`, `g[k] = …`) instead of
/// adding fails, and the report says which row it overwrote ([`ModuleCheck::overwritten`]).
/// The report has one row per inner module (from
/// [`Module::MODULES`], or one row `params` for a leaf module), then a row `input` for dE/d(input);
/// errors are measured as in [`check_gradients`]. The pool positions of the `input` row follow the
/// parameters (`PARAMS + j` for input component `j`).
///
/// # Panics
/// If `input` does not have `M::IN` components.
pub fn check_module_gradients<M: Module, R: Rng + ?Sized>(
    rng: &mut R,
    input: &[M::Float],
) -> GradCheck {
    assert_eq!(input.len(), M::IN, "check_module_gradients: input width");
    type F<M> = <M as Module>::Float;
    let h = F::<M>::EPSILON.to_f64().cbrt();
    let mut params = vec![F::<M>::ZERO; M::PARAMS];
    M::init(&mut params, rng);
    let direction: Vec<F<M>> = (0..M::OUT)
        .map(|_| F::<M>::from_f64(rng.random_range(-1.0..1.0)))
        .collect();
    let mut module = M::create();
    let mut output = vec![F::<M>::ZERO; M::OUT];
    // Every fprop seeded alike: a module that draws random numbers (a dropout) draws the same
    // ones each time, so the finite differences are of one function, the one bprop goes back
    // through.
    let seed = rng.next_u64();
    let energy = |m: &mut M, p: &[F<M>], x: &[F<M>], y: &mut [F<M>]| -> f64 {
        m.set_seed(seed);
        m.fprop(p, x, y);
        y.iter()
            .zip(&direction)
            .map(|(a, b)| (*a * *b).to_f64())
            .sum()
    };

    // Non-zero starts, of either sign: what bprop must add to.
    let mut start = || {
        let v: f64 = rng.random_range(0.5..1.0);
        F::<M>::from_f64(if rng.random::<bool>() { v } else { -v })
    };
    let mut grads: Vec<F<M>> = (0..M::PARAMS).map(|_| start()).collect();
    let mut dinput: Vec<F<M>> = (0..M::IN).map(|_| start()).collect();
    let before: Vec<f64> = grads.iter().chain(&dinput).map(|g| g.to_f64()).collect();
    energy(&mut module, &params, input, &mut output);
    module.bprop(&params, &mut grads, input, &output, &direction, &mut dinput);
    let after: Vec<f64> = grads.iter().chain(&dinput).map(|g| g.to_f64()).collect();

    let step = F::<M>::from_f64(h);
    let mut x = input.to_vec();
    let mut numeric = Vec::with_capacity(after.len());
    for i in 0..M::PARAMS + M::IN {
        let (up, down);
        if i < M::PARAMS {
            let v = params[i];
            params[i] = v + step;
            up = energy(&mut module, &params, &x, &mut output);
            params[i] = v - step;
            down = energy(&mut module, &params, &x, &mut output);
            params[i] = v;
        } else {
            let v = x[i - M::PARAMS];
            x[i - M::PARAMS] = v + step;
            up = energy(&mut module, &params, &x, &mut output);
            x[i - M::PARAMS] = v - step;
            down = energy(&mut module, &params, &x, &mut output);
            x[i - M::PARAMS] = v;
        }
        numeric.push((up - down) / (2.0 * h));
    }

    let inner: Vec<(&'static str, &'static str, core::ops::Range<usize>)> = if M::MODULES.is_empty()
    {
        vec![("params", "module", 0..M::PARAMS)]
    } else {
        M::MODULES
            .iter()
            .map(|m| (m.name, m.kind, m.range()))
            .collect()
    };
    let groups = inner.into_iter().filter(|g| !g.2.is_empty()).chain([(
        "input",
        "state",
        M::PARAMS..M::PARAMS + M::IN,
    )]);
    GradCheck {
        modules: compare(&before, &after, &numeric, groups),
        step: h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ModuleInfo, StateInfo};

    /// E = Σ cᵢ wᵢ³ with a hand-written bprop; `WRONG` breaks only the last parameter's gradient.
    struct Cubic<const WRONG: bool> {
        w: Vec<f64>,
        g: Vec<f64>,
        /// bprop writes `g[0]` instead of adding to it.
        overwrite: bool,
    }

    const C: [f64; 3] = [0.5, -1.5, 2.0];

    impl<const WRONG: bool> Network for Cubic<WRONG> {
        type Float = f64;
        const PARAMS: usize = 3;
        const MODULES: &'static [ModuleInfo] = &[
            ModuleInfo {
                name: "a",
                kind: "cubic",
                offset: 0,
                len: 2,
                inputs: &[],
                output: "e",
                children: &[],
                tensors: &[],
            },
            ModuleInfo {
                name: "b",
                kind: "cubic",
                offset: 2,
                len: 1,
                inputs: &[],
                output: "e",
                children: &[],
                tensors: &[],
            },
        ];
        const STATES: &'static [StateInfo] = &[];
        fn params(&self) -> &[f64] {
            &self.w
        }
        fn params_mut(&mut self) -> &mut [f64] {
            &mut self.w
        }
        fn grads(&self) -> &[f64] {
            &self.g
        }
        fn energy(&self) -> f64 {
            self.w.iter().zip(C).map(|(w, c)| c * w * w * w).sum()
        }
        fn zero_grad(&mut self) {
            self.g.fill(0.0);
        }
        fn bprop(&mut self) {
            for (i, (g, w)) in self.g.iter_mut().zip(&self.w).enumerate() {
                let factor = if WRONG && i == 2 { 2.9 } else { 3.0 };
                if self.overwrite && i == 0 {
                    *g = factor * C[i] * w * w;
                } else {
                    *g += factor * C[i] * w * w;
                }
            }
        }
        fn sgd_step(&mut self, _lr: f64) {}
        fn set_input_grads(&mut self, _on: bool) {}
        fn input_grads(&self) -> bool {
            false
        }
    }

    #[test]
    fn a_correct_bprop_passes_and_the_pool_is_restored() {
        let mut net = Cubic::<false> {
            w: vec![0.3, -0.7, 1.1],
            g: vec![9.0; 3],
            overwrite: false,
        };
        let report = check_gradients(&mut net, |n| n.energy());
        assert!(report.passes(1e-8), "{report}");
        assert_eq!(net.w, [0.3, -0.7, 1.1]);
        assert_eq!(report.modules.len(), 2);
        assert!((net.g[1] - 3.0 * -1.5 * 0.49).abs() < 1e-12);
    }

    #[test]
    fn a_wrong_last_parameter_is_found_and_located() {
        let mut net = Cubic::<true> {
            w: vec![0.3, -0.7, 1.1],
            g: vec![0.0; 3],
            overwrite: false,
        };
        let report = check_gradients(&mut net, |n| n.energy());
        assert!(!report.passes(1e-3), "{report}");
        let worst = report.worst().unwrap();
        assert_eq!((worst.name, worst.worst_index), ("b", 2));
        assert!((worst.max_rel_error - 0.1 / 3.0).abs() < 1e-6, "{report}");
        assert!(report.modules[0].max_rel_error < 1e-8, "{report}");
        assert!(report.to_string().contains("b "));
    }

    #[test]
    fn a_network_whose_bprop_writes_its_gradient_fails_and_says_so() {
        let mut net = Cubic::<false> {
            w: vec![0.3, -0.7, 1.1],
            g: vec![0.0; 3],
            overwrite: true,
        };
        let report = check_gradients(&mut net, |n| n.energy());
        assert!(!report.passes(1e-3), "{report}");
        assert_eq!(report.modules[0].overwritten, Some(0), "{report}");
        assert!(report.modules[0].max_rel_error > 0.5, "{report}");
        assert_eq!(report.modules[1].overwritten, None, "{report}");
        assert!(report.modules[1].max_rel_error < 1e-8, "{report}");
        let text = report.to_string();
        assert!(
            text.contains("`a` overwrote the gradient (`grads`) at position 0 instead of adding"),
            "{text}"
        );
        // The pool still holds one bprop's gradient.
        assert!((net.g[1] - 3.0 * -1.5 * 0.49).abs() < 1e-12);
    }

    /// y = s ∘ x², one trainable scale per unit; `BUG` 1 writes `dx`, 2 writes `g`, 0 adds both.
    struct Sq<const BUG: u8>;

    impl<const BUG: u8> Module for Sq<BUG> {
        type Float = f64;
        const IN: usize = 3;
        const OUT: usize = 3;
        const PARAMS: usize = 3;
        fn create() -> Self {
            Sq
        }
        fn init<R: Rng + ?Sized>(params: &mut [f64], _rng: &mut R) {
            params.copy_from_slice(&[0.5, -1.0, 2.0]);
        }
        fn fprop(&mut self, p: &[f64], x: &[f64], y: &mut [f64]) {
            for i in 0..3 {
                y[i] = p[i] * x[i] * x[i];
            }
        }
        fn bprop(
            &mut self,
            p: &[f64],
            g: &mut [f64],
            x: &[f64],
            _: &[f64],
            dy: &[f64],
            dx: &mut [f64],
        ) {
            for i in 0..3 {
                let (d, w) = (2.0 * p[i] * x[i] * dy[i], x[i] * x[i] * dy[i]);
                if BUG == 1 {
                    dx[i] = d
                } else {
                    dx[i] += d
                }
                if BUG == 2 { g[i] = w } else { g[i] += w }
            }
        }
    }

    fn module_report<const BUG: u8>() -> GradCheck {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        check_module_gradients::<Sq<BUG>, _>(&mut rng, &[0.3, -0.8, 1.2])
    }

    #[test]
    fn a_module_that_adds_passes() {
        let report = module_report::<0>();
        assert!(report.passes(1e-8), "{report}");
        assert!(report.modules.iter().all(|m| m.overwritten.is_none()));
        assert!(!report.to_string().contains("overwrote"), "{report}");
    }

    #[test]
    fn a_module_that_writes_dx_is_caught() {
        let report = module_report::<1>();
        assert!(!report.passes(1e-3), "{report}");
        let names: Vec<_> = report
            .modules
            .iter()
            .map(|m| (m.name, m.overwritten))
            .collect();
        assert_eq!(names, [("params", None), ("input", Some(3))], "{report}");
        assert!(report.modules[0].max_rel_error < 1e-8, "{report}");
        assert!(report.modules[1].max_rel_error > 0.1, "{report}");
        let text = report.to_string();
        assert!(
            text.contains(
                "`input` overwrote dE/d(input) (`dinput`) at position 3 instead of adding"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_module_that_writes_its_gradient_is_caught() {
        let report = module_report::<2>();
        assert!(!report.passes(1e-3), "{report}");
        let names: Vec<_> = report
            .modules
            .iter()
            .map(|m| (m.name, m.overwritten))
            .collect();
        assert_eq!(names, [("params", Some(0)), ("input", None)], "{report}");
        assert!(report.modules[1].max_rel_error < 1e-8, "{report}");
        let text = report.to_string();
        assert!(
            text.contains(
                "`params` overwrote the gradient (`grads`) at position 0 instead of adding"
            ),
            "{text}"
        );
    }
}
