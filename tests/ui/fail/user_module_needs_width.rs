// Mistake: state `b` comes from a user module but has no declared width (`b: 3 = …`).

use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
// Unused once the macro has rejected the network, but there so that its one mistake is the only one.
#[allow(unused_imports)]
use scale::Scale as Scaler;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        b      = scale: Scaler(a);
        out    = t: tanh(b);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
    let _ = net.scale_params();
}
