use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: [1, 0, 8];
        target y: 2;
        out    = lo: linear(x -> 2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5; 8], &[0.1; 2]);
    net.bprop();
}
