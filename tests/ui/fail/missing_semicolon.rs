// Mistake: no `;` after the statement that defines `out`. The statement is still read, so the
// energy reading `out` adds no "unknown state" of its own.

use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        h      = l1: linear(x -> 4);
        t      = th: tanh(h);
        out    = l2: linear(t -> 1)
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.3]);
    net.bprop();
    let _ = net.l2_params();
}
