// Mistake: cloning a network whose user module is not `Clone` (`Scale` derives nothing). The
// network compiles, trains and prints; only `clone` is an error, naming the module's type at its
// place in the declaration.

use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
use scale::Scale;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        b: 3   = scale: Scale(a);
        out    = t: tanh(b);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
    println!("{net:?}");
    let _copy = net.clone();
}
