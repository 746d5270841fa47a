use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: [6, 7, 7];
        target y: 2;
        s      = p: subsample(x, size = 2);
        out    = lo: linear(s -> 2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5; 294], &[0.1; 2]);
    net.bprop();
}
