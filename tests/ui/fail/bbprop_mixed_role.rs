// Mistake: bbprop called on a network in which a module's value (the Euclidean distance `d`) is
// both part of the energy (added into it) and read by another module (`t`). The network trains
// with bprop; its bbprop is an error that points at the module.

use bpnet::prelude::*;

network! {
    #[bpnet(float = f64)]
    pub struct Net {
        input  x: 2;
        target c: 1;
        target z: 1;
        a      = l: linear(x -> 1);
        d      = euclidean(a, c);
        u      = t: tanh(d);
        f      = euclidean(u, z);
        energy = add(d, f);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1], &[0.2]);
    net.bprop();
    net.bbprop();
}
