use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 2;
        a      = la: linear(x -> 4);
        s      = slice(a, from = 1.0, to = 3);
        energy = euclidean(s, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1; 2]);
    net.bprop();
}
