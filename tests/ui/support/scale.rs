//! `Scale`, the user module of the `user_module_*` cases and of `pass/generic_user_module`:
//! y = s · x over `N` components, one trainable scale, computing in `F`. The defaults (`f32`, 3)
//! fit the fail cases' networks, so a case writes plain `Scale(a)` and its one mistake stays in
//! its own file. Not a case itself: the trybuild globs only take `ui/fail/*.rs` and `ui/pass/*.rs`.

use bpnet::{Float, Module, rand::Rng};
use std::marker::PhantomData;

/// y = s · x, one trainable scale.
pub struct Scale<F = f32, const N: usize = 3>(PhantomData<F>);

impl<F: Float, const N: usize> Module for Scale<F, N> {
    type Float = F;
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 1;
    fn create() -> Self {
        Scale(PhantomData)
    }
    fn init<R: Rng + ?Sized>(params: &mut [F], _rng: &mut R) {
        params[0] = F::ONE;
    }
    fn fprop(&mut self, p: &[F], x: &[F], y: &mut [F]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = p[0] * x;
        }
    }
    fn bprop(&mut self, p: &[F], g: &mut [F], x: &[F], _y: &[F], dy: &[F], dx: &mut [F]) {
        for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
            *dx += p[0] * dy;
            g[0] += x * dy;
        }
    }
}
