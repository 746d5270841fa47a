use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: [1, 4, 4];
        target y: 2;
        c      = k: conv(x, maps = 0, kernel = 3);
        out    = lo: linear(c -> 2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5; 16], &[0.1; 2]);
    net.bprop();
}
