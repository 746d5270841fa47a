// Mistake: `energy` reads `zz`, which no statement defines. The stand-in the macro emits then
// still has the user module's field `scale`, so `net.scale` adds no error of its own.

use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
use scale::Scale;

network! {
    pub struct Net {
        input  x: 3;
        target y: 3;
        b: 3   = scale: Scale(x);
        out    = t: tanh(b);
        energy = euclidean(out, zz);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5, 0.1], &[0.1, 0.2, 0.3]);
    net.bprop();
    let _: &Scale = &net.scale;
    let _ = net.scale_params();
}
