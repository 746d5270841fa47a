//! "Any module is permissible": the trait a user's own module implements.

use crate::Float;
use rand::Rng;

/// A module with one input state and one output state, usable inside `network!`.
///
/// A module owns no parameters: it reads them from a slice of the owning network's pool (and
/// accumulates its gradients into the parallel slice), so every network keeps the lecture's single
/// parameter vector, however deeply modules nest. A network declared without an energy and with one
/// input implements this trait, which is how networks nest.
///
/// The widths and parameter count are associated constants: `network!` checks them against the
/// declaration at compile time.
///
/// The paths are those of the `bpnet` crate, the one a program depends on (`Module` and `Rng` are
/// also in `bpnet::prelude`). `Module::bprop` **adds** into `dx` and `g` (`+=`): a network sums
/// there the contributions of the other modules that read the same state, of the rows of a
/// minibatch and of the steps of an `unfold` block; [`check_module_gradients`] checks that it does.
/// The README's section *Your own modules* has a complete module with its `Bbprop`, used in a
/// network and checked.
///
/// [`check_module_gradients`]: crate::check_module_gradients
///
/// ```
/// # extern crate bpnet_runtime as bpnet;
/// use bpnet::{Module, rand::Rng};
///
/// /// y = s · x with one trainable scale `s`.
/// struct Scale;
///
/// impl Module for Scale {
///     type Float = f64;
///     const IN: usize = 3;
///     const OUT: usize = 3;
///     const PARAMS: usize = 1;
///     fn create() -> Self { Scale }
///     fn init<R: Rng + ?Sized>(params: &mut [f64], _rng: &mut R) { params[0] = 1.0; }
///     fn fprop(&mut self, p: &[f64], x: &[f64], y: &mut [f64]) {
///         for (y, x) in y.iter_mut().zip(x) { *y = p[0] * x; }
///     }
///     fn bprop(&mut self, p: &[f64], g: &mut [f64], x: &[f64], _y: &[f64], dy: &[f64], dx: &mut [f64]) {
///         for ((dx, x), dy) in dx.iter_mut().zip(x).zip(dy) {
///             *dx += p[0] * dy;
///             g[0] += x * dy;
///         }
///     }
/// }
/// # let mut m = Scale::create();
/// # let mut y = [0.0; 3];
/// # m.fprop(&[2.0], &[1.0, 2.0, 3.0], &mut y);
/// # assert_eq!(y, [2.0, 4.0, 6.0]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a bpnet module",
    label = "used as a module in `network!`",
    note = "a user module implements `bpnet::Module`; a network is a module when it has an `output`, no energy, exactly one input and no `unfold` block, with bpnet's `std` feature (without it a network is its inference form alone)"
)]
pub trait Module: Sized {
    /// The element type.
    type Float: Float;
    /// Width of the input state.
    const IN: usize;
    /// Width of the output state.
    const OUT: usize;
    /// Number of parameters the module reads from the pool.
    const PARAMS: usize;
    /// The modules inside this one, for describing a nested layout (offsets relative to this
    /// module's slice). A leaf module keeps the default: none.
    const MODULES: &'static [crate::ModuleInfo] = &[];
    /// Set only by the stand-in that `network!` emits for a declaration with errors, so that the
    /// networks using it do not report mismatches of their own.
    #[doc(hidden)]
    const __BROKEN: bool = false;

    /// A fresh module with its internal states (if any) zeroed.
    fn create() -> Self;

    /// Initialises this module's slice of the pool (`PARAMS` values).
    fn init<R: Rng + ?Sized>(params: &mut [Self::Float], rng: &mut R);

    /// fprop: computes `output` (`OUT` values) from `input` (`IN` values) and `params`.
    fn fprop(&mut self, params: &[Self::Float], input: &[Self::Float], output: &mut [Self::Float]);

    /// bprop: from dE/d`output` (`doutput`), **adds** dE/d`input` into `dinput` and dE/d`params`
    /// into `grads`. `input` and `output` are the values of the last fprop.
    fn bprop(
        &mut self,
        params: &[Self::Float],
        grads: &mut [Self::Float],
        input: &[Self::Float],
        output: &[Self::Float],
        doutput: &[Self::Float],
        dinput: &mut [Self::Float],
    );

    /// Training (`true`, the default) or evaluation, set by the network's `set_training` on
    /// every copy of the module (per step, per row of a minibatch, in nested networks): a
    /// module that behaves differently in evaluation (a dropout, a batch statistic) switches
    /// here. Nothing by default.
    fn set_training(&mut self, on: bool) {
        let _ = on;
    }

    /// A seed of this copy's own, derived from the network's (see the networks'
    /// `seed_dropout`), given to every copy when the network makes it: a module that draws
    /// random numbers seeds them here, so that the same seed gives the same run. Nothing by
    /// default.
    fn set_seed(&mut self, seed: u64) {
        let _ = seed;
    }
}

/// A user module's second derivatives: what lets a network that contains it generate `bbprop`.
///
/// bbprop back-propagates the diagonal of the Gauss–Newton matrix ("Efficient BackProp", LeCun
/// et al. 1998): for `y = f(x, w)` with Jacobians `J = ∂y/∂x` and `K = ∂y/∂w`, given `ddy` (the
/// diagonal of ∂²E/∂y²), it **adds** `Σₒ J[o][i]² · ddy[o]` into `ddinput[i]` and
/// `Σₒ K[o][k]² · ddy[o]` into `ddparams[k]` (the second derivatives of `f` itself are dropped).
///
/// A module that does not implement this trait declares that it has none: the networks using it
/// still compile, and their `bbprop` is a compile error that names the module, if it is called.
///
/// ```
/// # extern crate bpnet_runtime as bpnet;
/// use bpnet::{Bbprop, Module, rand::Rng};
///
/// /// y = s · x with one trainable scale `s`.
/// struct Scale;
/// # impl Module for Scale {
/// #     type Float = f64;
/// #     const IN: usize = 3;
/// #     const OUT: usize = 3;
/// #     const PARAMS: usize = 1;
/// #     fn create() -> Self { Scale }
/// #     fn init<R: Rng + ?Sized>(params: &mut [f64], _rng: &mut R) { params[0] = 1.0; }
/// #     fn fprop(&mut self, p: &[f64], x: &[f64], y: &mut [f64]) {
/// #         for (y, x) in y.iter_mut().zip(x) { *y = p[0] * x; }
/// #     }
/// #     fn bprop(&mut self, p: &[f64], g: &mut [f64], x: &[f64], _y: &[f64], dy: &[f64], dx: &mut [f64]) {
/// #         for ((dx, x), dy) in dx.iter_mut().zip(x).zip(dy) { *dx += p[0] * dy; g[0] += x * dy; }
/// #     }
/// # }
///
/// impl Bbprop for Scale {
///     fn bbprop(&mut self, p: &[f64], dd: &mut [f64], x: &[f64], _y: &[f64], ddy: &[f64], ddx: &mut [f64]) {
///         for ((ddx, x), ddy) in ddx.iter_mut().zip(x).zip(ddy) {
///             *ddx += p[0] * p[0] * ddy; // ∂y/∂x = s
///             dd[0] += x * x * ddy;      // ∂y/∂s = x
///         }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "module type `{Self}` has no bbprop, so the network that uses it has none",
    label = "this network's bbprop needs every module's",
    note = "implement `bpnet::Bbprop` for `{Self}` (its Gauss–Newton second derivatives) to call bbprop"
)]
pub trait Bbprop: Module {
    /// bbprop: from `ddoutput` (∂²E/∂output², diagonal), **adds** ∂²E/∂input² into `ddinput` and
    /// ∂²E/∂params² into `ddparams`, both diagonal and Gauss–Newton. `input` and `output` are the
    /// values of the last fprop.
    fn bbprop(
        &mut self,
        params: &[Self::Float],
        ddparams: &mut [Self::Float],
        input: &[Self::Float],
        output: &[Self::Float],
        ddoutput: &[Self::Float],
        ddinput: &mut [Self::Float],
    );
}
