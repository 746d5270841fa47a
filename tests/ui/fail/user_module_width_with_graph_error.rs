// Two mistakes: a cycle (`c` -> `d` -> `e` -> `c`), and `scale` reads state `a` of width 4 while
// `Scale::IN` is 3. The graph error makes the macro emit its stand-in instead of the network, and
// the user module's check is still made: both are reported at once.

use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
use scale::Scale;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 4);
        b: 3   = scale: Scale(a);
        c      = add(b, e);
        d      = t: tanh(c);
        e      = le: linear(d -> 3);
        energy = euclidean(e, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
    let _ = net.scale_params();
}
