use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hiden -> 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.3]);
    net.zero_grad();
    net.bprop();
    net.sgd_step(0.1);
}
