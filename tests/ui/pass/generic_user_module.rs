// A user module generic over its float and width, named with its arguments: `Scale<f64, 3>`.

use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
use scale::Scale;

network! {
    #[bpnet(float = f64)]
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = l: linear(x -> 3);
        b: 3   = scale: Scale<f64, 3>(a);
        out    = t: tanh(b);
        energy = euclidean(out, y);
    }
}

fn main() {
    assert_eq!(Net::PARAMS, 2 * 3 + 1 + 3);
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    assert_eq!(net.scale_params(), &[1.0]);
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    net.bprop();
    assert_eq!(net.scale_grads().len(), 1);
}
