// Mistake: `tahn`, a typo of the built-in kind `tanh`.

use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        h      = t: tahn(a);
        energy = euclidean(h, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
}
