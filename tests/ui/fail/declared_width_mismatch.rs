use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 4;
        sum: 5 = l: linear(x -> 4);
        out    = t: tanh(sum);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3, 0.4]);
    net.bprop();
}
