use bpnet::prelude::*;

network! {
    /// Has an energy, so it is trained on its own and is not a module.
    pub struct Inner {
        input  input: 3;
        target y: 4;
        sum    = linear: linear(input -> 4);
        out    = sigmoid: tanh(sum);
        energy = euclidean(out, y);
    }
}

network! {
    pub struct Net {
        input  x: 3;
        target y: 4;
        hidden: 4 = inner: Inner(x);
        out    = t: tanh(hidden);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5, 0.1], &[0.1, 0.2, 0.3, 0.4]);
    net.bprop();
    let _ = net.inner_params();
}
