// Mistake: the user module computes in `f64`, the network (by default) in `f32`.

use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
type Scale = scale::Scale<f64>;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        b: 3   = scale: Scale(a);
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
