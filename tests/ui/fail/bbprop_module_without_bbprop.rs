// Mistake: bbprop called on a network whose user module declares no second derivatives (`Scale`
// implements `bpnet::Module` but not `bpnet::Bbprop`). The network compiles, fprop and bprop
// work; only the calls that need every module's bbprop are errors, naming the module's type.

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

fn curvature<N: SecondOrder>(net: &mut N) {
    net.bbprop();
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
    net.bbprop();
    curvature(&mut net);
}
