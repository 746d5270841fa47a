// Mistake: an unfolded network with no per-step input (nothing gives a call its length).
use bpnet::prelude::*;

network! {
    pub struct Net {
        input  ctx: 2;
        unfold 4 {
            target y: 2;
            u      = wc: linear(ctx -> 2);
            c      = wh: linear(h[t - 1] -> 2);
            a      = add(u, c);
            h      = th: tanh(a);
            e      = euclidean(h, y);
        }
        energy = sum(e);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let _ = net.fprop(&[0.5, 0.5], &[[0.1, 0.2]]);
}
