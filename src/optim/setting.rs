//! The checks of the optimizers' settings, and their error.

use crate::Float;
use core::fmt;

/// An optimizer setting out of its range: a learning rate, momentum, weight decay, `β`, `ε`,
/// `μ` or sample count that is NaN, infinite, negative or otherwise not allowed.
///
/// Returned by the `try_` forms of the optimizers' constructors and setters ([`Sgd::try_new`],
/// [`Adam::try_betas`], [`Sdlm::try_new`], …), so that a setting read from a configuration file
/// or a command line can be checked without a panic. The panicking forms (`new`, `betas`, …)
/// panic with this error's message.
///
/// `Debug` prints the message, as `Display`, so `main` returning the error shows it.
///
/// [`Sgd::try_new`]: super::Sgd::try_new
/// [`Adam::try_betas`]: super::Adam::try_betas
/// [`Sdlm::try_new`]: super::Sdlm::try_new
///
/// ```
/// use bpnet::optim::{Sgd, SettingError};
///
/// let momentum: f64 = "1.5".parse()?; // read from a command line, say
/// let err = Sgd::try_new(0.1)?.try_momentum(momentum).unwrap_err();
/// assert_eq!((err.setting, err.value), ("the momentum", 1.5));
/// assert_eq!(err.to_string(), "Sgd: the momentum must be in [0, 1), got 1.5");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SettingError {
    /// The optimizer: `"Sgd"`, `"Adam"` or `"Sdlm"`.
    pub optimizer: &'static str,
    /// The setting, as the message names it: `"the learning rate"`, `"beta1"`, `"mu"`, ….
    pub setting: &'static str,
    /// The value given (converted to `f64`).
    pub value: f64,
    /// What the value must be: `"finite and >= 0"`, `"in [0, 1)"`, ….
    pub rule: &'static str,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SettingError {
            optimizer,
            setting,
            value,
            rule,
        } = self;
        write!(f, "{optimizer}: {setting} must be {rule}, got {value}")
    }
}

impl std::error::Error for SettingError {}

bpnet_runtime::debug_as_display!(SettingError);

/// The rule of learning rates and weight decays.
const FINITE_NON_NEGATIVE: &str = "finite and >= 0";
/// The rule of `ε` and `μ`.
const FINITE_POSITIVE: &str = "finite and > 0";
/// The rule of momenta and the moments' decay rates.
const UNIT: &str = "in [0, 1)";

/// `Ok` if `ok`, else the error of `setting` of `optimizer`.
fn check(
    optimizer: &'static str,
    setting: &'static str,
    value: f64,
    ok: bool,
    rule: &'static str,
) -> Result<(), SettingError> {
    if ok {
        return Ok(());
    }
    Err(SettingError {
        optimizer,
        setting,
        value,
        rule,
    })
}

/// `v` must be finite and `≥ 0` (a learning rate, a weight decay, SDLM's `ε`).
pub(super) fn non_negative<F: Float>(
    optimizer: &'static str,
    setting: &'static str,
    v: F,
) -> Result<(), SettingError> {
    let v = v.to_f64();
    check(
        optimizer,
        setting,
        v,
        v.is_finite() && v >= 0.0,
        FINITE_NON_NEGATIVE,
    )
}

/// `v` must be finite and `> 0` (Adam's `ε`, SDLM's `μ`).
pub(super) fn positive<F: Float>(
    optimizer: &'static str,
    setting: &'static str,
    v: F,
) -> Result<(), SettingError> {
    let v = v.to_f64();
    check(
        optimizer,
        setting,
        v,
        v.is_finite() && v > 0.0,
        FINITE_POSITIVE,
    )
}

/// `v` must be in `[0, 1)`, NaN excluded (a momentum, a moment's decay rate).
pub(super) fn unit<F: Float>(
    optimizer: &'static str,
    setting: &'static str,
    v: F,
) -> Result<(), SettingError> {
    let v = v.to_f64();
    check(optimizer, setting, v, (0.0..1.0).contains(&v), UNIT)
}

/// `n` must be at least 1 (SDLM's sample count).
pub(super) fn at_least_one(
    optimizer: &'static str,
    setting: &'static str,
    n: usize,
) -> Result<(), SettingError> {
    check(optimizer, setting, n as f64, n >= 1, "at least 1")
}

/// The value, or a panic with the error's message (for the panicking forms).
#[track_caller]
pub(super) fn or_panic<T>(result: Result<T, SettingError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Adam, Optimizer, Sdlm, Sgd};
    use super::SettingError;
    use core::fmt::Debug;

    const BAD_NON_NEGATIVE: [f64; 4] = [-0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    const BAD_UNIT: [f64; 5] = [1.0, 1.5, -0.1, f64::NAN, f64::INFINITY];
    const BAD_POSITIVE: [f64; 4] = [0.0, -1.0, f64::NAN, f64::INFINITY];

    /// `result` is the error of `setting` of `optimizer` for `value`, and says so.
    #[track_caller]
    fn refused<T: Debug>(
        result: Result<T, SettingError>,
        optimizer: &str,
        setting: &str,
        value: f64,
    ) {
        let e = result.expect_err("a bad value must be refused");
        assert_eq!((e.optimizer, e.setting), (optimizer, setting), "{e}");
        assert_eq!(e.value.to_bits(), value.to_bits(), "{e}");
        let message = e.to_string();
        let expected = format!("{optimizer}: {setting} must be {}, got {value}", e.rule);
        assert_eq!(message, expected);
    }

    #[test]
    fn debug_is_the_message() {
        let e = Sgd::try_new(-1.0).unwrap_err();
        assert!(format!("{e:?}").starts_with(&e.to_string()));
    }

    /// `a` and `b` are the same optimizer (same settings and state).
    #[track_caller]
    fn same<T: Debug>(a: Result<T, SettingError>, b: T) {
        assert_eq!(format!("{:?}", a.unwrap()), format!("{b:?}"));
    }

    #[test]
    fn sgd_try_new() {
        for v in BAD_NON_NEGATIVE {
            refused(Sgd::try_new(v), "Sgd", "the learning rate", v);
        }
        same(Sgd::try_new(0.25f64), Sgd::new(0.25));
        same(Sgd::try_new(0.0f64), Sgd::new(0.0));
    }

    #[test]
    fn sgd_try_momentum() {
        for v in BAD_UNIT {
            refused(Sgd::new(0.1).try_momentum(v), "Sgd", "the momentum", v);
        }
        same(
            Sgd::new(0.1f64).try_momentum(0.9),
            Sgd::new(0.1).momentum(0.9),
        );
        same(
            Sgd::new(0.1f64).try_momentum(0.0),
            Sgd::new(0.1).momentum(0.0),
        );
    }

    #[test]
    fn sgd_try_weight_decay() {
        for v in BAD_NON_NEGATIVE {
            refused(
                Sgd::new(0.1).try_weight_decay(v),
                "Sgd",
                "the weight decay",
                v,
            );
        }
        same(
            Sgd::new(0.1f64).try_weight_decay(1e-4),
            Sgd::new(0.1).weight_decay(1e-4),
        );
    }

    #[test]
    fn sgd_try_set_learning_rate() {
        let mut opt = Sgd::new(0.1f64);
        for v in BAD_NON_NEGATIVE {
            refused(opt.try_set_learning_rate(v), "Sgd", "the learning rate", v);
            assert_eq!(opt.base_learning_rate(), 0.1, "a refused rate is not kept");
        }
        let mut other = Sgd::new(0.1f64);
        other.set_learning_rate(0.5);
        same(opt.try_set_learning_rate(0.5).map(|()| opt.clone()), other);
    }

    #[test]
    fn adam_try_new() {
        for v in BAD_NON_NEGATIVE {
            refused(Adam::try_new(v), "Adam", "the learning rate", v);
        }
        same(Adam::try_new(1e-3f64), Adam::new(1e-3));
    }

    #[test]
    fn adam_try_adamw() {
        for v in BAD_NON_NEGATIVE {
            refused(Adam::try_adamw(v, 0.01), "Adam", "the learning rate", v);
            refused(Adam::try_adamw(1e-3, v), "Adam", "the weight decay", v);
        }
        same(Adam::try_adamw(1e-3f64, 0.01), Adam::adamw(1e-3, 0.01));
    }

    #[test]
    fn adam_try_betas() {
        for v in BAD_UNIT {
            refused(Adam::new(0.1).try_betas(v, 0.999), "Adam", "beta1", v);
            refused(Adam::new(0.1).try_betas(0.9, v), "Adam", "beta2", v);
        }
        same(
            Adam::new(0.1f64).try_betas(0.8, 0.99),
            Adam::new(0.1).betas(0.8, 0.99),
        );
    }

    #[test]
    fn adam_try_eps() {
        for v in BAD_POSITIVE {
            refused(Adam::new(0.1).try_eps(v), "Adam", "eps", v);
        }
        same(Adam::new(0.1f64).try_eps(1e-6), Adam::new(0.1).eps(1e-6));
    }

    #[test]
    fn adam_try_weight_decay() {
        for v in BAD_NON_NEGATIVE {
            refused(
                Adam::new(0.1).try_weight_decay(v),
                "Adam",
                "the weight decay",
                v,
            );
        }
        let decoupled = Adam::adamw(0.1f64, 0.5);
        same(
            decoupled.try_weight_decay(0.01),
            Adam::new(0.1).weight_decay(0.01),
        );
    }

    #[test]
    fn adam_try_decoupled_weight_decay() {
        for v in BAD_NON_NEGATIVE {
            let opt = Adam::new(0.1).try_decoupled_weight_decay(v);
            refused(opt, "Adam", "the weight decay", v);
        }
        let l2 = Adam::new(0.1f64).weight_decay(0.5);
        let expected = Adam::new(0.1).decoupled_weight_decay(0.01);
        same(l2.try_decoupled_weight_decay(0.01), expected);
    }

    #[test]
    fn adam_try_set_learning_rate() {
        let mut opt = Adam::new(0.1f64);
        for v in BAD_NON_NEGATIVE {
            refused(opt.try_set_learning_rate(v), "Adam", "the learning rate", v);
            assert_eq!(opt.learning_rate(), 0.1, "a refused rate is not kept");
        }
        let mut other = Adam::new(0.1f64);
        other.set_learning_rate(0.5);
        same(opt.try_set_learning_rate(0.5).map(|()| opt.clone()), other);
    }

    #[test]
    fn sdlm_try_new() {
        for v in BAD_NON_NEGATIVE {
            refused(Sdlm::try_new(v, 0.1), "Sdlm", "epsilon", v);
        }
        for v in BAD_POSITIVE {
            refused(Sdlm::try_new(0.1, v), "Sdlm", "mu", v);
        }
        same(Sdlm::try_new(0.05f64, 0.1), Sdlm::new(0.05, 0.1));
    }

    #[test]
    fn sdlm_try_samples() {
        refused(
            Sdlm::new(0.1f64, 0.1).try_samples(0),
            "Sdlm",
            "the sample count",
            0.0,
        );
        same(
            Sdlm::new(0.1f64, 0.1).try_samples(7),
            Sdlm::new(0.1, 0.1).samples(7),
        );
    }

    #[test]
    fn sdlm_try_set_epsilon() {
        let mut opt = Sdlm::new(0.1f64, 0.1);
        for v in BAD_NON_NEGATIVE {
            refused(opt.try_set_epsilon(v), "Sdlm", "epsilon", v);
            assert_eq!(opt.epsilon(), 0.1, "a refused epsilon is not kept");
        }
        let mut other = Sdlm::new(0.1f64, 0.1);
        other.set_epsilon(0.5);
        same(opt.try_set_epsilon(0.5).map(|()| opt.clone()), other);
    }

    #[test]
    #[should_panic(expected = "Sdlm: the sample count must be at least 1, got 0")]
    fn the_panicking_forms_panic_with_the_message() {
        let _ = Sdlm::new(0.1f32, 0.1).samples(0);
    }

    #[test]
    fn f32_values_are_reported_as_f64() {
        let e = Sgd::try_new(-0.5f32).unwrap_err();
        assert_eq!((e.value, e.rule), (-0.5, "finite and >= 0"));
        assert!(std::error::Error::source(&e).is_none());
    }
}
