//! Optimizers that update the whole parameter pool at once, and learning-rate schedules.
//!
//! The lecture pools all parameters in one vector "so that one update touches them all". The
//! optimizers here work on that pool: [`Sgd`] (with momentum, classic or Nesterov, and weight
//! decay) and [`Adam`] (with bias correction, and L2 or decoupled, AdamW-style, weight decay).
//! Each keeps its state — velocity, first and second moments — as a flat `Vec` parallel to the
//! pool: entry `i` of the state belongs to parameter `i`, whatever module it is in.
//!
//! An optimizer updates `(params: &mut [F], grads: &[F])` with [`Optimizer::update`], or a network
//! directly with [`Optimizer::step`]. The learning rate of each update is the optimizer's base
//! rate times a [`Schedule`] factor of the number of updates already made.
//!
//! The update rules follow PyTorch's `torch.optim.SGD` and `torch.optim.Adam`/`AdamW` (so the
//! numbers can be compared with it): see each type for the formulas.
//!
//! [`Sdlm`], stochastic diagonal Levenberg–Marquardt (LeCun et al. 1998), gives each parameter
//! its own rate `ηᵢ = ε / (μ + hᵢᵢ)` from `hᵢᵢ`, the diagonal Gauss–Newton second derivative of
//! the energy that a network's `bbprop` back-propagates ([`SecondOrder`](crate::SecondOrder)),
//! averaged over a few hundred samples and re-estimated on a schedule ([`Every`]).
//!
//! ```
//! use bpnet::prelude::*;
//! use bpnet::optim::{Adam, Optimizer, Schedule};
//!
//! network! {
//!     #[bpnet(float = f64)]
//!     pub struct Fit {
//!         input  x: 2;
//!         target y: 1;
//!         h      = l1: linear(x -> 8);
//!         a      = t1: tanh(h);
//!         o      = l2: linear(a -> 1);
//!         energy = euclidean(o, y);
//!     }
//! }
//!
//! let mut net = Fit::new(&mut StdRng::seed_from_u64(0));
//! let mut opt = Adam::new(0.01).schedule(Schedule::Cosine { steps: 500, floor: 0.1 });
//! let samples = [([0.5, -0.5], [0.3]), ([0.1, 0.9], [-0.2]), ([-0.7, 0.2], [0.6])];
//! let before: f64 = samples.iter().map(|(x, y)| net.fprop(x, y)).sum();
//! for i in 0..500 {
//!     // The lecture's cycle: fprop, zero the gradients, bprop, one update of the whole pool.
//!     let (x, y) = &samples[i % 3];
//!     net.fprop(x, y);
//!     net.zero_grad();
//!     net.bprop();
//!     opt.step(&mut net);
//! }
//! let after: f64 = samples.iter().map(|(x, y)| net.fprop(x, y)).sum();
//! assert!(after < 0.01 * before, "{before} -> {after}");
//! assert_eq!(opt.steps(), 500);
//! assert_eq!(opt.first_moment().len(), Fit::PARAMS); // state parallel to the pool
//! ```
//!
//! # Settings
//!
//! A setting out of its range (a negative or NaN learning rate, a momentum of 1, …) makes the
//! constructors and setters panic; each has a `try_` form ([`Sgd::try_new`],
//! [`Sgd::try_momentum`], [`Adam::try_betas`], [`Sdlm::try_new`], …) that returns a
//! [`SettingError`] instead, naming the setting, the value and what it must be: for settings
//! read from a configuration file or a command line.
//!
//! # Pool lengths
//!
//! A pool's length is fixed when its network compiles, so giving an optimizer pools of different
//! lengths is a programming error, not bad data: the optimizers **panic** with a message saying
//! which lengths differ when `params` and `grads` differ in length, or when the pool's length
//! differs from the one the optimizer's state was made for (one optimizer is meant for one
//! network; [`Optimizer::reset`] forgets the state, and with it the length).

use crate::{Float, Network};

mod sdlm;
mod setting;
pub use sdlm::{CurvatureError, Every, Sdlm};
pub use setting::SettingError;
use setting::{non_negative, or_panic, positive, unit};

/// The name of the learning-rate setting in [`SettingError`].
const LR: &str = "the learning rate";
/// The name of the weight-decay setting in [`SettingError`].
const WD: &str = "the weight decay";

/// How the learning rate changes with the number of updates already made.
///
/// The rate of an update is `base × factor(t)`, where `t` counts the updates made before it
/// (`t = 0` for the first). The trainer in [`crate::train`] makes one update per sample, or per
/// minibatch, so an epoch is `⌈samples / batch⌉` updates; to decay per epoch, count in those.
///
/// ```
/// use bpnet::optim::Schedule;
///
/// let step = Schedule::Step { every: 100, gamma: 0.5 };
/// assert_eq!((step.factor(0), step.factor(99), step.factor(100), step.factor(250)),
///            (1.0, 1.0, 0.5, 0.25));
/// let cosine = Schedule::Cosine { steps: 1000, floor: 0.1 };
/// assert_eq!((cosine.factor(0), cosine.factor(1000), cosine.factor(5000)), (1.0, 0.1, 0.1));
/// assert!((cosine.factor(500) - 0.55).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub enum Schedule {
    /// The base rate for every update: factor 1.
    #[default]
    Constant,
    /// Step decay: multiplied by `gamma` every `every` updates, `gamma^⌊t / every⌋`.
    /// `every = 0` counts as 1.
    Step {
        /// Updates between two decays.
        every: u64,
        /// The factor of each decay (`0.1` divides the rate by ten).
        gamma: f64,
    },
    /// Exponential decay, `gamma^t`.
    Exponential {
        /// The factor per update, e.g. `0.999`.
        gamma: f64,
    },
    /// Inverse-time decay, `1 / (1 + decay · t)`: the rate `η₀ / (1 + t/τ)` of stochastic
    /// approximation, with `decay = 1/τ`.
    InverseTime {
        /// The decay per update, `1/τ`.
        decay: f64,
    },
    /// Cosine annealing from 1 down to `floor` over `steps` updates, then `floor`:
    /// `floor + (1 − floor) · (1 + cos(π · min(t, steps) / steps)) / 2`. `steps = 0` gives
    /// `floor` at once.
    Cosine {
        /// The number of updates the annealing takes.
        steps: u64,
        /// The factor it ends at (`0.0` to anneal to zero).
        floor: f64,
    },
    /// Any factor of `t`, e.g. a linear warm-up: `Schedule::Custom(|t| ((t + 1) as f64 / 100.0).min(1.0))`.
    Custom(fn(u64) -> f64),
}

impl Schedule {
    /// The factor the base learning rate is multiplied by for the update that follows `t`
    /// updates.
    pub fn factor(&self, t: u64) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, gamma } => powu(gamma, t / every.max(1)),
            Schedule::Exponential { gamma } => powu(gamma, t),
            Schedule::InverseTime { decay } => 1.0 / (1.0 + decay * t as f64),
            Schedule::Cosine { steps, floor } => {
                if steps == 0 {
                    return floor;
                }
                let progress = t.min(steps) as f64 / steps as f64;
                floor + (1.0 - floor) * 0.5 * (1.0 + (core::f64::consts::PI * progress).cos())
            }
            Schedule::Custom(f) => f(t),
        }
    }
}

/// `base^n` for any `u64` exponent (`powi` takes an `i32`).
fn powu(base: f64, n: u64) -> f64 {
    match i32::try_from(n) {
        Ok(n) => base.powi(n),
        Err(_) => base.powf(n as f64),
    }
}

/// Square root in `F` (the `Float` trait has none): `f32` through `f64` is still correctly
/// rounded, since a double's 53 bits exceed twice a float's 24 plus 2.
#[inline(always)]
fn sqrt<F: Float>(v: F) -> F {
    F::from_f64(v.to_f64().sqrt())
}

/// An optimizer of a whole parameter pool.
///
/// Implemented by [`Sgd`], [`Adam`] and [`Sdlm`]; a user optimizer implements [`Optimizer::update_scaled`],
/// [`Optimizer::learning_rate`], [`Optimizer::steps`] and [`Optimizer::reset`]. The trait is
/// dyn-compatible (`Box<dyn Optimizer<f32>>`): the methods that take a network are for sized
/// optimizers only.
pub trait Optimizer<F: Float> {
    /// One update of the pool from the gradient `grad_scale · grads` (a minibatch's summed
    /// gradient with `grad_scale = 1/n` is its mean). Advances the schedule by one update.
    ///
    /// # Panics
    /// If `params` and `grads` differ in length, or the pool's length differs from the one the
    /// optimizer's state was made for (see the [module documentation](self)).
    fn update_scaled(&mut self, params: &mut [F], grads: &[F], grad_scale: F);

    /// The learning rate the next update will use (the base rate times the schedule's factor).
    fn learning_rate(&self) -> F;

    /// The number of updates made since the optimizer was made or [reset](Optimizer::reset).
    fn steps(&self) -> u64;

    /// Forgets the state (velocity, moments, the update count): the next update is a first one,
    /// for a pool of any length.
    fn reset(&mut self);

    /// One update of the pool from the gradient `grads`.
    ///
    /// # Panics
    /// As [`Optimizer::update_scaled`].
    fn update(&mut self, params: &mut [F], grads: &[F]) {
        self.update_scaled(params, grads, F::ONE);
    }

    /// One update of a network's pool from its gradient pool, as filled by `bprop`.
    ///
    /// # Panics
    /// As [`Optimizer::update_scaled`].
    fn step<N: Network<Float = F>>(&mut self, net: &mut N)
    where
        Self: Sized,
    {
        self.step_scaled(net, F::ONE);
    }

    /// One update of a network's pool from `grad_scale` times its gradient pool.
    ///
    /// The [`Network`] trait lends the parameters and the gradients one at a time, so this copies
    /// the gradients first. The default implementation copies them into a new `Vec` at every
    /// call; [`Sgd`] and [`Adam`] reuse a buffer of their own, allocated at the first call.
    ///
    /// # Panics
    /// As [`Optimizer::update_scaled`].
    fn step_scaled<N: Network<Float = F>>(&mut self, net: &mut N, grad_scale: F)
    where
        Self: Sized,
    {
        let grads = net.grads().to_vec();
        self.update_scaled(net.params_mut(), &grads, grad_scale);
    }
}

impl<F: Float, O: Optimizer<F> + ?Sized> Optimizer<F> for Box<O> {
    fn update_scaled(&mut self, params: &mut [F], grads: &[F], grad_scale: F) {
        (**self).update_scaled(params, grads, grad_scale);
    }
    fn learning_rate(&self) -> F {
        (**self).learning_rate()
    }
    fn steps(&self) -> u64 {
        (**self).steps()
    }
    fn reset(&mut self) {
        (**self).reset();
    }
}

/// Checks the pool lengths and makes `state` the pool's length if it is empty (a first update).
#[track_caller]
fn fit_state<F: Float>(what: &str, params: usize, grads: usize, state: &mut Vec<F>) {
    assert_eq!(
        params, grads,
        "{what}: the parameter pool has {params} values but the gradient pool has {grads}"
    );
    if state.is_empty() {
        state.resize(params, F::ZERO);
    }
    assert_eq!(
        state.len(),
        params,
        "{what}: the optimizer's state was made for a pool of {} parameters, but this pool has \
         {params} (one optimizer per network, or call `reset` first)",
        state.len()
    );
}

/// Copies a network's gradient pool into `buf` (resized as needed, so allocated once).
fn copy_grads<N: Network>(net: &N, buf: &mut Vec<N::Float>) {
    buf.clear();
    buf.extend_from_slice(net.grads());
}

/// Stochastic gradient descent with momentum (classic or Nesterov) and L2 weight decay.
///
/// For each parameter `w` with gradient `g`, at rate `η = base × schedule(t)`, momentum `μ` and
/// weight decay `λ`:
///
/// ```text
/// d = s·g + λ·w          (s: the gradient scale of update_scaled, 1 otherwise)
/// v = μ·v + d            (v starts at 0; only kept when μ ≠ 0)
/// w = w − η·v            classic momentum
/// w = w − η·(d + μ·v)    Nesterov
/// ```
///
/// With `μ = 0` and `λ = 0` it is the lecture's `w ← w − η·∂E/∂w`, the same as
/// `Network::sgd_step(η)`. These are PyTorch's `SGD` formulas with no dampening.
///
/// ```
/// use bpnet::optim::{Optimizer, Sgd};
///
/// let mut opt = Sgd::new(0.1).momentum(0.5);
/// let mut w = [1.0f64, -2.0];
/// opt.update(&mut w, &[1.0, 2.0]);          // v = g;          w −= 0.1·v
/// assert_eq!(w, [0.9, -2.2]);
/// opt.update(&mut w, &[1.0, 2.0]);          // v = 0.5·v + g;  w −= 0.1·v
/// assert_eq!(opt.velocity(), [1.5, 3.0]);
/// assert!((w[0] - 0.75).abs() < 1e-12 && (w[1] + 2.5).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<F: Float> {
    lr: F,
    momentum: F,
    nesterov: bool,
    weight_decay: F,
    schedule: Schedule,
    velocity: Vec<F>,
    t: u64,
    buf: Vec<F>,
}

impl<F: Float> Sgd<F> {
    /// Plain SGD with base learning rate `lr`: no momentum, no weight decay, a constant rate.
    ///
    /// # Panics
    /// If `lr` is negative, NaN or infinite ([`Sgd::try_new`] returns the error instead).
    #[track_caller]
    pub fn new(lr: F) -> Self {
        or_panic(Self::try_new(lr))
    }

    /// Plain SGD as [`Sgd::new`], or a [`SettingError`] if `lr` is negative, NaN or infinite.
    ///
    /// ```
    /// use bpnet::optim::Sgd;
    ///
    /// let opt = Sgd::try_new(0.1f32)?.try_momentum(0.9)?.try_weight_decay(1e-4)?;
    /// # let _ = opt;
    /// let err = Sgd::try_new(f32::NAN).unwrap_err();
    /// assert_eq!(err.to_string(), "Sgd: the learning rate must be finite and >= 0, got NaN");
    /// # Ok::<(), bpnet::optim::SettingError>(())
    /// ```
    pub fn try_new(lr: F) -> Result<Self, SettingError> {
        non_negative("Sgd", LR, lr)?;
        Ok(Sgd {
            lr,
            momentum: F::ZERO,
            nesterov: false,
            weight_decay: F::ZERO,
            schedule: Schedule::Constant,
            velocity: Vec::new(),
            t: 0,
            buf: Vec::new(),
        })
    }

    /// Momentum `μ` (typically 0.9); 0 turns it off.
    ///
    /// # Panics
    /// If `momentum` is not in `[0, 1)` (NaN included; [`Sgd::try_momentum`] returns the error
    /// instead).
    #[track_caller]
    pub fn momentum(self, momentum: F) -> Self {
        or_panic(self.try_momentum(momentum))
    }

    /// Momentum as [`Sgd::momentum`], or a [`SettingError`] if `momentum` is not in `[0, 1)`.
    pub fn try_momentum(mut self, momentum: F) -> Result<Self, SettingError> {
        unit("Sgd", "the momentum", momentum)?;
        self.momentum = momentum;
        Ok(self)
    }

    /// Nesterov's momentum instead of the classic one (no effect while the momentum is 0).
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }

    /// L2 weight decay `λ`: adds `λ·w` to each gradient (the gradient of `½λ‖w‖²`).
    ///
    /// # Panics
    /// If `weight_decay` is negative, NaN or infinite ([`Sgd::try_weight_decay`] returns the
    /// error instead).
    #[track_caller]
    pub fn weight_decay(self, weight_decay: F) -> Self {
        or_panic(self.try_weight_decay(weight_decay))
    }

    /// L2 weight decay as [`Sgd::weight_decay`], or a [`SettingError`] if `weight_decay` is
    /// negative, NaN or infinite.
    pub fn try_weight_decay(mut self, weight_decay: F) -> Result<Self, SettingError> {
        non_negative("Sgd", WD, weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }

    /// The learning-rate schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets the base learning rate (the schedule still multiplies it).
    ///
    /// # Panics
    /// If `lr` is negative, NaN or infinite ([`Sgd::try_set_learning_rate`] returns the error
    /// instead).
    #[track_caller]
    pub fn set_learning_rate(&mut self, lr: F) {
        or_panic(self.try_set_learning_rate(lr));
    }

    /// Sets the base learning rate as [`Sgd::set_learning_rate`], or leaves it and returns a
    /// [`SettingError`] if `lr` is negative, NaN or infinite.
    pub fn try_set_learning_rate(&mut self, lr: F) -> Result<(), SettingError> {
        non_negative("Sgd", LR, lr)?;
        self.lr = lr;
        Ok(())
    }

    /// The base learning rate.
    pub fn base_learning_rate(&self) -> F {
        self.lr
    }

    /// The velocity `v`, parallel to the pool: empty before the first update, and while the
    /// momentum is 0.
    pub fn velocity(&self) -> &[F] {
        &self.velocity
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn update_scaled(&mut self, params: &mut [F], grads: &[F], s: F) {
        let (mu, wd) = (self.momentum, self.weight_decay);
        let lr = self.learning_rate();
        if mu == F::ZERO {
            assert_eq!(
                params.len(),
                grads.len(),
                "Sgd: the parameter pool has {} values but the gradient pool has {}",
                params.len(),
                grads.len()
            );
            for (w, &g) in params.iter_mut().zip(grads) {
                let mut d = s * g;
                if wd != F::ZERO {
                    d += wd * *w;
                }
                *w -= lr * d;
            }
        } else {
            fit_state("Sgd", params.len(), grads.len(), &mut self.velocity);
            let nesterov = self.nesterov;
            for ((w, &g), v) in params.iter_mut().zip(grads).zip(&mut self.velocity) {
                let mut d = s * g;
                if wd != F::ZERO {
                    d += wd * *w;
                }
                *v = mu * *v + d;
                *w -= lr * if nesterov { d + mu * *v } else { *v };
            }
        }
        self.t += 1;
    }

    fn learning_rate(&self) -> F {
        F::from_f64(self.lr.to_f64() * self.schedule.factor(self.t))
    }

    fn steps(&self) -> u64 {
        self.t
    }

    fn reset(&mut self) {
        self.velocity = Vec::new();
        self.t = 0;
    }

    fn step_scaled<N: Network<Float = F>>(&mut self, net: &mut N, grad_scale: F) {
        let mut buf = core::mem::take(&mut self.buf);
        copy_grads(net, &mut buf);
        self.update_scaled(net.params_mut(), &buf, grad_scale);
        self.buf = buf;
    }
}

/// Adam: per-parameter step sizes from running moments of the gradient, with bias correction;
/// optionally L2 weight decay (Adam) or decoupled weight decay (AdamW).
///
/// For each parameter `w` with gradient `g`, at update number `t = 1, 2, …`, rate
/// `η = base × schedule(t − 1)`, decay rates `β₁, β₂`, `ε` and weight decay `λ`:
///
/// ```text
/// g = s·g (+ λ·w with L2 weight decay)
/// w = w·(1 − η·λ)                    with decoupled weight decay (AdamW) instead
/// m = β₁·m + (1 − β₁)·g              first moment, starts at 0
/// v = β₂·v + (1 − β₂)·g²             second moment, starts at 0
/// w = w − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// These are PyTorch's `Adam` and `AdamW` formulas. Defaults: `β₁ = 0.9`, `β₂ = 0.999`,
/// `ε = 1e-8`, no weight decay.
///
/// ```
/// use bpnet::optim::{Adam, Optimizer};
///
/// let mut opt = Adam::new(0.1);
/// let mut w = [1.0f64, -2.0];
/// opt.update(&mut w, &[3.0, -0.01]);   // the first step is ≈ η in the direction of −g, at any scale
/// assert!((w[0] - 0.9).abs() < 1e-6 && (w[1] + 1.9).abs() < 1e-5);
/// let m = opt.first_moment();              // (1 − β₁)·g
/// assert!((m[0] - 0.3).abs() < 1e-12 && (m[1] + 0.001).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<F: Float> {
    lr: F,
    beta1: F,
    beta2: F,
    eps: F,
    weight_decay: F,
    decoupled: bool,
    schedule: Schedule,
    m: Vec<F>,
    v: Vec<F>,
    t: u64,
    buf: Vec<F>,
}

impl<F: Float> Adam<F> {
    /// Adam with base learning rate `lr` (`1e-3` is the usual start) and the default `β₁ = 0.9`,
    /// `β₂ = 0.999`, `ε = 1e-8`, no weight decay, a constant rate.
    ///
    /// # Panics
    /// If `lr` is negative, NaN or infinite ([`Adam::try_new`] returns the error instead).
    #[track_caller]
    pub fn new(lr: F) -> Self {
        or_panic(Self::try_new(lr))
    }

    /// Adam as [`Adam::new`], or a [`SettingError`] if `lr` is negative, NaN or infinite.
    ///
    /// ```
    /// use bpnet::optim::Adam;
    ///
    /// let opt = Adam::try_new(1e-3f64)?.try_betas(0.9, 0.99)?.try_eps(1e-6)?;
    /// # let _ = opt;
    /// let err = Adam::try_new(1e-3f64)?.try_betas(0.9, 1.0).unwrap_err();
    /// assert_eq!((err.setting, err.value, err.rule), ("beta2", 1.0, "in [0, 1)"));
    /// # Ok::<(), bpnet::optim::SettingError>(())
    /// ```
    pub fn try_new(lr: F) -> Result<Self, SettingError> {
        non_negative("Adam", LR, lr)?;
        Ok(Adam {
            lr,
            beta1: F::from_f64(0.9),
            beta2: F::from_f64(0.999),
            eps: F::from_f64(1e-8),
            weight_decay: F::ZERO,
            decoupled: false,
            schedule: Schedule::Constant,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
            buf: Vec::new(),
        })
    }

    /// AdamW: Adam with decoupled weight decay `λ` (PyTorch's `AdamW` default is `0.01`).
    ///
    /// # Panics
    /// If `lr` or `weight_decay` is negative, NaN or infinite ([`Adam::try_adamw`] returns the
    /// error instead).
    #[track_caller]
    pub fn adamw(lr: F, weight_decay: F) -> Self {
        or_panic(Self::try_adamw(lr, weight_decay))
    }

    /// AdamW as [`Adam::adamw`], or a [`SettingError`] if `lr` or `weight_decay` is negative,
    /// NaN or infinite (the learning rate is checked first).
    pub fn try_adamw(lr: F, weight_decay: F) -> Result<Self, SettingError> {
        Self::try_new(lr)?.try_decoupled_weight_decay(weight_decay)
    }

    /// The moments' decay rates `β₁` and `β₂`, each in `[0, 1)`.
    ///
    /// # Panics
    /// If `beta1` or `beta2` is not in `[0, 1)` (NaN included): `β₂ = 1` would divide by
    /// `√(1 − β₂ᵗ) = 0` ([`Adam::try_betas`] returns the error instead).
    #[track_caller]
    pub fn betas(self, beta1: F, beta2: F) -> Self {
        or_panic(self.try_betas(beta1, beta2))
    }

    /// The decay rates as [`Adam::betas`], or a [`SettingError`] for the first of `beta1` and
    /// `beta2` that is not in `[0, 1)` (NaN included).
    pub fn try_betas(mut self, beta1: F, beta2: F) -> Result<Self, SettingError> {
        unit("Adam", "beta1", beta1)?;
        unit("Adam", "beta2", beta2)?;
        self.beta1 = beta1;
        self.beta2 = beta2;
        Ok(self)
    }

    /// The `ε` added to the denominator.
    ///
    /// # Panics
    /// Unless `eps` is finite and `> 0` (with `ε = 0`, a parameter whose gradient has always
    /// been 0 would be updated by `0/0`, NaN; [`Adam::try_eps`] returns the error instead).
    #[track_caller]
    pub fn eps(self, eps: F) -> Self {
        or_panic(self.try_eps(eps))
    }

    /// `ε` as [`Adam::eps`], or a [`SettingError`] unless `eps` is finite and `> 0`.
    pub fn try_eps(mut self, eps: F) -> Result<Self, SettingError> {
        positive("Adam", "eps", eps)?;
        self.eps = eps;
        Ok(self)
    }

    /// L2 weight decay `λ`, added to the gradient as `λ·w` before the moments (PyTorch's `Adam`
    /// `weight_decay`). Replaces a decoupled weight decay.
    ///
    /// # Panics
    /// If `weight_decay` is negative, NaN or infinite ([`Adam::try_weight_decay`] returns the
    /// error instead).
    #[track_caller]
    pub fn weight_decay(self, weight_decay: F) -> Self {
        or_panic(self.try_weight_decay(weight_decay))
    }

    /// L2 weight decay as [`Adam::weight_decay`], or a [`SettingError`] if `weight_decay` is
    /// negative, NaN or infinite.
    pub fn try_weight_decay(mut self, weight_decay: F) -> Result<Self, SettingError> {
        non_negative("Adam", WD, weight_decay)?;
        self.weight_decay = weight_decay;
        self.decoupled = false;
        Ok(self)
    }

    /// Decoupled weight decay `λ`: every update first shrinks `w` by the factor `1 − η·λ`,
    /// outside the moments (AdamW, Loshchilov & Hutter). Replaces an L2 weight decay.
    ///
    /// # Panics
    /// If `weight_decay` is negative, NaN or infinite ([`Adam::try_decoupled_weight_decay`]
    /// returns the error instead).
    #[track_caller]
    pub fn decoupled_weight_decay(self, weight_decay: F) -> Self {
        or_panic(self.try_decoupled_weight_decay(weight_decay))
    }

    /// Decoupled weight decay as [`Adam::decoupled_weight_decay`], or a [`SettingError`] if
    /// `weight_decay` is negative, NaN or infinite.
    pub fn try_decoupled_weight_decay(mut self, weight_decay: F) -> Result<Self, SettingError> {
        non_negative("Adam", WD, weight_decay)?;
        self.weight_decay = weight_decay;
        self.decoupled = true;
        Ok(self)
    }

    /// The learning-rate schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets the base learning rate (the schedule still multiplies it).
    ///
    /// # Panics
    /// If `lr` is negative, NaN or infinite ([`Adam::try_set_learning_rate`] returns the error
    /// instead).
    #[track_caller]
    pub fn set_learning_rate(&mut self, lr: F) {
        or_panic(self.try_set_learning_rate(lr));
    }

    /// Sets the base learning rate as [`Adam::set_learning_rate`], or leaves it and returns a
    /// [`SettingError`] if `lr` is negative, NaN or infinite.
    pub fn try_set_learning_rate(&mut self, lr: F) -> Result<(), SettingError> {
        non_negative("Adam", LR, lr)?;
        self.lr = lr;
        Ok(())
    }

    /// The base learning rate.
    pub fn base_learning_rate(&self) -> F {
        self.lr
    }

    /// The first moment `m`, parallel to the pool (empty before the first update).
    pub fn first_moment(&self) -> &[F] {
        &self.m
    }

    /// The second moment `v`, parallel to the pool (empty before the first update).
    pub fn second_moment(&self) -> &[F] {
        &self.v
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn update_scaled(&mut self, params: &mut [F], grads: &[F], s: F) {
        fit_state("Adam", params.len(), grads.len(), &mut self.m);
        fit_state("Adam", params.len(), grads.len(), &mut self.v);
        let lr = self.lr.to_f64() * self.schedule.factor(self.t);
        let t = self.t + 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let bias1 = 1.0 - powu(b1.to_f64(), t);
        let bias2 = 1.0 - powu(b2.to_f64(), t);
        let step_size = F::from_f64(lr / bias1);
        let inv_sqrt_bias2 = F::from_f64(1.0 / bias2.sqrt());
        let (eps, wd) = (self.eps, self.weight_decay);
        let l2 = if self.decoupled { F::ZERO } else { wd };
        let shrink = F::from_f64(1.0 - lr * wd.to_f64());
        let decoupled = self.decoupled && wd != F::ZERO;
        let (c1, c2) = (F::ONE - b1, F::ONE - b2);
        let state = self.m.iter_mut().zip(self.v.iter_mut());
        for ((w, &g), (m, v)) in params.iter_mut().zip(grads).zip(state) {
            let mut g = s * g;
            if l2 != F::ZERO {
                g += l2 * *w;
            }
            if decoupled {
                *w *= shrink;
            }
            *m = b1 * *m + c1 * g;
            *v = b2 * *v + c2 * g * g;
            *w -= step_size * *m / (sqrt(*v) * inv_sqrt_bias2 + eps);
        }
        self.t = t;
    }

    fn learning_rate(&self) -> F {
        F::from_f64(self.lr.to_f64() * self.schedule.factor(self.t))
    }

    fn steps(&self) -> u64 {
        self.t
    }

    fn reset(&mut self) {
        self.m = Vec::new();
        self.v = Vec::new();
        self.t = 0;
    }

    fn step_scaled<N: Network<Float = F>>(&mut self, net: &mut N, grad_scale: F) {
        let mut buf = core::mem::take(&mut self.buf);
        copy_grads(net, &mut buf);
        self.update_scaled(net.params_mut(), &buf, grad_scale);
        self.buf = buf;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_give_their_factors() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert_eq!(Schedule::Constant.factor(12345), 1.0);
        let s = Schedule::Step {
            every: 3,
            gamma: 0.1,
        };
        let f: Vec<f64> = (0..7).map(|t| s.factor(t)).collect();
        assert!(close(f[2], 1.0) && close(f[3], 0.1) && close(f[5], 0.1) && close(f[6], 0.01));
        assert_eq!(
            Schedule::Step {
                every: 0,
                gamma: 0.5
            }
            .factor(2),
            0.25
        );
        let e = Schedule::Exponential { gamma: 0.5 };
        assert_eq!((e.factor(0), e.factor(3)), (1.0, 0.125));
        assert!(close(e.factor(u64::MAX), 0.0));
        let i = Schedule::InverseTime { decay: 0.5 };
        assert_eq!((i.factor(0), i.factor(2), i.factor(6)), (1.0, 0.5, 0.25));
        let c = Schedule::Cosine {
            steps: 4,
            floor: 0.0,
        };
        assert!(close(c.factor(1), (2.0 + 2f64.sqrt()) / 4.0));
        assert!(close(c.factor(2), 0.5) && close(c.factor(4), 0.0) && close(c.factor(9), 0.0));
        assert_eq!(
            Schedule::Cosine {
                steps: 0,
                floor: 0.3
            }
            .factor(0),
            0.3
        );
        assert_eq!(Schedule::Custom(|t| t as f64).factor(7), 7.0);
    }

    #[test]
    fn f32_square_root_is_the_correctly_rounded_one() {
        for v in [0.0f32, 1e-30, 2.0, 3.0, 1e7, 123.456, f32::MAX] {
            assert_eq!(sqrt(v), v.sqrt());
        }
    }

    #[test]
    fn reset_forgets_the_length() {
        let mut opt = Adam::new(0.1f64);
        opt.update(&mut [1.0, 2.0], &[0.1, 0.2]);
        opt.reset();
        assert_eq!((opt.steps(), opt.first_moment().len()), (0, 0));
        opt.update(&mut [1.0, 2.0, 3.0], &[0.1, 0.2, 0.3]);
        assert_eq!(opt.second_moment().len(), 3);
    }

    #[test]
    #[should_panic(expected = "made for a pool of 2 parameters, but this pool has 3")]
    fn a_pool_of_another_length_panics() {
        let mut opt = Sgd::new(0.1f32).momentum(0.9);
        opt.update(&mut [1.0, 2.0], &[0.1, 0.2]);
        opt.update(&mut [1.0, 2.0, 3.0], &[0.1, 0.2, 0.3]);
    }

    #[test]
    #[should_panic(expected = "the parameter pool has 2 values but the gradient pool has 1")]
    fn pools_of_different_lengths_panic() {
        Adam::new(0.1f32).update(&mut [1.0, 2.0], &[0.1]);
    }
}
