use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 4;
        target y: 6;
        out    = lo: linear(x -> [2, 3]);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5; 4], &[0.1; 6]);
    net.bprop();
}
