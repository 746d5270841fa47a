use bpnet::prelude::*;

network! {
    /// linear then tanh, usable as a module: IN = 3, OUT = 4.
    pub struct Layer {
        input  input: 3;
        sum    = linear: linear(input -> 4);
        output output = sigmoid: tanh(sum);
    }
}

network! {
    pub struct Net {
        input  x: 2;
        target y: 4;
        hidden: 4 = layer1: Layer(x);
        out    = t: tanh(hidden);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3, 0.4]);
    net.bprop();
    let _ = net.layer1_params();
}
