//! `f64` `eˣ` and `eˣ − 1` (for `x ≤ 0`), `ln(1 + x)` (for `0 ≤ x ≤ 1`), and
//! `tanh` and `σ` built on them, with no calls and no branches, so that the
//! compiler vectorises them two values to a register, each within 4 units
//! in the last place of `libm` (checked below).
//!
//! The counterpart of [`fastmath`](super::fastmath) for `f64`, where
//! Taylor polynomials of higher degree stand in for fitted ones. A leaf, as
//! that module is. The row functions take `FUSED` as those do.

/// `h = tanh(z)` along a row, as `sign(z)·(−t)/(2 + t)` with
/// `t = e^{−2|z|} − 1`, which has no cancellation at any `z`.
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(crate) fn tanh_row<const FUSED: bool>(z: &[f64], h: &mut [f64]) {
    for (h, &z) in h.iter_mut().zip(z) {
        let magnitude = f64::from_bits(z.to_bits() & !SIGN);
        let t = exp_m1_nonpositive::<FUSED>(-2.0 * magnitude);
        let tanh = -t / (2.0 + t);
        *h = f64::from_bits(tanh.to_bits() | (z.to_bits() & SIGN));
    }
}

/// `h = σ(z)` along a row, as `n / (1 + e^{−|z|})`, `n = 1` for `z ≥ 0` and
/// `n = e^{−|z|}` below.
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(crate) fn sigmoid_row<const FUSED: bool>(z: &[f64], h: &mut [f64]) {
    for (h, &z) in h.iter_mut().zip(z) {
        let e = exp_nonpositive::<FUSED>(-f64::from_bits(z.to_bits() & !SIGN));
        let numerator = if z >= 0.0 { 1.0 } else { e };
        *h = numerator / (1.0 + e);
    }
}

/// `x = eˣ` in place along a row of values `≤ 0` (or NaN).
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(crate) fn exp_nonpositive_row<const FUSED: bool>(x: &mut [f64]) {
    for x in x {
        *x = exp_nonpositive::<FUSED>(*x);
    }
}

/// [`exp_nonpositive_row`] without fused multiply-adds, out of line: a
/// function compiled once, in this crate, for the callers that need no
/// copy of it in their own.
#[inline(never)]
pub(crate) fn exp_nonpositive_row_outlined(x: &mut [f64]) {
    exp_nonpositive_row::<false>(x);
}

/// `x = eˣ − 1` in place along a row of values `≤ 0` (or NaN).
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(crate) fn exp_m1_nonpositive_row<const FUSED: bool>(x: &mut [f64]) {
    for x in x {
        *x = exp_m1_nonpositive::<FUSED>(*x);
    }
}

/// `x = erfc(x)` in place along a row: `libm`'s, value by value (a
/// vectorisable `f64` erfc is still to be written).
#[inline]
pub(crate) fn erfc_row<const FUSED: bool>(x: &mut [f64]) {
    for x in x {
        *x = libm::erfc(*x);
    }
}

/// `x = ln(1 + x)` in place along a row of values in `[0, 1]` (or NaN).
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(crate) fn ln_1p_unit_row<const FUSED: bool>(x: &mut [f64]) {
    for x in x {
        *x = ln_1p_unit::<FUSED>(*x);
    }
}

/// `a·b + c`: with `FUSED`, rounded once, as `fastmath`'s.
#[inline(always)]
#[allow(clippy::inline_always)]
fn multiply_add<const FUSED: bool>(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(feature = "std")]
    if FUSED {
        return a.mul_add(b, c);
    }
    a * b + c
}

/// The sign bit.
const SIGN: u64 = 1 << 63;

/// `ln 2` in two parts: the first with 32 significant bits, so that its
/// products with integers below `2²¹` are exact.
const LN_2_HIGH: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN_2_LOW: f64 = 1.908_214_929_270_587_7e-10;

/// `eʳ − 1` for `|r| ≤ ln 2 / 2`: `r + r²·q(r)` with `q` the Taylor series
/// of `(eʳ − 1 − r)/r²` to `r¹¹`, whose remainder is below `10⁻¹⁷` of the
/// result.
#[inline(always)]
#[allow(clippy::inline_always)]
fn exp_m1_reduced<const FUSED: bool>(r: f64) -> f64 {
    /// `1/k!` for `k = 2, …, 13`.
    const INVERSE_FACTORIALS: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let r2 = r * r;
    multiply_add::<FUSED>(r2, estrin::<FUSED>(&INVERSE_FACTORIALS, r, r2), r)
}

/// `Σ cₖ·xᵏ` for twelve coefficients by Estrin's scheme, given `x²`: pairs
/// `c₂ⱼ + c₂ⱼ₊₁·x`, then pairs of those in `x²`, then in `x⁴`. Its chain of
/// dependent operations is a third of Horner's, and the chain is the time
/// a row of a few values takes.
#[inline(always)]
#[allow(clippy::inline_always)]
fn estrin<const FUSED: bool>(c: &[f64; 12], x: f64, x2: f64) -> f64 {
    let multiply_add = multiply_add::<FUSED>;
    let x4 = x2 * x2;
    let pair = |k: usize| multiply_add(c[2 * k + 1], x, c[2 * k]);
    let quad = |k: usize| multiply_add(pair(2 * k + 1), x2, pair(2 * k));
    multiply_add(x4, multiply_add(quad(2), x4, quad(1)), quad(0))
}

/// `(n, r)` with `x = n·ln 2 + r`, `|r| ≤ ln 2 / 2`, for `x` between
/// about `−2⁵¹` and 0: `n` by adding `1.5·2⁵²`, `ln 2` in two parts (the
/// first with 32 bits, so that `n·ln 2` of it is exact).
#[inline(always)]
#[allow(clippy::inline_always)]
fn reduce<const FUSED: bool>(x: f64) -> (i64, f64) {
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let rounded = multiply_add::<FUSED>(x, core::f64::consts::LOG2_E, ROUND);
    #[allow(clippy::cast_possible_wrap)]
    let n = (rounded.to_bits() as i64).wrapping_sub(ROUND.to_bits() as i64);
    let n_float = rounded - ROUND;
    let r = multiply_add::<FUSED>(n_float, -LN_2_HIGH, x);
    (n, multiply_add::<FUSED>(n_float, -LN_2_LOW, r))
}

/// `2ᵏ` for `−1022 ≤ k ≤ 1023`, built from its bits.
#[inline(always)]
#[allow(clippy::inline_always, clippy::cast_sign_loss)]
fn power_of_two(k: i64) -> f64 {
    f64::from_bits((k.wrapping_add(1023) as u64) << 52)
}

/// `eˣ` for `x ≤ 0`: `2ⁿ·(1 + (eʳ − 1))`, `2ⁿ` applied as two normal
/// powers of two so that subnormal results round once; below `−746`,
/// where `eˣ` rounds to 0, 0 (the comparison keeps NaN).
// Always: a call would leave it outside the AVX2 and FMA copy, where
// `mul_add` is a software routine.
#[inline(always)]
#[allow(clippy::inline_always)]
fn exp_nonpositive<const FUSED: bool>(x: f64) -> f64 {
    let (n, r) = reduce::<FUSED>(x);
    let half = n >> 1;
    let e = (1.0 + exp_m1_reduced::<FUSED>(r))
        * power_of_two(half)
        * power_of_two(n.wrapping_sub(half));
    if x < -746.0 { 0.0 } else { e }
}

/// `eˣ − 1` for `x ≤ 0`: `2ⁿ·(eʳ − 1) + (2ⁿ − 1)`, which for `n ≤ −1` is at
/// most `−0.29`, so the sum loses nothing. Below `−40`, where the result
/// rounds to `−1`, the input is clamped (keeping `2ⁿ` normal); signed
/// zeros are returned as they are, as `libm`'s `expm1` does.
// Always: see `exp_nonpositive`.
#[inline(always)]
#[allow(clippy::inline_always)]
fn exp_m1_nonpositive<const FUSED: bool>(x: f64) -> f64 {
    let clamped = if x < -40.0 { -40.0 } else { x };
    let (n, r) = reduce::<FUSED>(clamped);
    let scale = power_of_two(n);
    let e = multiply_add::<FUSED>(exp_m1_reduced::<FUSED>(r), scale, scale - 1.0);
    if x == 0.0 { x } else { e }
}

/// `ln(1 + x)` for `0 ≤ x ≤ 1`: as `fastmath::ln_1p_unit`, `u = 1 + x` is
/// `m·2ᵏ`, `ln m = 2·atanh s` by its series to `s²¹` (`s² ≤ 0.0295`, so
/// the next term is below `10⁻¹⁸` of the sum), and Goldberg's correction
/// `ln u · x / (u − 1)` undoes the rounding of `u`.
// Always: see `exp_nonpositive`.
#[inline(always)]
#[allow(clippy::inline_always)]
fn ln_1p_unit<const FUSED: bool>(x: f64) -> f64 {
    /// `1/(2j + 1)` for `j = 0, …, 10`, and a 0 that fills Estrin's
    /// twelve.
    const ODD_INVERSES: [f64; 12] = [
        1.0,
        1.0 / 3.0,
        1.0 / 5.0,
        1.0 / 7.0,
        1.0 / 9.0,
        1.0 / 11.0,
        1.0 / 13.0,
        1.0 / 15.0,
        1.0 / 17.0,
        1.0 / 19.0,
        1.0 / 21.0,
        0.0,
    ];
    let u = 1.0 + x;
    let halved = u > core::f64::consts::SQRT_2;
    let m = if halved { 0.5 * u } else { u };
    let k = if halved { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = estrin::<FUSED>(&ODD_INVERSES, s2, s2 * s2);
    let ln_u = multiply_add::<FUSED>(
        k,
        LN_2_HIGH,
        multiply_add::<FUSED>(k, LN_2_LOW, 2.0 * s * series),
    );
    // Exact: `u` is in `[1, 2]`.
    let grown = u - 1.0;
    if grown == 0.0 { x } else { ln_u * x / grown }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `|got − want|` in units in the last place of `want`, subnormals
    /// counted in the smallest normal number's.
    fn ulps(got: f64, want: f64) -> f64 {
        (got - want).abs() / (want.abs().max(f64::MIN_POSITIVE) * f64::EPSILON)
    }

    /// The largest error of `row` against `libm` over `from..=to` in
    /// `steps` steps, three values at a time (scaled by 1, ½ and `tiny`).
    fn worst(row: fn(&mut [f64]), libm: fn(f64) -> f64, from: f64, to: f64, tiny: f64) -> f64 {
        let mut worst = 0.0_f64;
        let steps = 200_000;
        for step in 0..=steps {
            let x = from + (to - from) * f64::from(step) / f64::from(steps);
            let scales = [1.0, 0.5, tiny];
            let mut values = scales.map(|scale| x * scale);
            row(&mut values);
            for (&got, scale) in values.iter().zip(scales) {
                worst = worst.max(ulps(got, libm(x * scale)));
            }
        }
        worst
    }

    fn check_exp_and_exp_m1<const FUSED: bool>() {
        let exp = worst(exp_nonpositive_row::<FUSED>, libm::exp, -760.0, 0.0, 1e-3);
        assert!(exp <= 4.0, "exp: {exp} ulps");
        let exp_m1 = worst(
            exp_m1_nonpositive_row::<FUSED>,
            libm::expm1,
            -50.0,
            0.0,
            1e-9,
        );
        assert!(exp_m1 <= 4.0, "exp_m1: {exp_m1} ulps");
        let mut e = [f64::NEG_INFINITY, f64::NAN, -0.0, 0.0, -1e-310];
        exp_nonpositive_row::<FUSED>(&mut e);
        assert_eq!(e[0].to_bits(), 0.0_f64.to_bits());
        assert!(e[1].is_nan());
        for e in &e[2..] {
            assert_eq!(e.to_bits(), 1.0_f64.to_bits());
        }
        let mut e = [f64::NEG_INFINITY, f64::NAN, -0.0, 0.0, -1e-310];
        exp_m1_nonpositive_row::<FUSED>(&mut e);
        assert_eq!(e[0].to_bits(), (-1.0_f64).to_bits());
        assert!(e[1].is_nan());
        assert_eq!(e[2].to_bits(), (-0.0_f64).to_bits());
        assert_eq!(e[3].to_bits(), 0.0_f64.to_bits());
        assert_eq!(e[4].to_bits(), (-1e-310_f64).to_bits());
    }

    #[test]
    fn exp_and_exp_m1_are_within_a_few_ulps_of_libm() {
        check_exp_and_exp_m1::<false>();
        check_exp_and_exp_m1::<true>();
    }

    fn check_ln_1p<const FUSED: bool>() {
        let ln_1p = worst(ln_1p_unit_row::<FUSED>, libm::log1p, 0.0, 1.0, 1e-12);
        assert!(ln_1p <= 4.0, "ln_1p: {ln_1p} ulps");
        let mut l = [f64::NAN, 0.0, 1.0, 1e-310];
        ln_1p_unit_row::<FUSED>(&mut l);
        assert!(l[0].is_nan());
        assert_eq!(l[1].to_bits(), 0.0_f64.to_bits());
        assert!(ulps(l[2], core::f64::consts::LN_2) <= 1.0);
        assert_eq!(l[3].to_bits(), 1e-310_f64.to_bits());
    }

    #[test]
    fn ln_1p_is_within_a_few_ulps_of_libm() {
        check_ln_1p::<false>();
        check_ln_1p::<true>();
    }

    fn check_tanh_and_sigmoid<const FUSED: bool>() {
        let libm_sigmoid = |z: f64| {
            let e = libm::exp(-z.abs());
            (if z >= 0.0 { 1.0 } else { e }) / (1.0 + e)
        };
        let (mut tanh, mut sigmoid) = (0.0_f64, 0.0_f64);
        for step in 0..=400_000 {
            let z = -40.0 + 80.0 * f64::from(step) / 400_000.0;
            let zs = [z, z * 1e-9, z * 20.0];
            let (mut t, mut s) = ([0.0; 3], [0.0; 3]);
            tanh_row::<FUSED>(&zs, &mut t);
            sigmoid_row::<FUSED>(&zs, &mut s);
            for k in 0..3 {
                tanh = tanh.max(ulps(t[k], libm::tanh(zs[k])));
                sigmoid = sigmoid.max(ulps(s[k], libm_sigmoid(zs[k])));
            }
        }
        assert!(tanh <= 4.0, "tanh: {tanh} ulps");
        assert!(sigmoid <= 4.0, "sigmoid: {sigmoid} ulps");
        let zs = [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -0.0,
            0.0,
            -1e-310,
        ];
        let (mut t, mut s) = ([0.0; 6], [0.0; 6]);
        tanh_row::<FUSED>(&zs, &mut t);
        sigmoid_row::<FUSED>(&zs, &mut s);
        for k in [0, 1, 3, 4, 5] {
            assert_eq!(
                t[k].to_bits(),
                libm::tanh(zs[k]).to_bits(),
                "tanh({})",
                zs[k]
            );
            assert_eq!(
                s[k].to_bits(),
                libm_sigmoid(zs[k]).to_bits(),
                "σ({})",
                zs[k]
            );
        }
        assert!(t[2].is_nan() && s[2].is_nan());
    }

    #[test]
    fn tanh_and_sigmoid_are_within_a_few_ulps_of_libm() {
        check_tanh_and_sigmoid::<false>();
        check_tanh_and_sigmoid::<true>();
    }
}
