//! Stochastic diagonal Levenberg–Marquardt: one learning rate per parameter, from the curvature.

use super::setting::{at_least_one, non_negative, or_panic, positive};
use super::{Optimizer, Schedule, SettingError, copy_grads};
use crate::train::{IntoEnergy, module_at};
use crate::{Error, Float, Network, SecondOrder};
use bpnet_runtime::rand::rngs::StdRng;
use bpnet_runtime::rand::{RngExt, SeedableRng};
use core::fmt;

/// When [`Sdlm`] re-estimates the curvature: the schedule that [`Sdlm::due`] and
/// [`Sdlm::estimate_if_due`] follow (and the trainer, through
/// [`Trainer::curvature`](crate::train::Trainer::curvature)).
///
/// Whatever the schedule, an estimate is due before the first update (there is nothing to divide
/// the rates by until then).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// Once, before the first update: the curvature is then kept for the whole run.
    Once,
    /// Before the first update, then whenever `n` updates have been made since the last estimate
    /// (so before updates `1`, `n + 1`, `2n + 1`, … counted from 1). `n = 0` counts as 1.
    Updates(u64),
    /// In the first epoch, then in every `k`-th epoch after the one of the last estimate
    /// (epochs `1`, `1 + k`, `1 + 2k`, … when checked at every epoch), at the first check in
    /// that epoch. `k = 0` counts as 1. An epoch number lower than that of the last estimate
    /// means that a new count started (a new training run): an estimate is due.
    Epochs(usize),
}

impl Default for Every {
    /// Every epoch, `Every::Epochs(1)`.
    fn default() -> Self {
        Every::Epochs(1)
    }
}

/// Why a curvature estimate failed; the previous estimate, if any, is kept.
///
/// `Debug` prints the message, as `Display`, so `main` returning the error shows it.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum CurvatureError {
    /// The data to estimate on has no samples.
    NoSamples,
    /// The fprop closure returned an error of the network for the sample at `sample` (its index
    /// in the data given).
    Network {
        /// The index of the sample in the data given.
        sample: usize,
        /// The network's error.
        error: Error,
    },
    /// The fprop closure returned a NaN or infinite energy for the sample at `sample`.
    NonFiniteEnergy {
        /// The index of the sample in the data given.
        sample: usize,
        /// The energy.
        energy: f64,
    },
    /// A second derivative of the estimate (or of the values given to
    /// [`Sdlm::set_curvature`]) is NaN or infinite.
    NonFiniteCurvature {
        /// Its position in the pool (the first one).
        index: usize,
        /// The name of the module (of the network's [`Network::MODULES`]) it belongs to
        /// (`None` from [`Sdlm::set_curvature`], which has no network).
        module: Option<&'static str>,
        /// Its value.
        value: f64,
    },
    /// A minibatch size of 0 was given to [`Sdlm::estimate_batches`].
    BadBatchSize,
    /// [`Sdlm::set_curvature`] was given a number of values other than the pool's.
    Length {
        /// The number of values the optimizer expects (the pool's length).
        expected: usize,
        /// The number given.
        found: usize,
    },
}

impl CurvatureError {
    /// The index (in the data given) of the sample the estimate failed on, if it failed on one.
    pub fn sample(&self) -> Option<usize> {
        match self {
            CurvatureError::Network { sample, .. }
            | CurvatureError::NonFiniteEnergy { sample, .. } => Some(*sample),
            _ => None,
        }
    }
}

impl fmt::Display for CurvatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CurvatureError::NoSamples => write!(f, "no samples to estimate the curvature on"),
            CurvatureError::BadBatchSize => {
                write!(
                    f,
                    "the minibatch size of a curvature estimate must be at least 1"
                )
            }
            CurvatureError::Network { sample, error } => {
                write!(f, "estimating the curvature, sample {sample}: {error}")
            }
            CurvatureError::NonFiniteEnergy { sample, energy } => write!(
                f,
                "estimating the curvature, sample {sample}: the energy is {energy}"
            ),
            CurvatureError::NonFiniteCurvature {
                index,
                module,
                value,
            } => {
                write!(f, "the curvature estimate of parameter {index}")?;
                if let Some(m) = module {
                    write!(f, " (module `{m}`)")?;
                }
                write!(f, " is {value}")
            }
            CurvatureError::Length { expected, found } => write!(
                f,
                "the curvature has {found} values but the parameter pool has {expected}"
            ),
        }
    }
}

bpnet_runtime::debug_as_display!(CurvatureError);

impl std::error::Error for CurvatureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CurvatureError::Network { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Stochastic diagonal Levenberg–Marquardt (LeCun, Bottou, Orr & Müller, "Efficient BackProp",
/// 1998; LeCun et al., "Gradient-based learning applied to document recognition", 1998):
/// stochastic gradient descent with one learning rate per parameter,
///
/// ```text
/// ηᵢ = ε · schedule(t) / (μ + hᵢᵢ)
/// wᵢ = wᵢ − ηᵢ · s · gᵢ          (s: the gradient scale of update_scaled, 1 otherwise)
/// ```
///
/// where `hᵢᵢ` is an estimate of the diagonal second derivative of the energy with respect to
/// `wᵢ`: the Gauss–Newton diagonal that a network's `bbprop` back-propagates
/// ([`SecondOrder`]), averaged over a few hundred samples ([`Sdlm::samples`], 500 by default) and
/// re-estimated on a schedule the user sets ([`Sdlm::every`]). A parameter of high curvature gets
/// a small step, one in a flat direction a large one; `μ` keeps the rates bounded (at most
/// `ε/μ`) where the curvature is near zero. On a quadratic energy whose Hessian is diagonal
/// (uncorrelated inputs), the Gauss–Newton diagonal is the whole Hessian, and `ε = 1` with `μ`
/// small against it is Newton's step.
///
/// # Estimating the curvature
///
/// [`Sdlm::estimate`] zeroes the network's curvature pool, runs the fprop closure and `bbprop` on
/// up to `samples` samples of the data (all of them, in order, if there are no more than that;
/// otherwise that many distinct ones drawn at random, from a seeded generator: see
/// [`Sdlm::seed`]), and keeps `hᵢᵢ = Σ / count`. Negative values (which a Gauss–Newton diagonal
/// cannot have, but a user module's bbprop might give) are clamped to 0; a NaN or infinite one is
/// an error ([`CurvatureError`]) that keeps the previous estimate. [`Sdlm::estimate_batches`]
/// does the same on minibatches (`fprop_batch` and `bbprop_batch`), and [`Sdlm::set_curvature`]
/// puts in a curvature computed elsewhere, under the same checks.
///
/// # Before any estimate
///
/// An update before any estimate (or after [`Optimizer::reset`]) **panics**: the rates are
/// undefined until the curvature is known, and guessing `hᵢᵢ = 0` would silently take steps of
/// `ε/μ`, typically far too large. Call [`Sdlm::estimate`] (or [`Sdlm::estimate_if_due`], whose
/// schedule makes one due before the first update) first, or train with
/// [`Trainer::curvature`](crate::train::Trainer::curvature), which does.
/// [`Optimizer::learning_rate`] does not panic: it is the largest per-parameter rate of the next
/// update, `ε · schedule(t) / (μ + minᵢ hᵢᵢ)`, and `ε · schedule(t) / μ` before any estimate.
///
/// ```
/// use bpnet::prelude::*;
/// use bpnet::optim::{Every, Sdlm};
///
/// network! {
///     #[bpnet(float = f64)]
///     pub struct Fit {
///         input  x: 2;
///         target y: 1;
///         h      = l1: linear(x -> 8);
///         a      = t1: tanh(h);
///         o      = l2: linear(a -> 1);
///         energy = euclidean(o, y);
///     }
/// }
///
/// let data: Vec<([f64; 2], [f64; 1])> = (0..200)
///     .map(|i| {
///         let (u, v) = ((i % 20) as f64 / 10.0 - 1.0, (i / 20) as f64 / 5.0 - 1.0);
///         ([u, v], [(u * v).sin()])
///     })
///     .collect();
/// let mut net = Fit::new(&mut StdRng::seed_from_u64(0));
/// let mut sdlm = Sdlm::new(0.05, 0.1).samples(100).every(Every::Epochs(2));
/// let fprop = |net: &mut Fit, (x, y): &([f64; 2], [f64; 1])| net.fprop(x, y);
/// let before = bpnet::train::mean_energy(&mut net, &data, fprop)?;
/// for epoch in 1..=10 {
///     for (x, y) in &data {
///         // The curvature: before the first update, then every other epoch.
///         sdlm.estimate_if_due(epoch, &mut net, &data, fprop)?;
///         // The lecture's cycle, with SDLM's per-parameter rates.
///         net.fprop(x, y);
///         net.zero_grad();
///         net.bprop();
///         sdlm.step(&mut net);
///     }
/// }
/// assert_eq!(sdlm.estimates(), 5); // epochs 1, 3, 5, 7, 9
/// let after = bpnet::train::mean_energy(&mut net, &data, fprop)?;
/// assert!(after < 0.2 * before, "{before} -> {after}");
/// assert!(sdlm.curvature().iter().all(|&h| h >= 0.0));
/// assert!(sdlm.rates().iter().all(|&r| r <= 0.05 / 0.1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sdlm<F: Float> {
    epsilon: F,
    mu: F,
    schedule: Schedule,
    samples: usize,
    every: Every,
    seed: u64,
    /// hᵢᵢ: empty before the first estimate.
    curvature: Vec<F>,
    /// The smallest hᵢᵢ (0 before the first estimate), for `learning_rate`.
    min_curvature: F,
    /// The indices of the samples of the last estimate.
    indices: Vec<usize>,
    estimates: u64,
    /// The update count at the last estimate.
    estimated_at_step: u64,
    /// The epoch of the last estimate (at least 1).
    estimated_in_epoch: usize,
    /// The largest epoch given to `estimate_if_due` (0 before any).
    epoch: usize,
    /// A new run started ([`Sdlm::new_run`]): an estimate is due, and the epochs count afresh.
    restart: bool,
    t: u64,
    buf: Vec<F>,
}

impl<F: Float> Sdlm<F> {
    /// SDLM with global rate `ε` (`epsilon`) and damping `μ` (`mu`): a constant ε, the curvature
    /// averaged over 500 samples and re-estimated every epoch, subset seed 0.
    ///
    /// `μ` is in the energy's units of curvature: for a network whose second derivatives are of
    /// order 1, LeCun et al. use `μ ≈ 0.01…0.1`; `ε` is then a fraction of Newton's step.
    ///
    /// # Panics
    /// If `epsilon` is negative, NaN or infinite, or `mu` is not finite and `> 0` (with `μ = 0`
    /// a parameter of zero curvature would get an infinite rate; [`Sdlm::try_new`] returns the
    /// error instead).
    #[track_caller]
    pub fn new(epsilon: F, mu: F) -> Self {
        or_panic(Self::try_new(epsilon, mu))
    }

    /// SDLM as [`Sdlm::new`], or a [`SettingError`] if `epsilon` is negative, NaN or infinite,
    /// or `mu` is not finite and `> 0` (`epsilon` is checked first).
    ///
    /// ```
    /// use bpnet::optim::Sdlm;
    ///
    /// let opt = Sdlm::try_new(0.05f32, 0.1)?.try_samples(200)?;
    /// assert_eq!(opt.sample_count(), 200);
    /// let err = Sdlm::try_new(0.05f32, 0.0).unwrap_err();
    /// assert_eq!(err.to_string(), "Sdlm: mu must be finite and > 0, got 0");
    /// # Ok::<(), bpnet::optim::SettingError>(())
    /// ```
    pub fn try_new(epsilon: F, mu: F) -> Result<Self, SettingError> {
        non_negative("Sdlm", EPSILON, epsilon)?;
        positive("Sdlm", "mu", mu)?;
        Ok(Sdlm {
            epsilon,
            mu,
            schedule: Schedule::Constant,
            samples: 500,
            every: Every::default(),
            seed: 0,
            curvature: Vec::new(),
            min_curvature: F::ZERO,
            indices: Vec::new(),
            estimates: 0,
            estimated_at_step: 0,
            estimated_in_epoch: 1,
            epoch: 0,
            restart: false,
            t: 0,
            buf: Vec::new(),
        })
    }

    /// The schedule of `ε`: the rates of update `t` are `ε · schedule.factor(t) / (μ + hᵢᵢ)`.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The number of samples each estimate averages over (500 by default).
    ///
    /// # Panics
    /// If `n` is 0 ([`Sdlm::try_samples`] returns the error instead).
    #[track_caller]
    pub fn samples(self, n: usize) -> Self {
        or_panic(self.try_samples(n))
    }

    /// The number of samples as [`Sdlm::samples`], or a [`SettingError`] if `n` is 0.
    pub fn try_samples(mut self, n: usize) -> Result<Self, SettingError> {
        at_least_one("Sdlm", "the sample count", n)?;
        self.samples = n;
        Ok(self)
    }

    /// When to re-estimate the curvature ([`Every::Epochs(1)`](Every::Epochs) by default).
    pub fn every(mut self, every: Every) -> Self {
        self.every = every;
        self
    }

    /// The seed of the random subsets of samples: estimate number `k` (from 0) draws its subset
    /// from `StdRng::seed_from_u64(seed + k)`, so each estimate sees other samples, and the same
    /// seed gives the same subsets.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets `ε` (the schedule still multiplies it).
    ///
    /// # Panics
    /// If `epsilon` is negative, NaN or infinite ([`Sdlm::try_set_epsilon`] returns the error
    /// instead).
    #[track_caller]
    pub fn set_epsilon(&mut self, epsilon: F) {
        or_panic(self.try_set_epsilon(epsilon));
    }

    /// Sets `ε` as [`Sdlm::set_epsilon`], or leaves it and returns a [`SettingError`] if
    /// `epsilon` is negative, NaN or infinite.
    pub fn try_set_epsilon(&mut self, epsilon: F) -> Result<(), SettingError> {
        non_negative("Sdlm", EPSILON, epsilon)?;
        self.epsilon = epsilon;
        Ok(())
    }

    /// `ε`, the global rate.
    pub fn epsilon(&self) -> F {
        self.epsilon
    }

    /// `μ`, the damping.
    pub fn mu(&self) -> F {
        self.mu
    }

    /// The number of samples each estimate averages over.
    pub fn sample_count(&self) -> usize {
        self.samples
    }

    /// The re-estimation schedule.
    pub fn recompute(&self) -> Every {
        self.every
    }

    /// The current curvature estimate `hᵢᵢ`, parallel to the pool (empty before the first
    /// estimate).
    pub fn curvature(&self) -> &[F] {
        &self.curvature
    }

    /// The rates of the next update, `ε · schedule(t) / (μ + hᵢᵢ)`, parallel to the pool (empty
    /// before the first estimate).
    pub fn rates(&self) -> Vec<F> {
        let eps = self.eta();
        self.curvature
            .iter()
            .map(|&h| eps / (self.mu + h))
            .collect()
    }

    /// The number of estimates made since the optimizer was made or reset.
    pub fn estimates(&self) -> u64 {
        self.estimates
    }

    /// The indices, in the data given, of the samples the last [`Sdlm::estimate`] averaged over,
    /// in increasing order (empty before one, and after [`Sdlm::set_curvature`]).
    pub fn estimate_samples(&self) -> &[usize] {
        &self.indices
    }

    /// Whether an estimate is due before the next update, for an update in epoch `epoch`
    /// (counted from 1): before any estimate and after [`Sdlm::new_run`], always; then as the
    /// [`Every`] schedule says.
    pub fn due(&self, epoch: usize) -> bool {
        if self.estimates == 0 || self.restart {
            return true;
        }
        match self.every {
            Every::Once => false,
            Every::Updates(n) => self.t - self.estimated_at_step >= n.max(1),
            Every::Epochs(k) => {
                epoch < self.estimated_in_epoch || epoch >= self.estimated_in_epoch + k.max(1)
            }
        }
    }

    /// Estimates the curvature if one is [due](Sdlm::due) before an update in epoch `epoch`
    /// (from 1), as [`Sdlm::estimate`] does; returns whether it did. Call it before every update
    /// (it is a comparison when nothing is due) or at least at the start of every epoch.
    ///
    /// # Errors
    /// As [`Sdlm::estimate`].
    pub fn estimate_if_due<N, S, R>(
        &mut self,
        epoch: usize,
        net: &mut N,
        data: &[S],
        fprop: impl FnMut(&mut N, &S) -> R,
    ) -> Result<bool, CurvatureError>
    where
        N: SecondOrder<Float = F>,
        R: IntoEnergy<F>,
    {
        let due = self.due(epoch);
        self.note_epoch(epoch);
        if due {
            self.estimate(net, data, fprop)?;
        }
        Ok(due)
    }

    /// Estimates the curvature now: zeroes the network's curvature pool, then for each of up to
    /// [`samples`](Sdlm::samples) samples of `data` (all, in order, if there are no more; else a
    /// seeded random subset, in increasing order of index) runs `fprop` and
    /// [`SecondOrder::bbprop`], and keeps the mean, negative values clamped to 0. The network's
    /// states, its `ddx` and its curvature pool are overwritten; its parameters and gradients are
    /// not touched.
    ///
    /// # Errors
    /// [`CurvatureError::NoSamples`] for empty data, [`CurvatureError::Network`] or
    /// [`CurvatureError::NonFiniteEnergy`] for a sample whose fprop fails,
    /// [`CurvatureError::NonFiniteCurvature`] for a NaN or infinite mean. The previous estimate
    /// is then kept.
    pub fn estimate<N, S, R>(
        &mut self,
        net: &mut N,
        data: &[S],
        mut fprop: impl FnMut(&mut N, &S) -> R,
    ) -> Result<(), CurvatureError>
    where
        N: SecondOrder<Float = F>,
        R: IntoEnergy<F>,
    {
        if data.is_empty() {
            return Err(CurvatureError::NoSamples);
        }
        let mut indices = Vec::new();
        self.choose(data.len(), &mut indices);
        net.zero_curvature();
        for &i in &indices {
            match fprop(net, &data[i]).into_energy() {
                Ok(e) if e.is_finite() => net.bbprop(),
                Ok(e) => {
                    let energy = e.to_f64();
                    return Err(CurvatureError::NonFiniteEnergy { sample: i, energy });
                }
                Err(error) => return Err(CurvatureError::Network { sample: i, error }),
            }
        }
        self.finish(net, indices)
    }

    /// Keeps the mean of the network's curvature pool over the samples `indices`.
    fn finish<N: SecondOrder<Float = F>>(
        &mut self,
        net: &N,
        indices: Vec<usize>,
    ) -> Result<(), CurvatureError> {
        let scale = F::ONE / F::from_f64(indices.len() as f64);
        let mut result = self.install(net.curvature(), scale);
        if let Err(CurvatureError::NonFiniteCurvature { index, module, .. }) = &mut result {
            *module = module_at::<N>(*index);
        }
        if result.is_ok() {
            self.indices = indices;
        }
        result
    }

    /// Records that training is in epoch `epoch`, for the [`Every::Epochs`] schedule.
    fn note_epoch(&mut self, epoch: usize) {
        self.epoch = if self.restart || epoch < self.estimated_in_epoch {
            epoch
        } else {
            self.epoch.max(epoch)
        };
    }

    /// Estimates the curvature on minibatches, if one is [due](Sdlm::due) before an update in
    /// epoch `epoch`, as [`Sdlm::estimate_batches`] does; returns whether it did.
    ///
    /// # Errors
    /// As [`Sdlm::estimate_batches`].
    pub fn estimate_batches_if_due<N, S, R>(
        &mut self,
        epoch: usize,
        net: &mut N,
        data: &[S],
        batch: usize,
        fprop: impl FnMut(&mut N, &[S]) -> R,
        bbprop: impl FnMut(&mut N),
    ) -> Result<bool, CurvatureError>
    where
        N: SecondOrder<Float = F>,
        S: Clone,
        R: IntoEnergy<F>,
    {
        if batch == 0 {
            return Err(CurvatureError::BadBatchSize);
        }
        let due = self.due(epoch);
        self.note_epoch(epoch);
        if due {
            self.estimate_batches(net, data, batch, fprop, bbprop)?;
        }
        Ok(due)
    }

    /// Estimates the curvature now, on minibatches: the same samples as [`Sdlm::estimate`] (in
    /// the same order), copied into minibatches of up to `batch` rows, each run through `fprop`
    /// (`fprop_batch`, returning the batch's energy) and `bbprop` (`bbprop_batch`, which adds the
    /// sum over the rows of each sample's curvature); the mean over the samples is kept. With
    /// the per-sample and per-batch kernels computing the same thing, the result is the one of
    /// [`Sdlm::estimate`] up to rounding. The network needs room for `batch` rows
    /// (`reserve_batch`).
    ///
    /// # Errors
    /// As [`Sdlm::estimate`]; for a batch whose fprop fails, `sample` is the index of its first
    /// sample; [`CurvatureError::BadBatchSize`] for a `batch` of 0.
    pub fn estimate_batches<N, S, R>(
        &mut self,
        net: &mut N,
        data: &[S],
        batch: usize,
        mut fprop: impl FnMut(&mut N, &[S]) -> R,
        mut bbprop: impl FnMut(&mut N),
    ) -> Result<(), CurvatureError>
    where
        N: SecondOrder<Float = F>,
        S: Clone,
        R: IntoEnergy<F>,
    {
        if batch == 0 {
            return Err(CurvatureError::BadBatchSize);
        }
        if data.is_empty() {
            return Err(CurvatureError::NoSamples);
        }
        let mut indices = Vec::new();
        self.choose(data.len(), &mut indices);
        net.zero_curvature();
        let mut rows: Vec<S> = Vec::with_capacity(batch.min(indices.len()));
        for chunk in indices.chunks(batch) {
            rows.clear();
            rows.extend(chunk.iter().map(|&i| data[i].clone()));
            let sample = chunk[0];
            match fprop(net, &rows).into_energy() {
                Ok(e) if e.is_finite() => bbprop(net),
                Ok(e) => {
                    let energy = e.to_f64();
                    return Err(CurvatureError::NonFiniteEnergy { sample, energy });
                }
                Err(error) => return Err(CurvatureError::Network { sample, error }),
            }
        }
        self.finish(net, indices)
    }

    /// Puts in a curvature computed elsewhere (e.g. by `bbprop_batch` on minibatches, divided by
    /// the number of samples): it becomes the current estimate, as if [`Sdlm::estimate`] had made
    /// it (it counts in [`Sdlm::estimates`] and restarts the [`Every`] schedule). Negative values
    /// are clamped to 0.
    ///
    /// # Errors
    /// [`CurvatureError::NonFiniteCurvature`] for a NaN or infinite value,
    /// [`CurvatureError::Length`] if `h` has another length than an earlier estimate (call
    /// [`Optimizer::reset`] to change networks). The previous estimate is then kept.
    pub fn set_curvature(&mut self, h: &[F]) -> Result<(), CurvatureError> {
        self.install(h, F::ONE)?;
        self.indices.clear();
        Ok(())
    }

    /// Checks `scale · h` and makes it the estimate.
    fn install(&mut self, h: &[F], scale: F) -> Result<(), CurvatureError> {
        if !self.curvature.is_empty() && self.curvature.len() != h.len() {
            return Err(CurvatureError::Length {
                expected: self.curvature.len(),
                found: h.len(),
            });
        }
        if let Some(index) = h.iter().position(|&v| !(scale * v).is_finite()) {
            let value = (scale * h[index]).to_f64();
            return Err(CurvatureError::NonFiniteCurvature {
                index,
                module: None,
                value,
            });
        }
        self.curvature.clear();
        self.curvature.extend(h.iter().map(|&v| {
            let v = scale * v;
            if v > F::ZERO { v } else { F::ZERO }
        }));
        self.min_curvature = self
            .curvature
            .iter()
            .copied()
            .fold(None, |m: Option<F>, v| {
                Some(m.map_or(v, |m| if v < m { v } else { m }))
            })
            .unwrap_or(F::ZERO);
        self.estimates += 1;
        self.estimated_at_step = self.t;
        self.estimated_in_epoch = self.epoch.max(1);
        self.restart = false;
        Ok(())
    }

    /// Starts a new training run: the next check ([`Sdlm::due`], [`Sdlm::estimate_if_due`])
    /// estimates, and the epochs given from then on count from that run's start, whatever the
    /// last run's were. The curvature and the update count are kept (unlike
    /// [`Optimizer::reset`]). [`Trainer::curvature`](crate::train::Trainer::curvature) calls it
    /// when each `fit` starts, so that `Every::Once` means once per run.
    pub fn new_run(&mut self) {
        self.restart = true;
        self.epoch = 0;
    }

    /// The samples of the next estimate, into `out`: all if there are no more than `samples`,
    /// else a random subset (a partial Fisher–Yates shuffle), sorted.
    fn choose(&self, len: usize, out: &mut Vec<usize>) {
        out.clear();
        out.extend(0..len);
        if len > self.samples {
            let mut rng = StdRng::seed_from_u64(self.seed.wrapping_add(self.estimates));
            for i in 0..self.samples {
                let j = rng.random_range(i..len);
                out.swap(i, j);
            }
            out.truncate(self.samples);
            out.sort_unstable();
        }
    }

    /// `ε · schedule(t)`.
    fn eta(&self) -> F {
        F::from_f64(self.epsilon.to_f64() * self.schedule.factor(self.t))
    }
}

impl<F: Float> Optimizer<F> for Sdlm<F> {
    /// `wᵢ −= η · (s · gᵢ) / (μ + hᵢᵢ)` with `η = ε · schedule(t)`.
    ///
    /// # Panics
    /// Before any curvature estimate (see [`Sdlm`]), and as [`Optimizer::update_scaled`].
    fn update_scaled(&mut self, params: &mut [F], grads: &[F], s: F) {
        assert_eq!(
            params.len(),
            grads.len(),
            "Sdlm: the parameter pool has {} values but the gradient pool has {}",
            params.len(),
            grads.len()
        );
        assert!(
            !self.curvature.is_empty() || params.is_empty(),
            "Sdlm: no curvature estimate yet: call `Sdlm::estimate` (or `estimate_if_due`) before \
             the first update, or train with `Trainer::curvature`"
        );
        assert_eq!(
            self.curvature.len(),
            params.len(),
            "Sdlm: the curvature was estimated for a pool of {} parameters, but this pool has {} \
             (one optimizer per network, or call `reset` first)",
            self.curvature.len(),
            params.len()
        );
        let (eta, mu) = (self.eta(), self.mu);
        for ((w, &g), &h) in params.iter_mut().zip(grads).zip(&self.curvature) {
            *w -= eta * (s * g) / (mu + h);
        }
        self.t += 1;
    }

    /// The largest per-parameter rate of the next update, `ε · schedule(t) / (μ + minᵢ hᵢᵢ)`
    /// (`ε · schedule(t) / μ` before any estimate).
    fn learning_rate(&self) -> F {
        self.eta() / (self.mu + self.min_curvature)
    }

    fn steps(&self) -> u64 {
        self.t
    }

    /// Forgets the curvature, the update count and the schedule's bookkeeping: the next update
    /// needs a new estimate, for a pool of any length.
    fn reset(&mut self) {
        self.curvature = Vec::new();
        self.min_curvature = F::ZERO;
        self.indices = Vec::new();
        self.estimates = 0;
        self.estimated_at_step = 0;
        self.estimated_in_epoch = 1;
        self.epoch = 0;
        self.restart = false;
        self.t = 0;
    }

    fn step_scaled<N: Network<Float = F>>(&mut self, net: &mut N, grad_scale: F) {
        let mut buf = core::mem::take(&mut self.buf);
        copy_grads(net, &mut buf);
        self.update_scaled(net.params_mut(), &buf, grad_scale);
        self.buf = buf;
    }
}

/// The name of the `ε` setting in [`SettingError`].
const EPSILON: &str = "epsilon";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_the_message() {
        let e = CurvatureError::Length {
            expected: 3,
            found: 2,
        };
        assert!(format!("{e:?}").starts_with(&e.to_string()));
    }

    #[test]
    fn subsets_are_distinct_sorted_and_seeded() {
        let opt = Sdlm::new(0.1f64, 0.1).samples(7).seed(3);
        let mut a = Vec::new();
        opt.choose(20, &mut a);
        assert_eq!(a.len(), 7);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a[6] < 20, "{a:?}");
        let mut b = Vec::new();
        opt.choose(20, &mut b);
        assert_eq!(a, b);
        Sdlm::new(0.1f64, 0.1).samples(7).seed(4).choose(20, &mut b);
        assert_ne!(a, b);
        opt.choose(5, &mut b);
        assert_eq!(b, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_schedule_counts_updates_and_epochs() {
        let mut opt = Sdlm::new(1.0f64, 1.0).every(Every::Updates(3));
        assert!(opt.due(1));
        opt.set_curvature(&[0.0]).unwrap();
        let mut due = Vec::new();
        for _ in 0..7 {
            due.push(opt.due(1));
            if opt.due(1) {
                opt.set_curvature(&[0.0]).unwrap();
            }
            opt.update(&mut [0.0], &[0.0]);
        }
        assert_eq!(due, [false, false, false, true, false, false, true]);
        let mut opt = Sdlm::new(1.0f64, 1.0).every(Every::Epochs(2));
        opt.epoch = 1;
        opt.set_curvature(&[0.0]).unwrap();
        assert_eq!((opt.due(1), opt.due(2), opt.due(3)), (false, false, true));
        assert!(opt.due(0), "a new count of epochs starts a new schedule");
        let mut once = Sdlm::new(1.0f64, 1.0).every(Every::Once);
        once.set_curvature(&[0.0]).unwrap();
        assert!(!once.due(1000));
    }

    #[test]
    fn negative_curvature_is_clamped_and_nan_refused() {
        let mut opt = Sdlm::new(1.0f64, 0.5);
        opt.set_curvature(&[-2.0, 1.5]).unwrap();
        assert_eq!(opt.curvature(), [0.0, 1.5]);
        assert_eq!(opt.rates(), [2.0, 0.5]);
        assert_eq!(opt.learning_rate(), 2.0);
        let e = opt.set_curvature(&[0.5, f64::NAN]).unwrap_err();
        assert!(
            matches!(e, CurvatureError::NonFiniteCurvature { index: 1, module: None, value } if value.is_nan())
        );
        assert_eq!(opt.curvature(), [0.0, 1.5], "the previous estimate is kept");
        assert_eq!(
            opt.set_curvature(&[1.0]),
            Err(CurvatureError::Length {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(opt.estimates(), 1);
    }

    #[test]
    #[should_panic(expected = "no curvature estimate yet")]
    fn an_update_before_any_estimate_panics() {
        Sdlm::new(0.1f32, 0.1).update(&mut [1.0], &[1.0]);
    }

    #[test]
    #[should_panic(expected = "mu must be finite and > 0, got 0")]
    fn a_zero_mu_panics() {
        Sdlm::new(0.1f32, 0.0);
    }
}
