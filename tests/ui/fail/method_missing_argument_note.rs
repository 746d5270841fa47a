// Mistake: `fprop` given the input but not the target. rustc's error is the user's; its note
// "method defined here" points at the network's name and the missing parameter's `y: 1`.

use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        a      = l: linear(x -> 1);
        out    = t: tanh(a);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[1.0, 2.0]);
}
