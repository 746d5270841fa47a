use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 4;
        h      = l1: linear(x -> 4);
        h      = t1: tanh(h);
        energy = euclidean(h, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3, 0.4]);
    net.bprop();
    let _ = net.h.x;
}
