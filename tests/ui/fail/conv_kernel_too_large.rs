use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: [1, 4, 4];
        target y: 2;
        // One error: the declared shape and the subsampling after it are not reported.
        c: [6, 2, 2] = k: conv(x, maps = 6, kernel = 5);
        s      = p: subsample(c, size = 2);
        out    = lo: linear(s -> 2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5; 16], &[0.1; 2]);
    net.bprop();
}
