// Mistake: `scale` writes state `b` declared with width 4, but `Scale::OUT` is 3.

use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
use scale::Scale;

network! {
    pub struct Net {
        input  x: 2;
        target y: 4;
        a      = l: linear(x -> 3);
        b: 4   = scale: Scale(a);
        out    = t: tanh(b);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3, 0.4]);
    net.bprop();
    let _ = net.scale_params();
}
