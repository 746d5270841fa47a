#![deny(missing_docs)]
//! Documented states: the docs go onto the generated fields.

use bpnet::prelude::*;

network! {
    /// A documented network.
    pub struct Net {
        /// The features.
        input  x: 2;
        /// The desired answer.
        target y: 1;
        /// Weighted sums.
        sum    = l: linear(x -> 1);
        /// Squashed.
        #[allow(unused)]
        out    = t: tanh(sum);
        /// Half the squared distance.
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let e = net.fprop(&[0.5, -0.5], &[0.3]);
    assert_eq!(e, net.energy.x[0]);
    assert_eq!(Net::STATES.len(), 5);
    assert!(Net::DOT.contains("s_out"));
}
