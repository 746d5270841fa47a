// Mistake: a dropout that would drop every component (`p = 1`): p is a probability below 1.

use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        d      = dropout(a, p = 1.0);
        energy = euclidean(d, y);
    }
}

fn main() {
    let _ = Net::new(&mut StdRng::seed_from_u64(0));
}
