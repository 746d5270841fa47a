// The expansion of `network!` without std (the inference form alone), compiled here through the
// hidden entry point: an empty enum with the constants, and `NameFrozen`.
use bpnet::__private::network_inference as network;

network! {
    pub struct Sine {
        input  x: 1;
        target y: 1;
        h      = l1: linear(x -> 4);
        a      = t1: tanh(h);
        out    = l2: linear(a -> 1);
        energy = euclidean(out, y);
    }
}

network! {
    pub struct Loop {
        unfold 4 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 1] -> 3);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

static SINE: [f32; Sine::PARAMS] = [0.25; Sine::PARAMS];
static LOOP: [f32; Loop::PARAMS] = [0.125; Loop::PARAMS];

// Made while compiling (`frozen` is a `const fn`), so that a program can keep one in a `static`
// (an embedded program would use its platform's mutex).
static SHARED: std::sync::Mutex<LoopFrozen<'static>> = std::sync::Mutex::new(Loop::frozen(&LOOP));

fn main() {
    assert_eq!(Sine::PARAMS, 4 + 4 + 4);
    let y = Sine::frozen(&SINE).run(&[0.5])[0];
    assert!(y > 0.0);
    let mut l = Loop::frozen(&LOOP);
    let first = l.run_step(&[1.0])[0];
    let second = l.run_step(&[1.0])[0];
    assert_ne!(first, second, "the recurrent state moves");
    l.reset();
    assert_eq!(l.run_step(&[1.0])[0], first);
    // The one made while compiling starts from the same learned initial state.
    let mut shared = SHARED.lock().unwrap();
    assert_eq!(shared.run_step(&[1.0])[0].to_bits(), first.to_bits());
    assert_eq!(shared.run_step(&[1.0])[0].to_bits(), second.to_bits());
}
