use bpnet::prelude::*;

/// y = s · x, one trainable scale.
pub struct Scale;

impl Module for Scale {
    type Float = f32;
    const IN: usize = 3;
    const OUT: usize = 3;
    const PARAMS: usize = 1;
    fn create() -> Self {
        Scale
    }
    fn init<R: bpnet::rand::Rng + ?Sized>(params: &mut [f32], _rng: &mut R) {
        params[0] = 1.0;
    }
    fn fprop(&mut self, p: &[f32], x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = p[0] * x;
        }
    }
    fn bprop(
        &mut self,
        p: &[f32],
        g: &mut [f32],
        x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: &mut [f32],
    ) {
        for ((dx, x), dy) in dx.iter_mut().zip(x).zip(dy) {
            *dx += p[0] * dy;
            g[0] += x * dy;
        }
    }
}

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        b      = scale: Scale(a);
        out    = t: tanh(b);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
    let _ = net.scale_params();
}
