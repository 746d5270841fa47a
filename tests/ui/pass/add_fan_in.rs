use bpnet::prelude::*;

network! {
    /// Three branches from one input, summed.
    pub struct Net {
        input  x: 2;
        target y: 3;
        a      = la: linear(x -> 3);
        b      = lb: linear(x -> 3);
        c      = lc: linear(x -> 3);
        s      = add(a, b, c);
        out    = t: tanh(s);
        energy = euclidean(out, y);
    }
}

fn main() {
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    net.fprop(&[0.5, -0.5], &[0.1, 0.2, 0.3]);
    for i in 0..3 {
        let sum = net.a.x[i] + net.b.x[i] + net.c.x[i];
        assert!((net.s.x[i] - sum).abs() < 1e-6);
    }
    net.bprop();
    // add passes dE/ds unchanged to each of its inputs.
    assert_eq!(net.a.dx, net.s.dx);
    assert_eq!(net.b.dx, net.s.dx);
    assert_eq!(net.c.dx, net.s.dx);
    assert_eq!(Net::MODULES.iter().filter(|m| m.kind == "add").count(), 1);
}
