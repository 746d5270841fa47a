// Mistake: a concat wider than a state can be (at most 2^20 components).
use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 1048576;
        target y: 1;
        c      = concat(x, x);
        o      = l: linear(c -> 1);
        energy = euclidean(o, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let _ = Net::C_WIDTH;
    net.bprop();
}
