// Mistake: deriving `Clone` and `Debug` on a network, which implements both itself. `PartialEq`
// is left to rustc.

use bpnet::prelude::*;

network! {
    #[derive(Clone, Debug)]
    pub struct Net {
        input  x: 2;
        target y: 1;
        a      = l: linear(x -> 1);
        energy = euclidean(a, y);
    }
}

fn main() {
    let net = Net::new(&mut StdRng::seed_from_u64(0));
    let _copy = net.clone();
}
