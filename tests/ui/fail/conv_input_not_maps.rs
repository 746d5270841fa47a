use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 64;
        target y: 2;
        // One error: the max pooling after it is not reported.
        c      = k: conv(x, maps = 6, kernel = 3);
        m      = maxpool(c, size = 2);
        out    = lo: linear(m -> 2);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5; 64], &[0.1; 2]);
    net.bprop();
}
