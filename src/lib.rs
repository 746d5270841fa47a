//! bpnet turns a neural network written as a declaration into plain, fast, checked Rust.
//!
//! It implements Yann LeCun's lecture *Multi-Layer Architectures / Gradient Back-Propagation*: a
//! network is a graph of modules, each with `fprop` and `bprop`; every state holds `x` and `dx`;
//! all parameters are pooled in one vector so that one update touches them all. Networks also get
//! `bbprop`, the diagonal Gauss–Newton second derivatives (in `ddx` and a curvature pool beside
//! the gradients), for per-parameter learning rates ([`optim::Sdlm`]).
//!
//! ```
//! use bpnet::prelude::*;
//!
//! network! {
//!     /// The lecture's two-layer net.
//!     pub struct TwoLayer {
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
//! let mut net = TwoLayer::new(&mut StdRng::seed_from_u64(0));
//! let before = net.fprop(&[0.5, -0.5], &[0.3]);
//! for _ in 0..100 {
//!     net.fprop(&[0.5, -0.5], &[0.3]);
//!     net.zero_grad();
//!     net.bprop();
//!     net.sgd_step(0.1);
//! }
//! assert!(net.fprop(&[0.5, -0.5], &[0.3]) < before);
//! assert_eq!(TwoLayer::PARAMS, 2 * 4 + 4 + 4 * 1 + 1);
//! ```
//!
//! Features: `std` (on by default) is the training toolkit and the training networks; without it
//! bpnet is `#![no_std]` without `alloc`, and `network!` generates each network's inference form
//! alone, to run trained weights compiled into a program for a device without an operating
//! system. `libm` computes `exp`, `ln` and `tanh` with the `libm` crate with std too, so that the
//! two builds give the same bits for every kind (see the README's "Deploy without std").

#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate self as bpnet;

/// Declares a network of modules and generates its struct, with monomorphic `fprop`/`bprop`
/// (and `bbprop`, the second derivatives).
///
/// ```text
/// network! {
///     #[bpnet(float = f64)]                  // optional; f32 by default
///     /// docs and other attributes go to the struct
///     VIS struct NAME {
///         input  STATE: WIDTH;               // fprop/run arguments, in declaration order;
///                                            // WIDTH is `N` or a shape such as `[C, H, W]`
///         target STATE: WIDTH;               // fprop arguments, read by the energy
///         [energy|output] STATE[: WIDTH] = [MODULE:] KIND(STATE, … [-> WIDTH]);
///         unfold T { … }                     // repeated at every step t < T; an argument
///                                            // `h[t - k]` reads the state of step t − k
///         initial STATE = zeros | learned | [v, …];  // what `h[t - k]` reads before step 0
///     }
/// }
/// ```
///
/// Every network with an output also gets its **inference form**, `NAMEFrozen<'p>`: made by
/// `NAME::frozen(&params)` from borrowed parameters (`&[F; NAME::PARAMS]`, a `static` written by
/// [`io::export_rust`] for example) or by `net.freeze()` from a network's own, it holds the values
/// of the states `run` computes and runs the same sweep (`run`, or for an unfolded network
/// `run_step`, one step per call, and `reset`), with the same bits, and needs neither std nor a
/// heap. Without bpnet's `std` feature it is all `network!` generates (see the README's "Deploy
/// without std").
///
/// After an `unfold` block, `sum(e)` and `last(h)` gather a per-step state into one value (the
/// energy of a sequence, or what a sequence classifier reads). See the README for unfolded
/// networks' entry points (`fprop` over sequences, `fprop_continued`, `run_continued`, and
/// `fprop_batch` over minibatches of sequences). `run` returns values, never states: `&[F; N]`,
/// or for an output inside the `unfold` block its value at every step run, a [`StepValues`]
/// (`out[t][0]`); the states stay on the network's fields (`net.o[t].x`, `.dx`, `.ddx`).
///
/// `KIND` is `linear(x -> N)`, `tanh(x)`, `sigmoid(x)`, `scaled_tanh(x)`, `add(a, b, …)`,
/// `euclidean(a, b)`, on feature maps (states with a shape `[maps, height, width]`, stored flat)
/// `conv(x, maps = M, kernel = k[, stride = s, padding = p])`, `subsample(x, size = k)` and
/// `maxpool(x, size = k)`, a classification loss over the energies of every answer
/// (`energy_loss(e, y)`, `nll(e, y[, beta = β])`, `hinge(e, y[, margin = m])`,
/// `cross_entropy(scores, y)`, with a one-hot target `y`), or any type that implements
/// [`Module`] (a user module, or a network without an energy: networks nest). A user
/// module's output state declares its width (`h: 4 = layer1: NnLayer(x)`) and the module a name,
/// which becomes its field. Built-in kinds are lower case: `Tanh(x)` names a type `Tanh`. Written
/// without the width or the name a user module needs, it is reported as a miswritten `tanh` ("did
/// you mean the built-in `tanh`?"); with both (`h: 4 = t: Tanh(x)`) it may be a real type, and if
/// none is in scope the error is rustc's ``cannot find type `Tanh` ``, to which a macro cannot add
/// a hint. Widths are literals: every width, arity, name and graph rule is checked
/// while the crate compiles, and each mistake is reported at its tokens.
///
/// ```
/// use bpnet::prelude::*;
///
/// network! {
///     /// nn-layer: a module network (no energy), usable inside other networks.
///     #[bpnet(float = f64)]
///     pub struct NnLayer {
///         input  input: 3;
///         sum    = linear: linear(input -> 4);
///         output output = sigmoid: tanh(sum);
///     }
/// }
///
/// network! {
///     /// nn-2layer built from nn-layer, as in the lecture.
///     #[bpnet(float = f64)]
///     pub struct NnTwoLayer {
///         input  x: 3;
///         target y: 2;
///         hidden: 4 = layer1: NnLayer(x);
///         sum2   = linear2: linear(hidden -> 2);
///         out    = tanh2: tanh(sum2);
///         energy = euclidean(out, y);
///     }
/// }
///
/// let mut net = NnTwoLayer::new(&mut StdRng::seed_from_u64(1));
/// let report = check_gradients(&mut net, |n| n.fprop(&[0.1, 0.2, 0.3], &[0.5, -0.5]));
/// assert!(report.passes(1e-6), "{report}");
/// assert_eq!(NnTwoLayer::PARAMS, NnLayer::PARAMS + 4 * 2 + 2);
/// assert_eq!(net.layer1.sum.x.len(), 4); // the nested network's own states
/// ```
#[cfg(feature = "std")]
pub use bpnet_macros::network;
/// Declares a network of modules and generates its inference form, for a build without std
/// (`default-features = false`): the same grammar and the same compile-time checks as with std,
/// but no training struct (its pools and minibatches need a heap). `NAME` becomes an empty
/// `enum` holding the constants (`NAME::PARAMS`, `NAME::MODULES`, …) and `NAME::frozen(&params)`,
/// which returns `NAMEFrozen`, the network over borrowed parameters (`run`, and for an unfolded
/// network `run_step`). See the README's "Deploy without std".
#[cfg(not(feature = "std"))]
pub use bpnet_macros::network_inference as network;
#[cfg(feature = "std")]
pub use bpnet_runtime::{
    Batch, BatchSteps, Error, GradCheck, Input, ModuleCheck, StepRows, StepValues, StepValuesIter,
    Steps, check_gradients, check_module_gradients, gradcheck, ndarray,
};
pub use bpnet_runtime::{
    Bbprop, Float, Module, ModuleInfo, Network, Recent, Role, SecondOrder, State, StateInfo, Value,
    rand,
};

#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "std")]
mod fsutil;
#[cfg(feature = "std")]
pub mod io;
#[cfg(feature = "std")]
pub mod optim;
#[cfg(feature = "std")]
pub mod plot;
#[cfg(feature = "std")]
pub mod progress;
#[cfg(feature = "std")]
pub mod train;

/// The runtime's kernels, for reading and for hand-written modules.
pub mod kernels {
    pub use bpnet_runtime::kernels::*;
}

/// What a program that declares and trains networks usually needs.
#[cfg(feature = "std")]
pub mod prelude {
    pub use crate::optim::{Adam, Optimizer, Schedule, Sdlm, Sgd};
    pub use crate::progress::Progress;
    pub use crate::train::Trainer;
    pub use crate::{
        Bbprop, Error, Input, Module, Network, SecondOrder, State, check_gradients,
        check_module_gradients, network,
    };
    pub use bpnet_runtime::rand::{Rng, RngExt, SeedableRng, rngs::StdRng, seq::SliceRandom};
}

/// Paths that code generated by `network!` calls. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use bpnet_runtime::dropout::{Key, Mode, child_seed, seed_of};
    pub use bpnet_runtime::kernels::*;
    pub use bpnet_runtime::layout_is;
    pub use bpnet_runtime::rand::Rng;
    pub use bpnet_runtime::user::{
        Checked, Message, MixedRole, OneRole, SameFloat, Select, cast, cast_mut,
    };
    pub use bpnet_runtime::wide::wide_with;
    pub use core::result::Result;

    // The training network's: its pools, minibatches and checks need std.
    /// The inference form alone, as `network!` expands without std: reachable with std for
    /// the tests that check it.
    #[cfg(feature = "std")]
    pub use bpnet_macros::network_inference;
    #[cfg(feature = "std")]
    pub use bpnet_runtime::debug_network;
    #[cfg(feature = "std")]
    pub use bpnet_runtime::forward::{Forward, expect_forward};
    #[cfg(feature = "std")]
    pub use bpnet_runtime::gemm::GemmScratch;
    #[cfg(feature = "std")]
    pub use bpnet_runtime::user::copies;
    #[cfg(feature = "std")]
    pub use bpnet_runtime::{
        AlignedVec, Given, batch_len, batch_seq_len, continue_rows, load, seq_len,
    };
    #[cfg(feature = "std")]
    pub use std::vec::Vec;

    /// A zeroed pool of `n` values, from a cache line (allocated once, in `new`).
    #[cfg(feature = "std")]
    pub fn zeroed<F: bpnet_runtime::Float>(n: usize) -> AlignedVec<F> {
        AlignedVec::zeroed(n)
    }
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
