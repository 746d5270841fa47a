use bpnet::prelude::*;

network! {
    /// Four mistakes about losses, reported together; nothing else is.
    pub struct Net {
        input  x: 4;
        target y: 3;
        a      = l1: linear(x -> 5);
        h      = s: scaled_tanh(a);
        e      = l2: linear(h -> 4);
        n      = nll(e, y, temperature = 2.0);
        m      = hinge(e, h);
        c      = cross_entropy(e, y, x);
        energy = add(n, m, c);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5, 0.1, 0.2], &[0.0, 1.0, 0.0]);
    net.bprop();
    let _ = net.run(&[0.5, -0.5, 0.1, 0.2]);
}
