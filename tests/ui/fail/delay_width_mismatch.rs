// Mistake: the state read across the delay has another width than the state it is added to.
use bpnet::prelude::*;

network! {
    pub struct Net {
        unfold 4 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 3);
            a      = add(s, h[t - 1]);
            h      = th: tanh(b);
            b      = wb: linear(a -> 2);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        energy = sum(e);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let _ = net.fprop(&[[0.5]], &[[0.1]]);
}
