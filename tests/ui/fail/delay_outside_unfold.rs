// Mistake: a delayed read in a network that is not unfolded.
use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 1;
        target y: 1;
        s      = wx: linear(x -> 3);
        c      = wh: linear(h[t - 1] -> 3);
        a      = add(s, c);
        h      = th: tanh(a);
        o      = wo: linear(h -> 1);
        energy = euclidean(o, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5], &[0.1]);
}
