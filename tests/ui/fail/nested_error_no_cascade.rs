// Mistake: a typo inside a nested network. Only that typo is reported; the network that nests
// it, and the code using both, add no errors of their own.
use bpnet::prelude::*;

network! {
    #[bpnet(float = f64)]
    pub struct Inner {
        input  i: 2;
        h      = l: linear(i -> 3);
        output o = t: tanh(hh);
    }
}

network! {
    #[bpnet(float = f64)]
    pub struct Outer {
        input  x: 2;
        target y: 3;
        h: 3   = m: Inner(x);
        energy = euclidean(h, y);
    }
}

fn main() {
    let mut n = Outer::new(&mut StdRng::seed_from_u64(1));
    n.set_input_grads(true);
    n.fprop(&[1.0, 2.0], &[0.0, 0.0, 0.0]);
    let _: bool = n.m.input_grads();
}
