use bpnet::prelude::*;

network! {
    #[bpnet(float = f32)]
    pub struct Net {
        input  x: 4;
        target y: 3;
        e      = l1: linear(x -> 3);
        n      = nll(e, y, beta = 1e39);
        p      = nll(e, y, beta = 1e-50);
        m      = hinge(e, y, margin = 1e39);
        energy = add(n, p, m);
    }
}

network! {
    #[bpnet(float = f64)]
    pub struct Wide {
        input  x: 4;
        target y: 3;
        e      = l1: linear(x -> 3);
        n      = nll(e, y, beta = 1e39);
        m      = hinge(e, y, margin = 1e-50);
        energy = add(n, m);
    }
}

fn main() {}
