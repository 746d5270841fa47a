use bpnet::prelude::*;
use bpnet::{Float, rand::Rng};
use std::marker::PhantomData;

/// y = s · x over N components, one trainable scale, for any float.
pub struct Scale<F, const N: usize>(PhantomData<F>);

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

network! {
    #[bpnet(float = f64)]
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        b: 3   = scale: Scale<f64, 3>(a);
        out    = t: tanh(b);
        energy = euclidean(out, y);
    }
}

fn main() {
    assert_eq!(Net::PARAMS, 2 * 3 + 1 + 3);
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    assert_eq!(net.scale_params(), &[1.0]);
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
    assert_eq!(net.scale_grads().len(), 1);
}
