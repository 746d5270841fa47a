//! The lecture's `state` class: a forward value and the derivative of the energy with respect to it.

use crate::Float;

/// A state of the network: `x`, the value computed by fprop, `dx`, dE/dx computed by bprop, and
/// `ddx`, the diagonal second derivative ∂²E/∂x² in the Gauss–Newton approximation, computed by
/// bbprop.
///
/// The width `N` is part of the type, so a network's states are plain arrays allocated once with
/// the network. The struct is `#[non_exhaustive]` so that a slot can be added without breaking
/// code; build one with [`State::new`] or [`Default`].
///
/// ```
/// let s = bpnet_runtime::State::<f32, 3>::new();
/// assert_eq!(s.x, [0.0; 3]);
/// assert_eq!(bpnet_runtime::State::<f32, 3>::WIDTH, 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct State<F, const N: usize> {
    /// The forward value.
    pub x: [F; N],
    /// dE/dx, the derivative of the energy with respect to `x`.
    pub dx: [F; N],
    /// ∂²E/∂x², diagonal, Gauss–Newton (the `f″` terms dropped), computed by bbprop.
    pub ddx: [F; N],
}

impl<F: Float, const N: usize> State<F, N> {
    /// The number of components.
    pub const WIDTH: usize = N;

    /// A state with every slot zero.
    pub fn new() -> Self {
        Self {
            x: [F::ZERO; N],
            dx: [F::ZERO; N],
            ddx: [F::ZERO; N],
        }
    }
}

impl<F: Float, const N: usize> Default for State<F, N> {
    fn default() -> Self {
        Self::new()
    }
}
