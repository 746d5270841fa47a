use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 4;
        input  class: 3;
        a      = l1: linear(x -> 3);
        e      = t1: tanh(a);
        energy = cross_entropy(e, class);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5, 0.1, 0.2], &[0.0, 1.0, 0.0]);
    net.bprop();
}
