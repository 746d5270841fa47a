// Names that could trip generated code: a glob import bringing an `Ok` variant into scope, two
// networks whose (network, module) names run together, and raw identifiers.
#![allow(dead_code, non_camel_case_types)]
use bpnet::prelude::*;

#[path = "../support/scale.rs"]
mod scale;
use scale::Scale;

pub enum Status {
    Ok,
    Failed,
}
use Status::*;

network! {
    pub struct A {
        input  x: 3;
        target y: 3;
        h: 3   = b_c: Scale(x);
        energy = euclidean(h, y);
    }
}

network! {
    pub struct A_b {
        input  x: 3;
        target y: 3;
        h: 3   = c: Scale(x);
        energy = euclidean(h, y);
    }
}

network! {
    pub struct Raw {
        input  r#type: 2;
        target y: 1;
        r#loop = r#fn: linear(r#type -> 1);
        energy = euclidean(r#loop, y);
    }
}

fn main() {
    let _ = (Ok, Failed);
    let mut a = A::new(&mut StdRng::seed_from_u64(0));
    assert!(a.try_fprop(&[1.0f32, 2.0, 3.0][..], &[0.0f32; 3][..]).is_ok());
    let mut ab = A_b::new(&mut StdRng::seed_from_u64(0));
    ab.fprop(&[1.0, 2.0, 3.0], &[0.0; 3]);
    let mut r = Raw::new(&mut StdRng::seed_from_u64(0));
    r.fprop(&[1.0, 2.0], &[0.5]);
    assert_eq!(r.fn_params().len(), 2);
    assert_eq!(Raw::STATES[0].name, "type");
    assert!(Raw::DOT.contains("\"s_loop\" -> \"m_energy\""));
}
