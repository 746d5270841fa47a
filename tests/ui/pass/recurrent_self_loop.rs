// Modules reading their own output at an earlier step, `h = …(h[t - k])`: "any connection is
// permissible" once unfolded in time. Linear, tanh, add and a user module, delays 1 and 2: they
// compile, and fprop, bprop, run and their minibatch forms run.
use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
use scale::Scale;

network! {
    /// `h[t] = W h[t − 1]`, from a learned initial value.
    pub struct SelfLinear {
        unfold 4 {
            input  x: 3;
            target y: 3;
            h      = wh: linear(h[t - 1] -> 3);
            a      = add(x, h);
            e      = euclidean(a, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

network! {
    /// `h[t] = tanh(h[t − 1] + B)`, beside the input's path.
    pub struct SelfTanh {
        unfold 4 {
            input  x: 3;
            target y: 3;
            s      = lx: linear(x -> 3);
            h: 3   = th: tanh(h[t - 1]);
            a      = add(s, h);
            e      = euclidean(a, y);
        }
        initial h = [0.5, -0.5, 0.25];
        energy = sum(e);
    }
}

network! {
    /// A running sum over two delays, `h[t] = x[t] + h[t − 1] + h[t − 2]`, and a user module
    /// reading its own output one step back.
    pub struct SelfAdd {
        unfold 4 {
            input  x: 3;
            target y: 3;
            h      = add(x, h[t - 1], h[t - 2]);
            q: 3   = scale: Scale(q[t - 1]);
            a      = add(h, q);
            output o = th: tanh(a);
            e      = euclidean(o, y);
        }
        initial q = [1.0, -1.0, 0.5];
        energy = sum(e);
    }
}

macro_rules! train {
    ($net:ident) => {{
        let mut net = $net::new(&mut StdRng::seed_from_u64(0));
        let xs: Vec<[f32; 3]> = (0..4).map(|t| [t as f32 * 0.1, -0.2, 0.3]).collect();
        let ys: Vec<[f32; 3]> = (0..4).map(|t| [0.1, t as f32 * -0.1, 0.2]).collect();
        net.fprop(&xs, &ys).unwrap();
        net.zero_grad();
        net.bprop();
        assert!(net.grads().iter().any(|g| *g != 0.0));
        net.reserve_batch(2).unwrap();
        net.fprop_batch(&[&xs, &ys], &[&ys, &xs]).unwrap();
        net.bprop_batch();
        net.fprop_batch_continued(&[&xs[..1]], &[&ys[..1]]).unwrap();
        net.bprop_batch();
        net
    }};
}

fn main() {
    train!(SelfLinear);
    train!(SelfTanh);
    let mut net = train!(SelfAdd);
    let xs: Vec<[f32; 3]> = (0..4).map(|t| [0.1, t as f32 * 0.2, -0.3]).collect();
    net.run(&xs).unwrap();
    for t in 0..4 {
        let back = |k: usize| if t >= k { net.h[t - k].x } else { [0.0; 3] };
        let (one, two) = (back(1), back(2));
        for j in 0..3 {
            assert_eq!(net.h[t].x[j], xs[t][j] + one[j] + two[j]);
        }
    }
    let last = net.o[3].x;
    let outs = net.run_batch(&[&xs, &xs]).unwrap();
    assert_eq!((outs.steps(), outs.rows()), (4, 2));
    assert_eq!(outs[3][1], last);
}
