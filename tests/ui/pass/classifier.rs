//! Every new module and loss, per sample, per minibatch, and inside `unfold`.
use bpnet::kernels::loss::{argmax, argmin, softmin};
use bpnet::prelude::*;

network! {
    pub struct Classifier {
        input  x: 4;
        target y: 3;
        a      = l1: linear(x -> 6);
        h      = s1: sigmoid(a);
        g      = s2: scaled_tanh(a);
        b      = add(h, g);
        output e = l2: linear(b -> 3);        // several losses: say what `run` returns
        n      = nll(e, y, beta = 2);
        m      = hinge(e, y, margin = 0.25);
        k      = energy_loss(e, y);
        energy = add(n, m, k);
    }
}

network! {
    #[bpnet(float = f64)]
    pub struct Logits {
        unfold 3 {
            input  x: 2;
            target y: 2;
            s      = wx: linear(x -> 2);
            c      = wh: linear(h[t - 1] -> 2);
            a      = add(s, c);
            h      = th: scaled_tanh(a);
            z      = wo: linear(h -> 2);
            l      = cross_entropy(z, y);
        }
        energy = sum(l);
    }
}

fn main() {
    let mut net = Classifier::new(&mut StdRng::seed_from_u64(0));
    let (x, y) = ([0.5, -0.5, 0.1, 0.2], [0.0, 1.0, 0.0]);
    let loss = net.fprop(&x, &y);
    assert!(loss > 0.0);
    net.bprop();
    let energies: &[f32; 3] = net.run(&x);
    let p = softmin(energies, 2.0);
    assert_eq!(argmax(&p), argmin(energies));
    net.reserve_batch(2).unwrap();
    net.fprop_batch(&[x, x], &[y, y]).unwrap();
    net.bprop_batch();

    let mut seq = Logits::new(&mut StdRng::seed_from_u64(1));
    let e = seq
        .fprop(&[[0.1, 0.2], [0.3, 0.4]], &[[1.0, 0.0], [0.0, 1.0]])
        .unwrap();
    assert!(e > 0.0);
    seq.bprop();
}
