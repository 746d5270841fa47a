// Mistake: a module after the block reads a per-step state directly.
use bpnet::prelude::*;

network! {
    pub struct Net {
        target label: 2;
        unfold 4 {
            input  x: 1;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 1] -> 3);
            a      = add(s, c);
            h      = th: tanh(a);
        }
        o      = wo: linear(h -> 2);
        energy = euclidean(o, label);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let _ = net.fprop(&[0.5, 0.5], &[[0.1]]);
    net.reserve_batch(2).unwrap();
    let _ = net.fprop_batch(&[[0.5, 0.5]], &[[[0.1]]]);
    net.bprop_batch();
    let _ = net.run_batch(&[[[0.1]]]).map(|o| o.to_vec());
}
