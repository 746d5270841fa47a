use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 4;
        target y: 3;
        e      = l1: linear(x -> 3);
        n      = nll(e, y, beta = 0);
        m      = hinge(e, y, margin = -0.5);
        energy = add(n, m);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5, 0.1, 0.2], &[0.0, 1.0, 0.0]);
    net.bprop();
}
