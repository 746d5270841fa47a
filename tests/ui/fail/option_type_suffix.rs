use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = la: linear(x -> 3);
        s      = scale(a, by = 2u8);
        energy = euclidean(s, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1; 3]);
    net.bprop();
}
