// Mistake: the same input declared twice.
use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        input  x: 2;
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
