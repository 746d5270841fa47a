// Mistake: a width no state can have (at most 2^20 components).
use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 1099511627776;
        target y: 1;
        h      = l: linear(x -> 1);
        energy = euclidean(h, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.3]);
    net.bprop();
}
