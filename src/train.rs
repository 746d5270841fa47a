//! A small trainer: epochs of shuffled samples or minibatches, validation, early stopping, and
//! the history of it all.
//!
//! The trainer runs the lecture's training cycle — fprop, zero the gradients, bprop, update the
//! whole pool — over a data set of samples of any type `S`, with a closure for the fprop (each
//! network takes its own inputs: `|net, (x, y)| net.fprop(x, y)`) and an [`Optimizer`]:
//!
//! ```
//! use bpnet::prelude::*;
//! use bpnet::optim::Sgd;
//! use bpnet::train::Trainer;
//!
//! network! {
//!     #[bpnet(float = f64)]
//!     pub struct Xor {
//!         input  x: 2;
//!         target y: 1;
//!         sum1   = linear1: linear(x -> 4);
//!         hidden = tanh1: tanh(sum1);
//!         sum2   = linear2: linear(hidden -> 1);
//!         out    = tanh2: tanh(sum2);
//!         energy = euclidean(out, y);
//!     }
//! }
//!
//! let xor: [([f64; 2], [f64; 1]); 4] =
//!     [([-1.0, -1.0], [-0.8]), ([-1.0, 1.0], [0.8]), ([1.0, -1.0], [0.8]), ([1.0, 1.0], [-0.8])];
//! let mut net = Xor::new(&mut StdRng::seed_from_u64(1));
//! let mut opt = Sgd::new(0.1).momentum(0.5);
//! let history = Trainer::new(&mut net, &mut opt, &xor)
//!     .epochs(300)
//!     .seed(1)                                              // the shuffling's seed
//!     .validation(&xor)                                     // here the same four patterns
//!     .accuracy(|net, (x, y)| net.run(x)[0].signum() == y[0].signum())
//!     .early_stopping(20)                                   // patience, in epochs
//!     .fit(|net, (x, y)| net.fprop(x, y))?;
//!
//! let last = history.last().unwrap();
//! assert!(last.val_loss.unwrap() < 0.01, "{history:?}");
//! assert_eq!(last.val_accuracy, Some(1.0));
//! println!("stopped after {} epochs: {:?}", history.epochs.len(), history.stop);
//! # Ok::<(), bpnet::train::TrainError>(())
//! ```
//!
//! Minibatches go through [`Trainer::fit_batches`], with the batch fprop and the batch bprop
//! (see its example). The trainer is a convenience, not a cage: the cycle it runs is the four
//! lines `net.fprop(x, y); net.zero_grad(); net.bprop(); opt.step(&mut net);`, which a program
//! can write itself with the same optimizers.
//!
//! # What the trainer checks
//!
//! A NaN or infinite energy, or gradient, stops training with a [`TrainError`] that says at which
//! epoch, update and sample it happened. The energy is checked after the fprop and the gradients
//! after the bprop, both before the update, so the parameters (and the optimizer's state) are
//! left as they were before that step: the weights are never corrupted by it. The parameters are
//! also checked after the update (against a copy taken before it, in a buffer allocated once): an
//! update that makes one NaN or infinite is undone and stops training with
//! [`Failure::NonFiniteUpdate`]; the optimizer's state keeps that update, since the trainer cannot
//! copy it. Errors from the network (a minibatch larger than reserved, say) stop training the
//! same way. So does a curvature estimate that fails when training with
//! [`Sdlm`] and [`Trainer::curvature`] ([`Failure::Curvature`], before the update it was due
//! for). Each [`TrainError`] carries the [`History`] of the epochs completed before it.
//!
//! The three checks around the update are [`StepCheck`]'s, which a cycle written by hand can run
//! too (see its example).
//!
//! # Which calls check the data
//!
//! A network checks the **shape** of what it is given everywhere: by the types of fixed-size
//! arrays, or at run time with an [`Error`]. It checks the **values** (NaN, infinities) only where
//! it copies data of any type, in the `try_` forms:
//!
//! | call | width, lengths, batch size | NaN and infinities in the data |
//! | --- | --- | --- |
//! | `try_fprop`, `try_run` (any [`Input`](crate::Input): slices, `Vec`, ndarray) | checked: [`Error::Width`], and for unfolded networks [`Error::TooLong`], [`Error::Length`] | checked: [`Error::NonFinite`] names the input and the position |
//! | `fprop`, `run` of fixed-size arrays | by the types | **not checked**: a NaN gives a NaN energy and output |
//! | unfolded `fprop`, `fprop_continued`, `run`, `run_continued` | sequence lengths: `Err` | **not checked**: `Ok(NaN)` |
//! | `fprop_batch`, `run_batch`, and their forms over sequences and continued | batch size ([`Error::EmptyBatch`], [`Error::BatchTooLarge`]) and lengths: `Err` | **not checked**: `Ok(NaN)` |
//! | `bprop`, `bbprop`, `sgd_step`, [`Optimizer::step`] (and their `_batch` forms) | — | **not checked**: NaN goes into the gradients and from them into every weight it reaches |
//! | [`Trainer`] | as the fprop closure it is given | energy, gradients and the update checked ([`StepCheck`]); the weights are never left NaN |
//! | [`StepCheck`] | — | what a hand-written cycle asks for, as the trainer does |
//!
//! Checking costs one pass over the data (`try_`) or over the pools (`StepCheck`); the fixed-size
//! and batch forms leave it out so that a training step stays a flat run of kernels. Data can be
//! checked once instead, when it is loaded: the CSV reader of [`crate::data`] refuses a field that
//! is not a finite number.

use crate::optim::{CurvatureError, Optimizer, Sdlm};
use crate::{Error, Float, Network, SecondOrder};
use bpnet_runtime::rand::SeedableRng;
use bpnet_runtime::rand::rngs::StdRng;
use bpnet_runtime::rand::seq::SliceRandom;
use core::fmt;

/// What an fprop closure returns: an energy (`net.fprop(x, y)` of a feed-forward network), or a
/// `Result` of one (`fprop_batch`, `try_fprop`, and the entry points of unfolded networks).
pub trait IntoEnergy<F: Float> {
    /// The energy, or the network's error.
    fn into_energy(self) -> Result<F, Error>;
}

impl IntoEnergy<f32> for f32 {
    fn into_energy(self) -> Result<f32, Error> {
        Ok(self)
    }
}

impl IntoEnergy<f64> for f64 {
    fn into_energy(self) -> Result<f64, Error> {
        Ok(self)
    }
}

impl IntoEnergy<f32> for Result<f32, Error> {
    fn into_energy(self) -> Result<f32, Error> {
        self
    }
}

impl IntoEnergy<f64> for Result<f64, Error> {
    fn into_energy(self) -> Result<f64, Error> {
        self
    }
}

/// Whether training goes on after an epoch: what an [epoch callback](Trainer::on_epoch) returns.
/// A callback that returns `()` means [`Control::Continue`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Control {
    /// Go on to the next epoch.
    #[default]
    Continue,
    /// Stop after this epoch ([`StopReason::Callback`]).
    Stop,
}

impl From<()> for Control {
    fn from((): ()) -> Self {
        Control::Continue
    }
}

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Every epoch asked for was run.
    Completed,
    /// The monitored loss did not improve for `patience` epochs in a row.
    EarlyStopping,
    /// The epoch callback returned [`Control::Stop`].
    Callback,
    /// A [`TrainError`] stopped it (the history inside the error says this).
    Failed,
}

/// What one epoch did: a row of the [`History`], and what the [epoch callback](Trainer::on_epoch)
/// sees.
#[derive(Clone, Debug, PartialEq)]
pub struct Epoch {
    /// The epoch's number, from 1.
    pub epoch: usize,
    /// The mean energy per training sample, each sample's energy taken by the fprop of its own
    /// update, so while the parameters changed during the epoch (the "running" loss).
    pub train_loss: f64,
    /// The fraction of training samples the [accuracy closure](Trainer::accuracy) finds correct,
    /// measured after the epoch on the whole training set (`None` without an accuracy closure,
    /// or when [`Trainer::train_accuracy`] turned it off).
    pub train_accuracy: Option<f64>,
    /// The mean energy per validation sample after the epoch (`None` without validation data).
    pub val_loss: Option<f64>,
    /// The fraction of validation samples found correct after the epoch.
    pub val_accuracy: Option<f64>,
    /// The learning rate of the epoch's last update.
    pub learning_rate: f64,
    /// The number of updates made since training started, this epoch's included.
    pub steps: u64,
    /// Whether the monitored loss (validation if there is validation data, training otherwise)
    /// is the best so far, by more than the [minimum improvement](Trainer::min_delta).
    pub improved: bool,
}

impl Epoch {
    /// The loss early stopping watches: the validation loss if there is one, else the training
    /// loss.
    pub fn monitored_loss(&self) -> f64 {
        self.val_loss.unwrap_or(self.train_loss)
    }
}

/// What a training run did, epoch by epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// One row per completed epoch, in order.
    pub epochs: Vec<Epoch>,
    /// The last epoch (from 1) that [improved](Epoch::improved) on the best before it by more
    /// than the [minimum improvement](Trainer::min_delta) (the first epoch always does); with
    /// `min_delta = 0` it is the epoch with the lowest monitored loss ([`Epoch::monitored_loss`]),
    /// the first of equals, but with `min_delta > 0` a later epoch may have a lower loss that did
    /// not count as an improvement. `None` before the first epoch completes.
    pub best_epoch: Option<usize>,
    /// Why training stopped.
    pub stop: StopReason,
    /// Whether the network's parameters were set back to those at the end of the best epoch
    /// ([`Trainer::restore_best`]); `false` also when the last epoch was the best.
    pub restored_best: bool,
}

impl History {
    /// The best epoch's row.
    pub fn best(&self) -> Option<&Epoch> {
        self.best_epoch.map(|e| &self.epochs[e - 1])
    }

    /// The last epoch's row.
    pub fn last(&self) -> Option<&Epoch> {
        self.epochs.last()
    }

    /// The training loss of every epoch.
    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.train_loss).collect()
    }

    /// The validation loss of every epoch (empty without validation data).
    pub fn val_losses(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_loss).collect()
    }
}

/// Where training was when it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// An update on the training data.
    Training,
    /// The validation pass after an epoch (no update was made).
    Validation,
}

/// What went wrong, in a [`TrainError`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Failure {
    /// The energy returned by the fprop closure is NaN or infinite.
    NonFiniteEnergy {
        /// The energy (of the whole minibatch, with [`Trainer::fit_batches`]).
        energy: f64,
    },
    /// A gradient in the pool is NaN or infinite after the bprop.
    NonFiniteGradient {
        /// The position in the pool of the first one.
        index: usize,
        /// The name of the module (of the network's [`Network::MODULES`]) it belongs to.
        module: Option<&'static str>,
        /// Its value.
        value: f64,
    },
    /// The network refused the data (an error returned by the fprop closure).
    Network(Error),
    /// The training data, or the validation data given, has no samples.
    NoSamples,
    /// The optimizer's update made a parameter NaN or infinite, from a finite energy and finite
    /// gradients (e.g. a learning rate or a schedule's factor so large that a parameter
    /// overflows). The parameters are set back to those before the update; the optimizer's state
    /// (moments, velocity, update count) is **not**: it has taken the update in.
    NonFiniteUpdate {
        /// The position in the pool of the first parameter that became non-finite.
        index: usize,
        /// The name of the module (of the network's [`Network::MODULES`]) it belongs to.
        module: Option<&'static str>,
        /// The value the update gave it.
        value: f64,
    },
    /// [`Trainer::fit_batches`] was given a minibatch size of 0.
    BadBatchSize,
    /// The curvature estimate that [`Trainer::curvature`] makes before an update failed: a
    /// sample's fprop gave an error or a non-finite energy (the [`TrainError`]'s `sample` is that
    /// sample), or a second derivative is NaN or infinite. The update was not made; the
    /// optimizer keeps its previous estimate.
    Curvature(CurvatureError),
}

/// Training stopped on a NaN or infinite energy, gradient or updated parameter, or an error of the
/// network: where and why. The parameters are those before the step that failed; so is the
/// optimizer's state, except after a [`Failure::NonFiniteUpdate`] (the trainer cannot copy an
/// optimizer's state, so that update stays counted in it).
///
/// `Debug` prints the message, as `Display`, so `main` returning the error shows it.
#[derive(Clone, PartialEq)]
pub struct TrainError {
    /// The epoch (from 1) it happened in.
    pub epoch: usize,
    /// For [`Phase::Training`], the number (from 1, counted over the whole run) of the update
    /// that was refused; `None` in the passes after an epoch.
    pub step: Option<u64>,
    /// The index, in its data set (training or validation, by `phase`), of the sample that gave
    /// the non-finite value or the error. With minibatches the trainer finds it by running the
    /// batch's samples one by one; `None` if none of them fails alone (a sum that overflows, a
    /// batch larger than the network has room for), if every one of them fails alone with a
    /// network error (no room reserved), or if the data set is empty. For a
    /// [`Failure::NonFiniteUpdate`] it is the sample of a batch of one, `None` for a minibatch.
    pub sample: Option<usize>,
    /// What was running.
    pub phase: Phase,
    /// What went wrong.
    pub failure: Failure,
    /// The epochs completed before it (with [`StopReason::Failed`]).
    pub history: Box<History>,
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "training stopped in epoch {}", self.epoch)?;
        if let Some(step) = self.step {
            write!(f, ", step {step}")?;
        }
        let set = match self.phase {
            Phase::Training => "training sample",
            Phase::Validation => "validation sample",
        };
        match self.sample {
            Some(i) => write!(f, ", {set} {i}: ")?,
            None if self.phase == Phase::Validation => write!(f, ", validation: ")?,
            None => write!(f, ": ")?,
        }
        write!(f, "{}", self.failure)?;
        let before_any_step = matches!(self.failure, Failure::NoSamples | Failure::BadBatchSize);
        if self.phase == Phase::Training && !before_any_step {
            write!(f, "; the parameters are those before this step")?;
        }
        Ok(())
    }
}

/// What went wrong, without where: `the energy is NaN`, `the gradient of parameter 9 (module
/// `linear2`) is inf`, … ([`TrainError`] says where).
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NonFiniteEnergy { energy } => write!(f, "the energy is {energy}"),
            Failure::NonFiniteGradient {
                index,
                module,
                value,
            } => {
                write!(f, "the gradient of parameter {index}")?;
                if let Some(m) = module {
                    write!(f, " (module `{m}`)")?;
                }
                write!(f, " is {value}")
            }
            Failure::NonFiniteUpdate {
                index,
                module,
                value,
            } => {
                write!(f, "the update made parameter {index}")?;
                if let Some(m) = module {
                    write!(f, " (module `{m}`)")?;
                }
                write!(f, " {value}")
            }
            Failure::Network(e) => write!(f, "{e}"),
            Failure::Curvature(CurvatureError::Network { error, .. }) => {
                write!(f, "estimating the curvature: {error}")
            }
            Failure::Curvature(CurvatureError::NonFiniteEnergy { energy, .. }) => {
                write!(f, "estimating the curvature: the energy is {energy}")
            }
            Failure::Curvature(e) => write!(f, "{e}"),
            Failure::NoSamples => write!(f, "the data set has no samples"),
            Failure::BadBatchSize => write!(f, "the minibatch size must be at least 1, not 0"),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Network(e) => Some(e),
            Failure::Curvature(e) => Some(e),
            _ => None,
        }
    }
}

bpnet_runtime::debug_as_display!(TrainError);

impl std::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.failure {
            Failure::Network(e) => Some(e),
            Failure::Curvature(e) => Some(e),
            _ => None,
        }
    }
}

/// What the [step callback](Trainer::on_step) sees after each update: enough for a progress bar
/// with the live loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// The current epoch, from 1.
    pub epoch: usize,
    /// The number of epochs asked for.
    pub epochs: usize,
    /// The number of updates made so far, this one included.
    pub step: u64,
    /// Training samples used so far in this epoch.
    pub samples: usize,
    /// Training samples per epoch.
    pub total: usize,
    /// The mean energy per sample so far in this epoch.
    pub loss: f64,
}

/// The checks the [`Trainer`] makes around every update, for a training cycle written by hand:
/// a NaN or an infinity stops the cycle before it reaches the weights.
///
/// `fprop` (of fixed-size arrays), `fprop_batch` and the entry points of unfolded networks do not
/// look at the values they are given (see [which calls check the data](self#which-calls-check-the-data)):
/// one NaN in the data makes the energy NaN, the gradients NaN, and after one update every weight
/// it reached. The trainer runs these three checks, in this order; each returns the
/// [`Failure`] the trainer would report (`Display`: `the gradient of parameter 9 (module `l2`)
/// is NaN`). Nothing is allocated after the first [`StepCheck::update`].
///
/// ```
/// use bpnet::prelude::*;
/// use bpnet::optim::Sgd;
/// use bpnet::train::{Failure, StepCheck};
///
/// network! {
///     #[bpnet(float = f64)]
///     pub struct Xor {
///         input  x: 2;
///         target y: 1;
///         sum1   = linear1: linear(x -> 4);
///         hidden = tanh1: tanh(sum1);
///         sum2   = linear2: linear(hidden -> 1);
///         out    = tanh2: tanh(sum2);
///         energy = euclidean(out, y);
///     }
/// }
///
/// let data: [([f64; 2], [f64; 1]); 5] = [
///     ([-1.0, -1.0], [-0.8]), ([-1.0, 1.0], [0.8]), ([1.0, -1.0], [0.8]), ([1.0, 1.0], [-0.8]),
///     ([f64::NAN, 1.0], [0.8]), // a bad row
/// ];
/// let mut net = Xor::new(&mut StdRng::seed_from_u64(1));
/// let mut opt = Sgd::new(0.1);
/// let mut check = StepCheck::new();
///
/// let mut cycle = |net: &mut Xor, (x, y): &([f64; 2], [f64; 1])| -> Result<f64, Failure> {
///     let energy = net.fprop(x, y);
///     check.energy(energy)?; // NaN or infinite: stop before the gradients
///     net.zero_grad();
///     net.bprop();
///     check.gradients(net)?; // the same for every gradient, before the update
///     check.update(net, |net| opt.step(net))?; // undone if it makes a weight NaN or infinite
///     Ok(energy)
/// };
/// for sample in &data[..4] {
///     cycle(&mut net, sample)?;
/// }
/// let weights = net.params().to_vec();
/// let error = cycle(&mut net, &data[4]).unwrap_err();
/// assert!(matches!(error, Failure::NonFiniteEnergy { .. }));
/// assert_eq!(error.to_string(), "the energy is NaN");
/// assert_eq!(net.params(), &weights[..]); // the weights are untouched
/// # Ok::<(), Failure>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct StepCheck<F> {
    /// The parameters before the update, to undo it.
    before: Vec<F>,
}

impl<F: Float> StepCheck<F> {
    /// The checks, with an empty buffer (it grows to the pool's size on the first update).
    pub fn new() -> Self {
        StepCheck { before: Vec::new() }
    }

    /// After the fprop: whether the energy is finite ([`Failure::NonFiniteEnergy`] if not).
    ///
    /// # Errors
    /// [`Failure::NonFiniteEnergy`] for a NaN or infinite `energy`.
    pub fn energy(&self, energy: F) -> Result<(), Failure> {
        if energy.is_finite() {
            Ok(())
        } else {
            Err(Failure::NonFiniteEnergy {
                energy: energy.to_f64(),
            })
        }
    }

    /// After the bprop, before the update: whether every gradient in the pool is finite.
    ///
    /// # Errors
    /// [`Failure::NonFiniteGradient`] with the first non-finite gradient: its position in the
    /// pool, the name of its module (of [`Network::MODULES`]) and its value.
    pub fn gradients<N: Network<Float = F>>(&self, net: &N) -> Result<(), Failure> {
        match first_non_finite::<N>(net.grads()) {
            None => Ok(()),
            Some((index, module, value)) => Err(Failure::NonFiniteGradient {
                index,
                module,
                value,
            }),
        }
    }

    /// Runs `update` (an optimizer's step: `|net| opt.step(net)`) and checks the parameters
    /// after it; if one became NaN or infinite, puts every parameter back as it was before (from
    /// a copy taken first). An optimizer's own state (velocity, moments, count) keeps the update:
    /// only the network's parameters are restored.
    ///
    /// # Errors
    /// [`Failure::NonFiniteUpdate`] with the first parameter the update made non-finite (its
    /// position, module and value), after the parameters are restored.
    pub fn update<N: Network<Float = F>>(
        &mut self,
        net: &mut N,
        update: impl FnOnce(&mut N),
    ) -> Result<(), Failure> {
        self.before.clear();
        self.before.extend_from_slice(net.params());
        update(net);
        match first_non_finite::<N>(net.params()) {
            None => Ok(()),
            Some((index, module, value)) => {
                net.params_mut().copy_from_slice(&self.before);
                Err(Failure::NonFiniteUpdate {
                    index,
                    module,
                    value,
                })
            }
        }
    }
}

/// The first NaN or infinity of a pool laid out as `N`'s: position, module, value.
fn first_non_finite<N: Network>(pool: &[N::Float]) -> Option<(usize, Option<&'static str>, f64)> {
    let index = pool.iter().position(|v| !v.is_finite())?;
    Some((index, module_at::<N>(index), pool[index].to_f64()))
}

/// The fraction of `data` that `correct` finds correctly predicted (NaN for no data).
///
/// ```
/// # use bpnet::prelude::*;
/// # network! {
/// #     pub struct Net {
/// #         input  x: 2;
/// #         target y: 1;
/// #         h      = l: linear(x -> 1);
/// #         out    = t: tanh(h);
/// #         energy = euclidean(out, y);
/// #     }
/// # }
/// let mut net = Net::new(&mut StdRng::seed_from_u64(0));
/// let data = [([1.0, 0.0], [1.0]), ([0.0, 1.0], [-1.0])];
/// let acc = bpnet::train::accuracy(&mut net, &data, |net, (x, y)| net.run(x)[0] * y[0] > 0.0);
/// assert!((0.0..=1.0).contains(&acc));
/// ```
pub fn accuracy<N, S>(net: &mut N, data: &[S], mut correct: impl FnMut(&mut N, &S) -> bool) -> f64 {
    let right = data.iter().filter(|s| correct(net, s)).count();
    right as f64 / data.len() as f64
}

/// The mean energy per sample of `data`, without training (NaN for no data); a non-finite energy
/// is returned as it is.
///
/// ```
/// # use bpnet::prelude::*;
/// # network! {
/// #     pub struct Net {
/// #         input  x: 2;
/// #         target y: 1;
/// #         h      = l: linear(x -> 1);
/// #         out    = t: tanh(h);
/// #         energy = euclidean(out, y);
/// #     }
/// # }
/// let mut net = Net::new(&mut StdRng::seed_from_u64(0));
/// let data = [([1.0, 0.0], [1.0]), ([0.0, 1.0], [-1.0])];
/// let loss = bpnet::train::mean_energy(&mut net, &data, |net, (x, y)| net.fprop(x, y))?;
/// assert!(loss > 0.0);
/// # Ok::<(), bpnet::Error>(())
/// ```
pub fn mean_energy<N: Network, S, R: IntoEnergy<N::Float>>(
    net: &mut N,
    data: &[S],
    mut fprop: impl FnMut(&mut N, &S) -> R,
) -> Result<f64, Error> {
    let mut total = 0.0;
    for s in data {
        total += fprop(net, s).into_energy()?.to_f64();
    }
    Ok(total / data.len() as f64)
}

/// Splits a minibatch of `(input, target)` pairs into a slice of inputs and a slice of targets,
/// the arguments of `fprop_batch`, in two buffers kept between batches (so allocated once).
///
/// ```
/// use bpnet::train::Columns;
///
/// let mut columns = Columns::new();
/// let batch = [([1.0, 2.0], [0.5]), ([3.0, 4.0], [-0.5])];
/// let (xs, ys) = columns.split(&batch);
/// assert_eq!((xs, ys), (&[[1.0, 2.0], [3.0, 4.0]][..], &[[0.5], [-0.5]][..]));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Columns<X, Y> {
    xs: Vec<X>,
    ys: Vec<Y>,
}

impl<X: Clone, Y: Clone> Columns<X, Y> {
    /// Empty buffers.
    pub fn new() -> Self {
        Columns {
            xs: Vec::new(),
            ys: Vec::new(),
        }
    }

    /// The inputs and the targets of `batch`, in its order.
    pub fn split(&mut self, batch: &[(X, Y)]) -> (&[X], &[Y]) {
        self.xs.clear();
        self.ys.clear();
        self.xs.extend(batch.iter().map(|s| s.0.clone()));
        self.ys.extend(batch.iter().map(|s| s.1.clone()));
        (&self.xs, &self.ys)
    }
}

type Correct<'a, N, S> = Box<dyn FnMut(&mut N, &S) -> bool + 'a>;
type OnEpoch<'a, N> = Box<dyn FnMut(&Epoch, &N) -> Control + 'a>;
type OnStep<'a> = Box<dyn FnMut(&StepReport) + 'a>;
type Estimate<'a, N, O> =
    Box<dyn FnMut(&mut N, &mut O, usize) -> Result<bool, CurvatureError> + 'a>;

/// Trains a network on a data set: built with [`Trainer::new`] and the settings below, run with
/// [`Trainer::fit`] (one sample per update) or [`Trainer::fit_batches`] (minibatches).
///
/// Every epoch:
///
/// 1. The order of the training samples is shuffled, unless [`Trainer::shuffle`] turned that
///    off: an `StdRng::seed_from_u64(seed)` is made once when training starts, and before every
///    epoch `order.shuffle(&mut rng)` permutes the order of the epoch before (at first
///    `0, 1, …, n−1`). The same seed gives the same orders.
/// 2. The samples (or minibatches of consecutive samples in that order) each make one update:
///    the fprop closure; a check that its energy is finite; `zero_grad`; the bprop; a check that
///    every gradient is finite; the optimizer's update of the whole pool. A failed check stops
///    training with a [`TrainError`] before the update.
/// 3. The accuracy on the training data, if an [accuracy closure](Trainer::accuracy) was given;
///    the loss and accuracy on the [validation data](Trainer::validation), if any, in its order
///    (and in minibatches of the same size with [`Trainer::fit_batches`]).
/// 4. The epoch's row goes into the [`History`]; the [epoch callback](Trainer::on_epoch) may stop
///    training; so may [early stopping](Trainer::early_stopping).
///
/// At the end, with [`Trainer::restore_best`], the parameters of the best epoch are put back.
pub struct Trainer<'a, N: Network, O: Optimizer<N::Float> + ?Sized, S> {
    net: &'a mut N,
    opt: &'a mut O,
    train: &'a [S],
    validation: Option<&'a [S]>,
    epochs: usize,
    seed: u64,
    shuffle: bool,
    patience: Option<usize>,
    min_delta: f64,
    restore_best: bool,
    mean_gradient: bool,
    train_accuracy: bool,
    correct: Option<Correct<'a, N, S>>,
    on_epoch: Option<OnEpoch<'a, N>>,
    on_step: Option<OnStep<'a>>,
    curvature: Option<Estimate<'a, N, O>>,
}

impl<N: Network, O: Optimizer<N::Float> + ?Sized, S> fmt::Debug for Trainer<'_, N, O, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trainer")
            .field("samples", &self.train.len())
            .field("validation", &self.validation.map(<[S]>::len))
            .field("epochs", &self.epochs)
            .field("seed", &self.seed)
            .field("shuffle", &self.shuffle)
            .field("patience", &self.patience)
            .field("min_delta", &self.min_delta)
            .field("restore_best", &self.restore_best)
            .field("mean_gradient", &self.mean_gradient)
            .field("accuracy", &self.correct.is_some())
            .field("curvature", &self.curvature.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, N: Network, O: Optimizer<N::Float> + ?Sized, S> Trainer<'a, N, O, S> {
    /// A trainer of `net` with `opt` on the samples `train`: one epoch, seed 0, shuffled, no
    /// validation, no early stopping.
    pub fn new(net: &'a mut N, opt: &'a mut O, train: &'a [S]) -> Self {
        Trainer {
            net,
            opt,
            train,
            validation: None,
            epochs: 1,
            seed: 0,
            shuffle: true,
            patience: None,
            min_delta: 0.0,
            restore_best: false,
            mean_gradient: true,
            train_accuracy: true,
            correct: None,
            on_epoch: None,
            on_step: None,
            curvature: None,
        }
    }

    /// The number of epochs to run (at most: early stopping or the callback may stop sooner).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// The seed of the shuffling's `StdRng`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether to shuffle the training samples every epoch (on by default); off, every epoch
    /// takes them in their order.
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }

    /// Validation samples, evaluated (not trained on) after every epoch with the same fprop
    /// closure; their loss is the one early stopping watches.
    pub fn validation(mut self, data: &'a [S]) -> Self {
        self.validation = Some(data);
        self
    }

    /// Stops when the monitored loss (validation if given, else training) has not improved on
    /// the best so far by more than the [minimum improvement](Trainer::min_delta) for `patience`
    /// epochs in a row, checked after each epoch that did not improve (as Keras): `patience = 0`
    /// stops at the first epoch without improvement, never at one that improved.
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.patience = Some(patience);
        self
    }

    /// The minimum improvement (0 by default): an epoch improves when its monitored loss is below
    /// `best − min_delta`.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// At the end of training, sets the parameters back to those at the end of the best epoch
    /// (off by default). This keeps a copy of the pool, updated at each improvement.
    pub fn restore_best(mut self, on: bool) -> Self {
        self.restore_best = on;
        self
    }

    /// With [`Trainer::fit_batches`]: whether the update follows the mean of the minibatch's
    /// gradients (on by default: the gradient pool, a sum over the batch, is scaled by `1/n`, so
    /// the learning rate does not depend on the batch size) or their sum.
    pub fn mean_gradient(mut self, on: bool) -> Self {
        self.mean_gradient = on;
        self
    }

    /// A closure that says whether the network predicts a sample correctly (e.g. by comparing
    /// `net.run(x)` with the target): the history then has the accuracy on the training and
    /// validation data after each epoch. It is called between updates, so it may run the
    /// network freely.
    pub fn accuracy(mut self, correct: impl FnMut(&mut N, &S) -> bool + 'a) -> Self {
        self.correct = Some(Box::new(correct));
        self
    }

    /// Whether the accuracy is also measured on the training data (on by default; it costs one
    /// pass of the accuracy closure over the training data per epoch).
    pub fn train_accuracy(mut self, on: bool) -> Self {
        self.train_accuracy = on;
        self
    }

    /// A closure called after every epoch with its row of the history and the network; it
    /// returns `()` or a [`Control`] (`Control::Stop` stops training). For a progress display,
    /// a checkpoint, or a stopping rule of one's own.
    pub fn on_epoch<R: Into<Control>>(
        mut self,
        mut callback: impl FnMut(&Epoch, &N) -> R + 'a,
    ) -> Self {
        self.on_epoch = Some(Box::new(move |e, n| callback(e, n).into()));
        self
    }

    /// A closure called after every update, with the running loss of the epoch (for a progress
    /// bar).
    pub fn on_step(mut self, callback: impl FnMut(&StepReport) + 'a) -> Self {
        self.on_step = Some(Box::new(callback));
        self
    }

    /// Trains one sample per update. `fprop` runs the network on one sample and returns its
    /// energy (or a `Result` of it); the trainer then calls [`Network::zero_grad`],
    /// [`Network::bprop`] and the optimizer.
    ///
    /// # Errors
    /// A [`TrainError`] on a non-finite energy or gradient, an error of the network, or empty
    /// data; see the [module documentation](self).
    pub fn fit<R: IntoEnergy<N::Float>>(
        self,
        mut fprop: impl FnMut(&mut N, &S) -> R,
    ) -> Result<History, TrainError> {
        self.run(
            1,
            |net, data, rows| fprop(net, &data[rows[0]]).into_energy(),
            |net| net.bprop(),
        )
    }

    /// Trains one minibatch of up to `batch` samples per update (the last batch of an epoch may
    /// be smaller). `fprop` runs the network on a batch and returns its energy, the sum of the
    /// samples' energies (`fprop_batch`), and `bprop` back-propagates it (`bprop_batch`); the
    /// trainer calls `zero_grad` between them. The samples of each batch are copied (cloned) into
    /// a buffer kept between batches; [`Columns`] splits a batch of pairs into the two slices
    /// `fprop_batch` takes. The network needs room for `batch` rows (`reserve_batch`).
    ///
    /// The losses in the history are per sample, and by default the update follows the mean
    /// gradient of the batch ([`Trainer::mean_gradient`]).
    ///
    /// ```
    /// use bpnet::prelude::*;
    /// use bpnet::optim::Adam;
    /// use bpnet::train::{Columns, Trainer};
    ///
    /// network! {
    ///     #[bpnet(float = f64)]
    ///     pub struct Fit {
    ///         input  x: 1;
    ///         target y: 1;
    ///         h      = l1: linear(x -> 8);
    ///         a      = t1: tanh(h);
    ///         o      = l2: linear(a -> 1);
    ///         energy = euclidean(o, y);
    ///     }
    /// }
    ///
    /// // y = sin(3x) on [-1, 1]; every fourth point held out for validation.
    /// let points: Vec<([f64; 1], [f64; 1])> =
    ///     (0..80).map(|i| { let x = i as f64 / 40.0 - 1.0; ([x], [(3.0 * x).sin()]) }).collect();
    /// let (val, train): (Vec<_>, Vec<_>) = points.iter().enumerate().partition(|(i, _)| i % 4 == 0);
    /// let val: Vec<_> = val.into_iter().map(|(_, s)| *s).collect();
    /// let train: Vec<_> = train.into_iter().map(|(_, s)| *s).collect();
    ///
    /// let mut net = Fit::new(&mut StdRng::seed_from_u64(0));
    /// net.reserve_batch(16).unwrap();
    /// let mut opt = Adam::new(0.02);
    /// let mut columns = Columns::new();
    /// let history = Trainer::new(&mut net, &mut opt, &train)
    ///     .epochs(400)
    ///     .validation(&val)
    ///     .fit_batches(
    ///         16,
    ///         |net, batch| {
    ///             let (xs, ys) = columns.split(batch);
    ///             net.fprop_batch(xs, ys)
    ///         },
    ///         |net| net.bprop_batch(),
    ///     )?;
    /// assert!(history.last().unwrap().val_loss.unwrap() < 1e-2, "{:?}", history.last());
    /// # Ok::<(), bpnet::train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Trainer::fit`]; also [`Failure::BadBatchSize`] if `batch` is 0 (in epoch 1, before
    /// any update).
    pub fn fit_batches<R: IntoEnergy<N::Float>>(
        self,
        batch: usize,
        mut fprop: impl FnMut(&mut N, &[S]) -> R,
        bprop: impl FnMut(&mut N),
    ) -> Result<History, TrainError>
    where
        S: Clone,
    {
        if batch == 0 {
            let history = History {
                epochs: Vec::new(),
                best_epoch: None,
                stop: StopReason::Completed,
                restored_best: false,
            };
            let at = (1, None, None, Phase::Training);
            return Err(stopped(&history, at, Failure::BadBatchSize));
        }
        let mut rows: Vec<S> = Vec::with_capacity(batch);
        self.run(
            batch,
            |net, data, idx| {
                rows.clear();
                rows.extend(idx.iter().map(|&i| data[i].clone()));
                fprop(net, &rows).into_energy()
            },
            bprop,
        )
    }

    /// The training loop, for samples (`batch = 1`) and minibatches alike: `forward` runs the
    /// network on the samples `idx` of `data`.
    fn run(
        self,
        batch: usize,
        mut forward: impl FnMut(&mut N, &[S], &[usize]) -> Result<N::Float, Error>,
        mut backward: impl FnMut(&mut N),
    ) -> Result<History, TrainError> {
        let Trainer {
            net,
            opt,
            train,
            validation,
            epochs,
            seed,
            shuffle,
            patience,
            min_delta,
            restore_best,
            mean_gradient,
            train_accuracy,
            mut correct,
            mut on_epoch,
            mut on_step,
            mut curvature,
        } = self;
        let mut history = History {
            epochs: Vec::new(),
            best_epoch: None,
            stop: StopReason::Completed,
            restored_best: false,
        };
        if train.is_empty() {
            let at = (1, None, None, Phase::Training);
            return Err(stopped(&history, at, Failure::NoSamples));
        }
        if validation.is_some_and(<[S]>::is_empty) {
            let at = (1, None, None, Phase::Validation);
            return Err(stopped(&history, at, Failure::NoSamples));
        }

        let n = train.len();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..n).collect();
        let val_order: Vec<usize> = (0..validation.map_or(0, <[S]>::len)).collect();
        let mut grads: Vec<N::Float> = Vec::with_capacity(net.params().len());
        // The checks around each update (with the parameters before it, to undo it).
        let mut check = StepCheck {
            before: Vec::with_capacity(net.params().len()),
        };
        let mut best = Best {
            loss: None,
            since: 0,
            params: Vec::new(),
            keep: restore_best,
        };
        let mut step = 0u64;

        for epoch in 1..=epochs {
            if shuffle {
                order.shuffle(&mut rng);
            }
            let (mut total, mut seen, mut lr) = (0.0, 0, opt.learning_rate().to_f64());
            for idx in order.chunks(batch) {
                let here = step + 1;
                let failed = |sample, failure| {
                    let at = (epoch, Some(here), sample, Phase::Training);
                    Err(stopped(&history, at, failure))
                };
                if let Some(estimate) = curvature.as_mut()
                    && let Err(e) = estimate(net, opt, epoch)
                {
                    return failed(e.sample(), Failure::Curvature(e));
                }
                let passes = (&mut forward, &mut backward);
                let scratch = (&mut check, &mut grads);
                let energy;
                (energy, lr) =
                    match train_step(net, opt, (train, idx), passes, scratch, mean_gradient) {
                        Ok(done) => done,
                        Err((sample, failure)) => return failed(sample, failure),
                    };
                step = here;
                total += energy;
                seen += idx.len();
                if let Some(callback) = on_step.as_mut() {
                    callback(&StepReport {
                        epoch,
                        epochs,
                        step,
                        samples: seen,
                        total: n,
                        loss: total / seen as f64,
                    });
                }
            }

            let train_acc_of = train_accuracy.then_some(train);
            let evaluated = evaluate(
                net,
                train_acc_of,
                validation,
                &val_order,
                batch,
                correct.as_mut(),
                &mut forward,
            );
            let Scores {
                train_acc,
                val_loss,
                val_acc,
            } = evaluated.map_err(|(sample, failure)| {
                stopped(&history, (epoch, None, sample, Phase::Validation), failure)
            })?;

            let train_loss = total / seen as f64;
            let improved = best.observe(val_loss.unwrap_or(train_loss), net.params(), min_delta);
            if improved {
                history.best_epoch = Some(epoch);
            }
            history.epochs.push(Epoch {
                epoch,
                train_loss,
                train_accuracy: train_acc,
                val_loss,
                val_accuracy: val_acc,
                learning_rate: lr,
                steps: step,
                improved,
            });
            if let Some(callback) = on_epoch.as_mut()
                && callback(history.epochs.last().expect("just pushed"), net) == Control::Stop
            {
                history.stop = StopReason::Callback;
                break;
            }
            if !improved && patience.is_some_and(|p| best.since >= p) {
                history.stop = StopReason::EarlyStopping;
                break;
            }
        }

        if restore_best && history.best_epoch.is_some_and(|b| b < history.epochs.len()) {
            net.params_mut().copy_from_slice(&best.params);
            history.restored_best = true;
        }
        Ok(history)
    }
}

/// The best epoch so far, for early stopping and `restore_best`.
struct Best<F> {
    /// Its monitored loss (none before the first epoch).
    loss: Option<f64>,
    /// Epochs since it.
    since: usize,
    /// Its parameters, kept if `keep`.
    params: Vec<F>,
    keep: bool,
}

impl<F: Copy> Best<F> {
    /// Whether an epoch that ends at `monitored` with `params` improves on the best by more than
    /// `min_delta` (the first always does); if so it becomes the best.
    fn observe(&mut self, monitored: f64, params: &[F], min_delta: f64) -> bool {
        let improved = self.loss.is_none_or(|best| monitored < best - min_delta);
        if improved {
            self.loss = Some(monitored);
            self.since = 0;
            if self.keep {
                self.params.clear();
                self.params.extend_from_slice(params);
            }
        } else {
            self.since += 1;
        }
        improved
    }
}

/// The passes after an epoch, in evaluation mode (dropout off; the mode is restored after them,
/// whatever they return): the accuracy on `train` (if given), and the mean loss and accuracy on
/// `validation`. The accuracies need `correct`.
fn evaluate<N: Network, S>(
    net: &mut N,
    train: Option<&[S]>,
    validation: Option<&[S]>,
    val_order: &[usize],
    batch: usize,
    mut correct: Option<&mut Correct<'_, N, S>>,
    forward: &mut impl FnMut(&mut N, &[S], &[usize]) -> Result<N::Float, Error>,
) -> Result<Scores, (Option<usize>, Failure)> {
    let was_training = net.training();
    net.set_training(false);
    let evaluated = (|| {
        let train_acc = match (correct.as_mut(), train) {
            (Some(correct), Some(train)) => Some(accuracy(net, train, correct)),
            _ => None,
        };
        let (mut val_loss, mut val_acc) = (None, None);
        if let Some(val) = validation {
            val_loss = Some(mean_loss(net, val, val_order, batch, forward)?);
            val_acc = correct.as_mut().map(|correct| accuracy(net, val, correct));
        }
        Ok(Scores {
            train_acc,
            val_loss,
            val_acc,
        })
    })();
    net.set_training(was_training);
    evaluated
}

/// What [`evaluate`] measured after an epoch.
struct Scores {
    train_acc: Option<f64>,
    val_loss: Option<f64>,
    val_acc: Option<f64>,
}

/// One training step on the samples `idx` of `data`: fprop (by `forward`), checked; the
/// gradients (by `backward`), checked; the optimizer's update (the gradient scaled by
/// `1 / idx.len()` if `mean`), checked and undone if it breaks a weight. Returns the energy and
/// the learning rate of the update, or the failure and the sample found to cause it.
#[allow(clippy::type_complexity)]
fn train_step<N: Network, O: Optimizer<N::Float> + ?Sized, S>(
    net: &mut N,
    opt: &mut O,
    (data, idx): (&[S], &[usize]),
    (forward, backward): (
        &mut impl FnMut(&mut N, &[S], &[usize]) -> Result<N::Float, Error>,
        &mut impl FnMut(&mut N),
    ),
    (check, grads): (&mut StepCheck<N::Float>, &mut Vec<N::Float>),
    mean: bool,
) -> Result<(f64, f64), (Option<usize>, Failure)> {
    let energy = match forward(net, data, idx) {
        Ok(e) => e,
        Err(e) => return Err((locate_error(net, data, idx, forward), Failure::Network(e))),
    };
    if let Err(failure) = check.energy(energy) {
        return Err((locate_energy(net, data, idx, forward), failure));
    }
    net.zero_grad();
    backward(net);
    if let Err(failure) = check.gradients(net) {
        return Err((locate_gradient(net, data, idx, forward, backward), failure));
    }
    grads.clear();
    grads.extend_from_slice(net.grads());
    let scale = if mean {
        N::Float::from_f64(1.0 / idx.len() as f64)
    } else {
        N::Float::ONE
    };
    let lr = opt.learning_rate().to_f64();
    let update = |net: &mut N| opt.update_scaled(net.params_mut(), grads, scale);
    if let Err(failure) = check.update(net, update) {
        return Err(((idx.len() == 1).then(|| idx[0]), failure));
    }
    Ok((energy.to_f64(), lr))
}

/// The mean energy of `data` (its samples `order`, in batches of `batch`) by `forward`, or the
/// failure of the first batch that fails, with the sample found to fail alone.
fn mean_loss<N: Network, S>(
    net: &mut N,
    data: &[S],
    order: &[usize],
    batch: usize,
    forward: &mut impl FnMut(&mut N, &[S], &[usize]) -> Result<N::Float, Error>,
) -> Result<f64, (Option<usize>, Failure)> {
    let mut sum = 0.0;
    for idx in order.chunks(batch) {
        match forward(net, data, idx) {
            Ok(e) if e.is_finite() => sum += e.to_f64(),
            Ok(e) => {
                let sample = locate_energy(net, data, idx, forward);
                let energy = e.to_f64();
                return Err((sample, Failure::NonFiniteEnergy { energy }));
            }
            Err(e) => {
                let sample = locate_error(net, data, idx, forward);
                return Err((sample, Failure::Network(e)));
            }
        }
    }
    Ok(sum / data.len() as f64)
}

impl<'a, N: SecondOrder, S> Trainer<'a, N, Sdlm<N::Float>, S> {
    /// Trains with [`Sdlm`], re-estimating its curvature on the training data as its
    /// [`Every`](crate::optim::Every) schedule says: before every update the trainer calls
    /// [`Sdlm::estimate_if_due`] with the current epoch (from 1), `fprop` (one sample's fprop,
    /// as for [`Trainer::fit`]) and the training samples, so the first estimate comes before the
    /// first update. It works with [`Trainer::fit`] and [`Trainer::fit_batches`] alike (the
    /// estimate runs one sample at a time). An estimate that fails (a NaN or infinite energy or
    /// second derivative, an error of the network) stops training with
    /// [`Failure::Curvature`], before the update.
    ///
    /// The estimate runs the network between updates: its cost (up to [`Sdlm::samples`] fprops
    /// and bbprops each time) counts in the training time. Each `fit` is a new run
    /// ([`Sdlm::new_run`]): it estimates before its first update, and its epochs count from 1.
    ///
    /// Two things to know:
    /// - the estimate runs `fprop` (the closure given here, from each sample's initial values)
    ///   on other samples between updates, so an unfolded network trained in continued chunks
    ///   (`fprop_continued`, truncated back-propagation through time) loses the state it carries
    ///   from one chunk to the next whenever an estimate comes between them: estimate at epoch
    ///   starts (`Every::Epochs`) and begin each epoch from the initial values, or write the loop
    ///   by hand;
    /// - `hᵢᵢ` is a mean over samples, as the gradient of a minibatch is with
    ///   [`Trainer::mean_gradient`] on (the default); with it off, the summed gradient of a batch
    ///   of `b` samples makes the steps `b` times as large, as `ε · b` would.
    ///
    /// ```
    /// use bpnet::prelude::*;
    /// use bpnet::optim::{Every, Sdlm};
    /// use bpnet::train::Trainer;
    ///
    /// network! {
    ///     #[bpnet(float = f64)]
    ///     pub struct Xor {
    ///         input  x: 2;
    ///         target y: 1;
    ///         sum1   = linear1: linear(x -> 4);
    ///         hidden = tanh1: tanh(sum1);
    ///         sum2   = linear2: linear(hidden -> 1);
    ///         out    = tanh2: tanh(sum2);
    ///         energy = euclidean(out, y);
    ///     }
    /// }
    ///
    /// let xor: [([f64; 2], [f64; 1]); 4] =
    ///     [([-1.0, -1.0], [-0.8]), ([-1.0, 1.0], [0.8]), ([1.0, -1.0], [0.8]), ([1.0, 1.0], [-0.8])];
    /// let mut net = Xor::new(&mut StdRng::seed_from_u64(1));
    /// let mut sdlm = Sdlm::new(0.05, 0.05).every(Every::Epochs(10));
    /// let history = Trainer::new(&mut net, &mut sdlm, &xor)
    ///     .epochs(300)
    ///     .curvature(|net, (x, y)| net.fprop(x, y))   // the one extra call
    ///     .fit(|net, (x, y)| net.fprop(x, y))?;
    /// assert!(history.last().unwrap().train_loss < 0.01, "{:?}", history.last());
    /// assert_eq!(sdlm.estimates(), 30);                // epochs 1, 11, …, 291
    /// # Ok::<(), bpnet::train::TrainError>(())
    /// ```
    pub fn curvature<R: IntoEnergy<N::Float>>(
        mut self,
        mut fprop: impl FnMut(&mut N, &S) -> R + 'a,
    ) -> Self {
        let train = self.train;
        let mut first = true;
        self.curvature = Some(Box::new(move |net, opt, epoch| {
            if std::mem::take(&mut first) {
                opt.new_run();
            }
            opt.estimate_if_due(epoch, net, train, &mut fprop)
        }));
        self
    }
}

/// The error for a failure at `(epoch, step, sample, phase)`, with the history so far.
fn stopped(
    history: &History,
    (epoch, step, sample, phase): (usize, Option<u64>, Option<usize>, Phase),
    failure: Failure,
) -> TrainError {
    let mut history = Box::new(history.clone());
    history.stop = StopReason::Failed;
    TrainError {
        epoch,
        step,
        sample,
        phase,
        failure,
        history,
    }
}

/// The module (of `N::MODULES`, top level) whose parameters include pool position `index`.
pub(crate) fn module_at<N: Network>(index: usize) -> Option<&'static str> {
    N::MODULES
        .iter()
        .find(|m| m.range().contains(&index))
        .map(|m| m.name)
}

/// The first sample of a minibatch whose own fprop fails (for a batch of one, that sample); `None`
/// if none fails alone, or every one does (the batch as a whole is at fault, e.g. larger than
/// the network reserved room for, or no room reserved at all).
fn locate_error<N, S>(
    net: &mut N,
    data: &[S],
    idx: &[usize],
    forward: &mut impl FnMut(&mut N, &[S], &[usize]) -> Result<N::Float, Error>,
) -> Option<usize>
where
    N: Network,
{
    if let [only] = idx {
        return Some(*only);
    }
    let failing: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| forward(net, data, &[i]).is_err())
        .collect();
    match failing.first() {
        Some(&first) if failing.len() < idx.len() => Some(first),
        _ => None,
    }
}

/// The first sample of a minibatch whose own energy is not finite.
fn locate_energy<N, S>(
    net: &mut N,
    data: &[S],
    idx: &[usize],
    forward: &mut impl FnMut(&mut N, &[S], &[usize]) -> Result<N::Float, Error>,
) -> Option<usize>
where
    N: Network,
{
    if let [only] = idx {
        return Some(*only);
    }
    idx.iter()
        .find(|&&i| forward(net, data, &[i]).is_ok_and(|e| !e.is_finite()))
        .copied()
}

/// The first sample of a minibatch whose own gradient is not finite (the gradient pool is
/// overwritten; the parameters are not touched).
fn locate_gradient<N, S>(
    net: &mut N,
    data: &[S],
    idx: &[usize],
    forward: &mut impl FnMut(&mut N, &[S], &[usize]) -> Result<N::Float, Error>,
    backward: &mut impl FnMut(&mut N),
) -> Option<usize>
where
    N: Network,
{
    if let [only] = idx {
        return Some(*only);
    }
    idx.iter()
        .find(|&&i| {
            if forward(net, data, &[i]).is_err() {
                return false;
            }
            net.zero_grad();
            backward(net);
            net.grads().iter().any(|g| !g.is_finite())
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(phase: Phase, step: Option<u64>, sample: Option<usize>, failure: Failure) -> String {
        train_error(phase, step, sample, failure).to_string()
    }

    fn train_error(
        phase: Phase,
        step: Option<u64>,
        sample: Option<usize>,
        failure: Failure,
    ) -> TrainError {
        TrainError {
            epoch: 3,
            step,
            sample,
            phase,
            failure,
            history: Box::new(History {
                epochs: Vec::new(),
                best_epoch: None,
                stop: StopReason::Failed,
                restored_best: false,
            }),
        }
    }

    #[test]
    fn debug_is_the_message_not_the_history() {
        let failure = Failure::Network(Error::BatchTooLarge {
            input: "x",
            capacity: 0,
            found: 32,
        });
        let e = train_error(Phase::Training, Some(1), None, failure);
        let debug = format!("{e:?}");
        assert!(debug.starts_with(&e.to_string()), "{debug}");
        assert!(!debug.contains("History"), "{debug}");
    }

    #[test]
    fn errors_say_where_and_what() {
        let nan = Failure::NonFiniteEnergy { energy: f64::NAN };
        assert_eq!(
            error(Phase::Training, Some(17), Some(5), nan.clone()),
            "training stopped in epoch 3, step 17, training sample 5: the energy is NaN; the \
             parameters are those before this step"
        );
        assert_eq!(
            error(Phase::Validation, None, Some(2), nan),
            "training stopped in epoch 3, validation sample 2: the energy is NaN"
        );
        let grad = Failure::NonFiniteGradient {
            index: 9,
            module: Some("linear2"),
            value: f64::INFINITY,
        };
        assert_eq!(
            error(Phase::Training, Some(4), None, grad),
            "training stopped in epoch 3, step 4: the gradient of parameter 9 (module `linear2`) \
             is inf; the parameters are those before this step"
        );
        let network = Failure::Network(Error::NonFinite {
            input: "x",
            index: 1,
        });
        let e = error(Phase::Training, Some(1), Some(0), network);
        assert!(e.ends_with("training sample 0: input `x` is not finite at component 1 (a NaN or an infinity: check the data and its scaling); the parameters are those before this step"), "{e}");
        assert_eq!(
            error(Phase::Training, None, None, Failure::NoSamples),
            "training stopped in epoch 3: the data set has no samples"
        );
    }

    #[test]
    fn columns_split_pairs_in_order() {
        let mut c = Columns::new();
        let (xs, ys) = c.split(&[(1, 'a'), (2, 'b'), (3, 'c')]);
        assert_eq!((xs, ys), (&[1, 2, 3][..], &['a', 'b', 'c'][..]));
        let (xs, ys) = c.split(&[(4, 'd')]);
        assert_eq!((xs, ys), (&[4][..], &['d'][..]));
    }

    #[test]
    fn control_from_unit_continues() {
        assert_eq!(Control::from(()), Control::Continue);
    }
}
