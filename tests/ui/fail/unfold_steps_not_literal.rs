// Mistake: the number of steps given by a constant's name (it must be a literal, so the macro
// can check delays against it).
use bpnet::prelude::*;

const T: usize = 4;

network! {
    pub struct Net {
        unfold T {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 3);
            o      = wo: linear(s -> 1);
            e      = euclidean(o, y);
        }
        energy = sum(e);
    }
}

fn main() {
    let _ = T;
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let _ = net.fprop(&[[0.5]], &[[0.1]]);
}
