use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 5;
        a      = la: linear(x -> 4);
        s      = slice(a, from = 2, to = 7);
        energy = euclidean(s, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1; 5]);
    net.bprop();
}
