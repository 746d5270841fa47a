// Mistake: a slice index past any state's width (at most 2^20).
use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 4;
        target y: 1;
        s      = slice(x, from = 0, to = 1099511627776);
        o      = l: linear(s -> 1);
        energy = euclidean(o, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5, 0.1, 0.2], &[0.3]);
    net.bprop();
}
