use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 1;
        sum    = l: linear(x -> 1);
        out    = t: tanh(sum);
        energy = euclidean(out y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.3]);
    net.zero_grad();
    net.bprop();
}
