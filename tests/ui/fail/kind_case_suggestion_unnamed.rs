// Mistake: `LeakyRelu` for the built-in kind `leaky_relu`; taken for a user type, it would need a
// module name, and the error says which kind was likely meant.

use bpnet::prelude::*;

network! {
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        h: 3   = LeakyRelu(a);
        energy = euclidean(h, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
}
