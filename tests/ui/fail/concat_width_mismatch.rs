use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 7;
        a      = la: linear(x -> 3);
        b      = lb: linear(x -> 4);
        k: 6   = concat(a, b);
        energy = euclidean(k, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1; 7]);
    net.bprop();
}
