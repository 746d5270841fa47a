// Mistake: a linear of 2^20 × 4096, more parameters than a pool holds (at most 2^31).
use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 1048576;
        target y: 1;
        h      = l: linear(x -> 4096);
        o      = m: linear(h -> 1);
        energy = euclidean(o, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let _ = net.l_params().len();
    net.bprop();
}
