// Mistake: an initial value that no float holds.
use bpnet::prelude::*;

network! {
    pub struct Net {
        unfold 4 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 2);
            c      = wh: linear(h[t - 1] -> 2);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = [1e400, 0.0];
        energy = sum(e);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let _ = net.fprop(&[[0.5]], &[[0.1]]);
    net.bprop();
}
