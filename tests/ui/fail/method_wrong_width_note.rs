// Mistake: `run` given 3 numbers for `input x: 2`. rustc's error is the user's; its note
// "method defined here" points at the parameter's declaration, `input x: 2`.

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
    let _ = net.run(&[1.0, 2.0, 3.0]);
}
