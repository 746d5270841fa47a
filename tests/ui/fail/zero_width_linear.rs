use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        sum1   = l1: linear(x -> 0);
        sum2   = l2: linear(sum1 -> 1);
        out    = t: tanh(sum2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.3]);
    net.bprop();
}
