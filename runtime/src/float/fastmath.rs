//! `f32` `tanh`, `σ`, `eˣ` and `eˣ − 1` (for `x ≤ 0`), `ln(1 + x)` (for
//! `0 ≤ x ≤ 1`) and `erfc` with no calls and no branches, so that the compiler
//! vectorises them, each within 4 units in the last place of `libm`
//! (checked below).
//!
//! A leaf: it uses nothing else of the crate. [`Float`](crate::Float)'s
//! row functions for `f32` are these, so the kernels, the activations,
//! softmax and the fused cross-entropy all compute the same values.

/// `h = tanh(z)` along a row: Eigen's rational approximation
/// ([`rational_tanh`]) value by value, which the compiler vectorises;
/// `FUSED`, its polynomials by fused multiply-adds.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(crate) fn tanh_row<const FUSED: bool>(z: &[f32], h: &mut [f32]) {
    for (h, &z) in h.iter_mut().zip(z) {
        *h = rational_tanh::<FUSED>(z);
    }
}

/// `a·b + c`: with `FUSED`, rounded once, which is one instruction in a
/// function compiled for FMA (`std`'s `mul_add`; without `std` there is no
/// such function, and the product is rounded first).
#[inline(always)]
#[allow(clippy::inline_always)]
fn multiply_add<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    if FUSED {
        return a.mul_add(b, c);
    }
    a * b + c
}

/// `Σ cₖ·tᵏ` as `E(t²) + t·O(t²)`, the even and the odd coefficients each
/// by Horner's scheme in `t²`: two chains of dependent multiply-adds, each
/// half as long as Horner's one, and the chain is the time a layer's few
/// vectors of values wait for.
#[inline(always)]
#[allow(clippy::inline_always)]
fn even_odd_horner<const FUSED: bool, const N: usize>(c: &[f32; N], t: f32) -> f32 {
    let t2 = t * t;
    let (mut even, mut odd) = (0.0, 0.0);
    for k in (0..N).rev() {
        if k % 2 == 0 {
            even = multiply_add::<FUSED>(even, t2, c[k]);
        } else {
            odd = multiply_add::<FUSED>(odd, t2, c[k]);
        }
    }
    multiply_add::<FUSED>(odd, t, even)
}

/// `h = σ(z)` along a row, in vector registers: rows of [`WIDE_ROW`] values
/// or more eight at a time (one AVX2 register, two of the baseline CPU's),
/// shorter ones four at a time, as the baseline CPU's registers hold; the
/// last few padded to four, so that a layer of 3 goes through the
/// polynomial once, not once per value.
// Always: a tiny network's whole step is one chain of operations, and a
// call in it costs more than the sigmoid.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(crate) fn sigmoid_row<const FUSED: bool>(z: &[f32], h: &mut [f32]) {
    if z.len() >= WIDE_ROW {
        sigmoid_row_by::<8, FUSED>(z, h);
    } else {
        sigmoid_row_by::<4, FUSED>(z, h);
    }
}

/// Rows of at least this many values go through the row functions eight at
/// a time: with shorter ones, as a tiny network's, its training step took
/// about 5% longer than four at a time.
const WIDE_ROW: usize = 16;

/// [`sigmoid_row`], `LANES` (8 or 4) values at a time, then four.
#[inline(always)]
#[allow(clippy::inline_always)]
fn sigmoid_row_by<const LANES: usize, const FUSED: bool>(z: &[f32], h: &mut [f32]) {
    // One loop over the whole chunks, as in `by_lanes_of`.
    let whole = z.len() - z.len() % LANES;
    let (z_chunks, z_rest) = z.split_at(whole);
    let (h_chunks, h_rest) = h.split_at_mut(whole);
    for (h, &z) in h_chunks.iter_mut().zip(z_chunks) {
        *h = sigmoid::<FUSED>(z);
    }
    let (z_four, z_rest) = z_rest.as_chunks::<4>();
    let (h_four, h_rest) = h_rest.as_chunks_mut::<4>();
    if let (Some(z), Some(h)) = (z_four.first(), h_four.first_mut()) {
        sigmoid_lanes::<4, FUSED>(z, h);
    }
    if let Some(&first) = z_rest.first() {
        let (mut z, mut h) = ([first; 4], [0.0; 4]);
        z[..z_rest.len()].copy_from_slice(z_rest);
        sigmoid_lanes::<4, FUSED>(&z, &mut h);
        h_rest.copy_from_slice(&h[..h_rest.len()]);
    }
}

/// `x = eˣ` in place along a row of values `≤ 0` (or NaN) through
/// [`exp_nonpositive`], eight or four at a time ([`by_lanes`]), so that
/// the loop vectorises.
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always, clippy::redundant_closure)]
pub(crate) fn exp_nonpositive_row<const FUSED: bool>(x: &mut [f32]) {
    // A closure marked always: passed as a function, `exp_nonpositive` would go
    // through a call shim that the inliner may leave out of line, outside
    // the AVX2 and FMA copy, as it did `erfc`.
    by_lanes(
        x,
        #[inline(always)]
        |value| exp_nonpositive::<FUSED>(value),
    );
}

/// [`exp_nonpositive_row`] without fused multiply-adds, out of line: a
/// function compiled once, in this crate, for the callers that need no
/// copy of it in their own.
#[inline(never)]
pub(crate) fn exp_nonpositive_row_outlined(x: &mut [f32]) {
    exp_nonpositive_row::<false>(x);
}

/// `x = eˣ − 1` in place along a row of values `≤ 0` (or NaN) through
/// [`exp_m1_nonpositive`], eight or four at a time ([`by_lanes`]).
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always, clippy::redundant_closure)]
pub(crate) fn exp_m1_nonpositive_row<const FUSED: bool>(x: &mut [f32]) {
    // A closure marked always: passed as a function, `exp_m1_nonpositive` would go
    // through a call shim that the inliner may leave out of line, outside
    // the AVX2 and FMA copy, as it did `erfc`.
    by_lanes(
        x,
        #[inline(always)]
        |value| exp_m1_nonpositive::<FUSED>(value),
    );
}

/// `x = ln(1 + x)` in place along a row of values in `[0, 1]` (or NaN)
/// through [`ln_1p_unit`], eight or four at a time ([`by_lanes`]).
// Always: compiled into the forward pass's copy for AVX2 and FMA,
// which a call would leave on the baseline CPU.
#[inline(always)]
#[allow(clippy::inline_always, clippy::redundant_closure)]
pub(crate) fn ln_1p_unit_row<const FUSED: bool>(x: &mut [f32]) {
    // A closure marked always: passed as a function, `ln_1p_unit` would go
    // through a call shim that the inliner may leave out of line, outside
    // the AVX2 and FMA copy, as it did `erfc`.
    by_lanes(
        x,
        #[inline(always)]
        |value| ln_1p_unit::<FUSED>(value),
    );
}

/// `x = erfc(x)` in place along a row through [`erfc`], eight or four at
/// a time ([`by_lanes`]). About 80 operations per vector of values, and
/// still faster than `libm`'s branches to one short rational per value: a
/// `gelu` network's training step (whose backward pass runs on the baseline
/// CPU) takes 0.62 of the time it took with `libm`'s `erfcf`.
#[inline(always)]
#[allow(clippy::inline_always, clippy::redundant_closure)]
pub(crate) fn erfc_row<const FUSED: bool>(x: &mut [f32]) {
    // A closure marked always: passed as a function, `erfc` went through
    // a call shim that the inliner left out of line, outside the AVX2 and
    // FMA copy, where `mul_add` is a software routine (gelu: 4.7 µs).
    by_lanes(
        x,
        #[inline(always)]
        |value| erfc::<FUSED>(value),
    );
}

/// `x = f(x)` in place, as [`sigmoid_row`] goes: eight values at a time in
/// rows of [`WIDE_ROW`] or more, else four, the last few padded to four, so
/// that the loop vectorises.
#[inline(always)]
#[allow(clippy::inline_always)]
fn by_lanes(x: &mut [f32], f: impl Fn(f32) -> f32) {
    if x.len() >= WIDE_ROW {
        by_lanes_of::<8>(x, f);
    } else {
        by_lanes_of::<4>(x, f);
    }
}

/// [`by_lanes`], `LANES` (8 or 4) values at a time, then four.
#[inline(always)]
#[allow(clippy::inline_always)]
fn by_lanes_of<const LANES: usize>(x: &mut [f32], f: impl Fn(f32) -> f32) {
    // The whole chunks as one loop, which the loop vectoriser takes `LANES`
    // at a time. As a loop over chunks, unrolled, the straight-line
    // vectoriser paired the chunks' values instead, two to a register.
    let whole = x.len() - x.len() % LANES;
    let (chunks, rest) = x.split_at_mut(whole);
    for value in chunks {
        *value = f(*value);
    }
    let (four, rest) = rest.as_chunks_mut::<4>();
    if let Some(chunk) = four.first_mut() {
        for value in chunk {
            *value = f(*value);
        }
    }
    if !rest.is_empty() {
        let mut padded = [0.0; 4];
        padded[..rest.len()].copy_from_slice(rest);
        for value in &mut padded {
            *value = f(*value);
        }
        rest.copy_from_slice(&padded[..rest.len()]);
    }
}

/// Eigen's rational approximation of `tanh` (`ptanh_float`), `x·p(x²)/q(x²)`
/// with `p` of degree 12 and `q` of degree 6 (the constant term of `q` set
/// to `p`'s), on the input clamped to ±7.9 (or, fused, replaced by ±1
/// beyond); `tanh(±∞) = ±1`, `tanh(NaN) = NaN`.
// Always: a call would leave it outside the AVX2 and FMA copy, where
// `mul_add` is a software routine.
#[inline(always)]
#[allow(clippy::inline_always)]
#[allow(clippy::cast_possible_truncation)]
fn rational_tanh<const FUSED: bool>(z: f32) -> f32 {
    // Beyond ±7.9 `tanh` is within 3 ulps of ±1; comparisons keep NaN.
    let clamp = 7.905_311_107_635_498_f64 as f32;
    // Fused, the last step below gives ±1 there, so the input needs no
    // clamp (which is two steps on the chain a layer waits for).
    let x = if FUSED {
        z
    } else if z > clamp {
        clamp
    } else if z < -clamp {
        -clamp
    } else {
        z
    };
    let x2 = x * x;
    // The coefficients as Eigen gives them, rounded once to `f32`.
    let c = |value: f64| value as f32;
    let step = |p: f32, coefficient: f64| multiply_add::<FUSED>(p, x2, c(coefficient));
    let mut p = step(c(-2.760_768_477_423_55e-16), 2.000_187_904_824_77e-13);
    p = step(p, -8.604_671_522_137_35e-11);
    p = step(p, 5.122_297_090_371_14e-8);
    p = step(p, 1.485_722_357_179_79e-5);
    p = step(p, 6.372_619_288_754_36e-4);
    p = step(p, 4.893_524_558_917_86e-3);
    let mut q = step(c(1.198_258_394_667_02e-6), 1.185_347_056_866_54e-4);
    q = step(q, 2.268_434_632_439e-3);
    // Eigen's constant term of `q` is 1.3e-7 above `p`'s; equal, the ratio
    // is 1 at 0, so that `x·(p/q)` is `x` for tiny `x` (subnormal, signed
    // zeros) with no select.
    q = step(q, 4.893_524_558_917_86e-3);
    let tanh = x * (p / q);
    // Rounded once, the polynomials' ratio stays 4 ulps below 1 from 7.9
    // on, and `tanh(±∞)` would not be `±1`; beyond, unclamped, it is not
    // a number. NaN fails the comparison and stays.
    if FUSED && x2 >= clamp * clamp {
        1.0_f32.copysign(x)
    } else {
        tanh
    }
}

/// [`sigmoid`] of `N` values, in vector registers.
#[inline(always)]
#[allow(clippy::inline_always)]
fn sigmoid_lanes<const N: usize, const FUSED: bool>(z: &[f32; N], h: &mut [f32; N]) {
    for (h, &z) in h.iter_mut().zip(z) {
        *h = sigmoid::<FUSED>(z);
    }
}

/// `σ(z)` as `n / (1 + e^{−|z|})`, `n = 1` for `z ≥ 0` and `n = e^{−|z|}`
/// below, through [`exp_nonpositive`]: no calls and no branches.
#[inline(always)]
#[allow(clippy::inline_always)]
fn sigmoid<const FUSED: bool>(z: f32) -> f32 {
    let e = exp_nonpositive::<FUSED>(-f32::from_bits(z.to_bits() & 0x7fff_ffff));
    let numerator = if z >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

/// `eˣ` for `x ≤ 0` in `f32`, reduced as Cephes' `expf` does: `x = n·ln 2 + r`
/// with `|r| ≤ ln 2 / 2`, a degree-5 polynomial for `eʳ` (coefficients
/// fitted by `tools/exp_coefficients.py` for the least largest relative
/// error on that interval, 1.05e-7), and `2ⁿ` applied as two normal powers
/// of two built from their bits, one after the other, so that subnormal
/// results round once, as `libm`'s do.
/// Below `−105` the result is 0, as `eˣ` rounds to 0 there. Every step
/// is on the one chain of dependent operations a few values wait for, so
/// the order of the operations keeps it short.
// Always: a call would leave it outside the AVX2 and FMA copy, where
// `mul_add` is a software routine.
#[inline(always)]
#[allow(clippy::inline_always)]
fn exp_nonpositive<const FUSED: bool>(x: f32) -> f32 {
    let multiply_add = multiply_add::<FUSED>;
    let (n, r) = reduce::<FUSED>(x);
    // `1 + r + r²·(c₂ + c₃r + (c₄ + c₅r)·r²)`, in pairs of terms (Estrin's
    // scheme) rather than one term after another (Horner's): its chain of
    // dependent operations, which is all the time a few values take, is
    // half as long.
    let r2 = r * r;
    let low = multiply_add(0.166_671_14, r, 0.499_992_3);
    let high = multiply_add(8.312_533e-3, r, 4.189_013_3e-2);
    let p = multiply_add(r2, high, low);
    let e_r = multiply_add(p, r2, r + 1.0);
    // For `n ≥ −152` each half is at least `2⁻⁷⁶`, a normal number. `eʳ`
    // is scaled by one, then the other, so that only the last product
    // rounds: `2ⁿ` itself is not a number below `2⁻¹⁴⁹`.
    let half = n >> 1;
    let e = e_r * power_of_two(half) * power_of_two(n.wrapping_sub(half));
    // Below −105, where `eˣ` rounds to 0, the steps above make no sense
    // (`r` is far from 0, `n` out of range, and `−∞` gives NaN); the value
    // is replaced at the end rather than the input clamped at the start,
    // which would put one more operation on the chain. The comparison
    // leaves NaN as it is.
    if x < -105.0 { 0.0 } else { e }
}

/// `eˣ − 1` for `x ≤ 0` in `f32`, reduced as [`exp_nonpositive`] is:
/// `2ⁿ·(eʳ − 1) + (2ⁿ − 1)`, where `eʳ − 1 = r + r²·q(r)` has no
/// cancellation and, for `n ≤ −1`, the result is at most `−0.29`, so the
/// sum loses nothing. `q` is `(eʳ − 1 − r)/r²`'s Taylor series to `r⁵`,
/// whose remainder is below `2·10⁻⁸` of `eʳ − 1` for `|r| ≤ ln 2 / 2`
/// (the polynomial of `exp_nonpositive` is fitted for `eʳ`'s error, which
/// is too large a share of a small `eʳ − 1`). Below `−30`, where `eˣ − 1`
/// rounds to `−1`, the input is clamped (which keeps `2ⁿ` a normal
/// number); signed zeros are returned as they are, as `libm`'s `expm1f`
/// does.
// Always: a call would leave it outside the AVX2 and FMA copy, where
// `mul_add` is a software routine.
#[inline(always)]
#[allow(clippy::inline_always)]
fn exp_m1_nonpositive<const FUSED: bool>(x: f32) -> f32 {
    let multiply_add = multiply_add::<FUSED>;
    // The comparison leaves NaN as it is.
    let clamped = if x < -30.0 { -30.0 } else { x };
    let (n, r) = reduce::<FUSED>(clamped);
    // `1/2 + r·(1/6 + r·(1/24 + …))`, innermost first.
    let q = [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 1.0 / 2.0]
        .iter()
        .fold(multiply_add(r, 1.0 / 5040.0, 1.0 / 720.0), |q, &c| {
            multiply_add(q, r, c)
        });
    let scale = power_of_two(n);
    let e = multiply_add(multiply_add(r * r, q, r), scale, scale - 1.0);
    if x == 0.0 { x } else { e }
}

/// `erfc(x) = 1 − erf(x)` in two pieces, both computed and one chosen, so
/// that it has no branch: `1 − x·P(x²)` below 0.5 in magnitude, where it
/// does not cancel, and from 0.5 `e^{−x²}·R(t)/|x|` (with `t` the
/// reciprocal `1/|x|` mapped onto `[−1, 1]`, the magnitude clamped at
/// 10.5, beyond which `erfc` rounds to 0), or 2 minus that below −0.5.
/// `e^{−x²}` is `e^{−h²}·e^{−(x−h)(x+h)}` with `h` the magnitude cut to 12
/// bits, whose square is exact, and the second factor near 1: `x²` rounded
/// would be off by up to 100 ulps of the result near 10. `P` and `R` are
/// fitted by `tools/erfc_coefficients.py` for the least largest relative
/// error (1.4e-9 and 1.7e-9; the whole is within 4 ulps of `libm`'s
/// `erfcf`, checked below). `erfc(∞) = 0`, `erfc(−∞) = 2`,
/// `erfc(NaN) = NaN`.
// Always: a call would leave it outside the AVX2 and FMA copy, where
// `mul_add` is a software routine.
#[inline(always)]
#[allow(clippy::inline_always)]
fn erfc<const FUSED: bool>(x: f32) -> f32 {
    const P: [f32; 5] = [
        // The fit's constant term, `erf'(0)`, to `f32` precision.
        core::f32::consts::FRAC_2_SQRT_PI,
        -0.376_126_08,
        0.112_828_24,
        -0.026_757_244,
        0.004_718_126_3,
    ];
    const R: [f32; 18] = [
        0.420_313_9,
        -0.143_752_05,
        0.033_073_936,
        0.004_322_488,
        -0.012_282_608,
        0.010_323_375,
        -0.006_334_37,
        0.003_091_410_3,
        -0.001_186_371_8,
        -6.172_25e-5,
        0.001_000_336_7,
        -0.000_583_037_73,
        -0.000_515_432_3,
        -5.740_228e-5,
        0.001_087_408_7,
        -0.000_415_311_17,
        -0.000_401_749_45,
        0.000_222_359_03,
    ];
    let magnitude = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    let near = 1.0 - x * even_odd_horner::<FUSED, 5>(&P, x * x);
    let a = magnitude.min(10.5);
    let h = f32::from_bits(a.to_bits() & 0xffff_f000);
    // `e^y` for `y = −(a − h)(a + h)`, at most 0.054 in magnitude: a Taylor
    // polynomial, whose error there (4e-9) is below the fitted exp's.
    let y = -((a - h) * (a + h));
    let exp_y = even_odd_horner::<FUSED, 5>(&[1.0, 1.0, 0.5, 1.0 / 6.0, 1.0 / 24.0], y);
    // One division: `1/a` serves `t` and the final `/a`.
    let inverse = 1.0 / a;
    let scaled = exp_y
        * even_odd_horner::<FUSED, 18>(&R, multiply_add::<FUSED>(1.05, inverse, -1.1))
        * inverse;
    let tail = exp_nonpositive::<FUSED>(-(h * h)) * scaled;
    let far = if x < 0.0 { 2.0 - tail } else { tail };
    // NaN takes the first piece, which keeps it.
    if magnitude >= 0.5 { far } else { near }
}

/// `(n, r)` with `x = n·ln 2 + r`, `|r| ≤ ln 2 / 2`, as Cephes' `expf`
/// reduces.
#[inline(always)]
#[allow(clippy::inline_always)]
fn reduce<const FUSED: bool>(x: f32) -> (i32, f32) {
    /// 1.5 · 2²³: sums with it have a unit in the last place of 1.
    const ROUND: f32 = 12_582_912.0;
    // `n = round(x / ln 2)` without a float-to-int conversion (Rust's
    // saturates, which keeps the compiler from vectorising a few values at
    // once): adding `ROUND` rounds to an integer, which then sits in the
    // low bits of the sum.
    let rounded = multiply_add::<FUSED>(x, core::f32::consts::LOG2_E, ROUND);
    #[allow(clippy::cast_possible_wrap)]
    let n = (rounded.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let n_float = rounded - ROUND;
    // `ln 2` in two parts, so that `r` keeps its low bits.
    let r = multiply_add::<FUSED>(n_float, -0.693_359_4, x);
    (n, multiply_add::<FUSED>(n_float, 2.121_944_4e-4, r))
}

/// `2ᵏ` for `−126 ≤ k ≤ 127`, built from its bits.
#[inline(always)]
#[allow(clippy::inline_always, clippy::cast_sign_loss)]
fn power_of_two(k: i32) -> f32 {
    f32::from_bits((k.wrapping_add(127) as u32) << 23)
}

/// `√2`, where [`ln_1p_unit`] halves `1 + x`.
const SQRT_2: f32 = core::f32::consts::SQRT_2;

/// `ln(1 + x)` for `0 ≤ x ≤ 1` in `f32`: `u = 1 + x` (rounded) is `m·2ᵏ`
/// with `m` in `[√½, √2]` and `k` 0 or 1, `ln m = 2·atanh s`,
/// `s = (m − 1)/(m + 1)`, `|s| ≤ 0.172`, by its series to `s⁹` (the next
/// term is below 5·10⁻⁹ of the sum); then `(x − (u − 1))/u` added undoes
/// the rounding of `u` (`u − 1` is exact), so that where `u` rounds to 1
/// the result is `x`.
// Always: a call would leave it outside the AVX2 and FMA copy, where
// `mul_add` is a software routine.
#[inline(always)]
#[allow(clippy::inline_always)]
fn ln_1p_unit<const FUSED: bool>(x: f32) -> f32 {
    /// `ln 2` in two parts, so that `k·ln 2` keeps its low bits.
    const LN_2_HIGH: f32 = 0.693_145_75;
    const LN_2_LOW: f32 = 1.428_606_8e-6;
    let multiply_add = multiply_add::<FUSED>;
    let u = 1.0 + x;
    let halved = u > SQRT_2;
    let m = if halved { 0.5 * u } else { u };
    let k = if halved { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // `1 + s²·(1/3 + s²·(1/5 + …))`, innermost first.
    let series = [0.2, 1.0 / 3.0, 1.0]
        .iter()
        .fold(multiply_add(s2, 1.0 / 9.0, 1.0 / 7.0), |sum, &c| {
            multiply_add(sum, s2, c)
        });
    let ln_u = multiply_add(k, LN_2_HIGH, multiply_add(k, LN_2_LOW, 2.0 * s * series));
    // Exact: `u` is in `[1, 2]`.
    let grown = u - 1.0;
    // `x = (u − 1) + c`, and `ln(1 + x) = ln u + ln(1 + c/u)`, of which
    // the first term is enough, `c` being below half a unit of 1. Where
    // `u` rounds to 1 it gives `x`, with no select to make a branch of.
    ln_u + (x - grown) / u
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `|got − want|` in units in the last place of `want`; subnormal
    /// values have fewer bits, so their ulps count as the smallest normal
    /// number's.
    fn ulps(got: f32, want: f32) -> f64 {
        let ulp = f64::from(want.abs().max(f32::MIN_POSITIVE)) * f64::from(f32::EPSILON);
        f64::from((got - want).abs()) / ulp
    }

    /// `σ(z)` from `libm`'s `expf`, as `activation::sigmoid` computes it.
    fn libm_sigmoid(z: f32) -> f32 {
        let e = libm::expf(-z.abs());
        let numerator = if z >= 0.0 { 1.0 } else { e };
        numerator / (1.0 + e)
    }

    /// Both forms: multiply-adds rounded twice, and once (software `fma`
    /// here, the instruction in the AVX2 and FMA copy).
    fn check_tanh<const FUSED: bool>() {
        let mut worst = 0.0_f64;
        let mut z = -9.0_f32;
        while z <= 9.0 {
            let mut h = [0.0_f32; 1];
            tanh_row::<FUSED>(&[z], &mut h);
            worst = worst.max(ulps(h[0], libm::tanhf(z)));
            z += 0.000_37;
        }
        assert!(worst <= 4.0, "{worst} ulps (fused: {FUSED})");
        let mut h = [0.0_f32; 5];
        tanh_row::<FUSED>(
            &[f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-30, -0.0],
            &mut h,
        );
        assert_eq!(&h[..2], &[1.0, -1.0]);
        assert!(h[2].is_nan());
        assert_eq!(h[3].to_bits(), 1e-30_f32.to_bits());
        assert!(h[4] == 0.0 && h[4].is_sign_negative());
    }

    #[test]
    fn vectorised_tanh_is_within_a_few_ulps_of_libm() {
        check_tanh::<false>();
        check_tanh::<true>();
    }

    /// The largest error of `row` against `libm`, in ulps, from `x = from`
    /// while `x ≤ to` in steps of `step(x)`, three values at a time (`x`
    /// times each of `scales`), so that one chunk of four is padded.
    fn worst_ulps(
        row: fn(&mut [f32]),
        libm: fn(f32) -> f32,
        (from, to): (f32, f32),
        step: impl Fn(f32) -> f32,
        scales: [f32; 3],
    ) -> f64 {
        let mut worst = 0.0_f64;
        let mut x = from;
        while x <= to {
            let mut values = scales.map(|scale| x * scale);
            row(&mut values);
            for (&got, scale) in values.iter().zip(scales) {
                worst = worst.max(ulps(got, libm(x * scale)));
            }
            x += step(x);
        }
        worst
    }

    fn check_exp<const FUSED: bool>() {
        let worst = worst_ulps(
            exp_nonpositive_row::<FUSED>,
            libm::expf,
            (-110.0, 0.0),
            |_| 0.001_3,
            [1.0, 0.5, 0.25],
        );
        assert!(worst <= 4.0, "{worst} ulps (fused: {FUSED})");
        // Where `eˣ` is the smallest subnormal, it is not rounded to 0 (nor
        // the other way round) but at the odd tie.
        let mut disagreements = 0;
        let mut x = -104.2_f32;
        while x <= -103.4 {
            let mut e = [x];
            exp_nonpositive_row::<FUSED>(&mut e);
            disagreements += usize::from((e[0] == 0.0) != (libm::expf(x) == 0.0));
            x += 1e-5;
        }
        assert!(
            disagreements <= 2,
            "{disagreements} inputs underflow differently"
        );
        let mut e = [f32::NEG_INFINITY, f32::NAN, -0.0, 0.0, -1e4];
        exp_nonpositive_row::<FUSED>(&mut e);
        assert_eq!(e[0].to_bits(), 0.0_f32.to_bits());
        assert!(e[1].is_nan());
        assert_eq!(e[2].to_bits(), 1.0_f32.to_bits());
        assert_eq!(e[3].to_bits(), 1.0_f32.to_bits());
        assert_eq!(e[4].to_bits(), 0.0_f32.to_bits());
    }

    #[test]
    fn vectorised_exp_is_within_a_few_ulps_of_libm() {
        check_exp::<false>();
        check_exp::<true>();
    }

    fn check_exp_m1<const FUSED: bool>() {
        let worst = worst_ulps(
            exp_m1_nonpositive_row::<FUSED>,
            libm::expm1f,
            (-40.0, 0.0),
            // Near 0 in finer steps, where `eˣ − 1` would cancel.
            |x| if x > -0.01 { 1.1e-7 } else { 0.000_91 },
            [1.0, 0.5, 1e-3],
        );
        assert!(worst <= 4.0, "{worst} ulps (fused: {FUSED})");
        let mut e = [f32::NEG_INFINITY, f32::NAN, -0.0, 0.0, -1e-40, -1e4];
        exp_m1_nonpositive_row::<FUSED>(&mut e);
        assert_eq!(e[0].to_bits(), (-1.0_f32).to_bits());
        assert!(e[1].is_nan());
        assert_eq!(e[2].to_bits(), (-0.0_f32).to_bits());
        assert_eq!(e[3].to_bits(), 0.0_f32.to_bits());
        assert_eq!(e[4].to_bits(), (-1e-40_f32).to_bits());
        assert_eq!(e[5].to_bits(), (-1.0_f32).to_bits());
    }

    #[test]
    fn vectorised_exp_m1_is_within_a_few_ulps_of_libm() {
        check_exp_m1::<false>();
        check_exp_m1::<true>();
    }

    fn check_ln_1p<const FUSED: bool>() {
        let worst = worst_ulps(
            ln_1p_unit_row::<FUSED>,
            libm::log1pf,
            (0.0, 1.0),
            |_| 0.000_037,
            [1.0, 1e-4, 1e-9],
        );
        assert!(worst <= 4.0, "{worst} ulps (fused: {FUSED})");
        let mut l = [f32::NAN, 0.0, 1.0, 1e-40, f32::MIN_POSITIVE];
        ln_1p_unit_row::<FUSED>(&mut l);
        assert!(l[0].is_nan());
        assert_eq!(l[1].to_bits(), 0.0_f32.to_bits());
        assert_eq!(l[2].to_bits(), libm::log1pf(1.0).to_bits());
        assert_eq!(l[3].to_bits(), 1e-40_f32.to_bits());
        assert_eq!(l[4].to_bits(), f32::MIN_POSITIVE.to_bits());
    }

    #[test]
    fn vectorised_ln_1p_is_within_a_few_ulps_of_libm() {
        check_ln_1p::<false>();
        check_ln_1p::<true>();
    }

    #[test]
    fn vectorised_erfc_is_within_a_few_ulps_of_libm() {
        check_erfc::<false>();
        check_erfc::<true>();
    }

    fn check_erfc<const FUSED: bool>() {
        let mut worst = worst_ulps(
            erfc_row::<FUSED>,
            libm::erfcf,
            (-6.0, 11.0),
            |_| 0.000_37,
            [1.0, 0.01, 1e-3],
        );
        // Both sides of the pieces' seams, where erfc turns subnormal, and
        // tiny values.
        for x in [
            0.5_f32.next_down(),
            0.5,
            -0.5_f32.next_down(),
            -0.5,
            9.2,
            10.0,
            10.05,
            10.5,
            1e-20,
            -1e-45,
        ] {
            let mut e = [x];
            erfc_row::<FUSED>(&mut e);
            worst = worst.max(ulps(e[0], libm::erfcf(x)));
        }
        assert!(worst <= 4.0, "{worst} ulps (fused: {FUSED})");
        let mut e = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0, 30.0];
        erfc_row::<FUSED>(&mut e);
        assert_eq!(&e[..2], &[0.0, 2.0]);
        assert!(e[2].is_nan());
        assert_eq!(&e[3..], &[1.0, 1.0, 0.0]);
    }

    fn check_sigmoid<const FUSED: bool>() {
        let mut worst = 0.0_f64;
        let mut z = -110.0_f32;
        while z <= 80.0 {
            let mut h = [0.0_f32; 1];
            sigmoid_row::<FUSED>(&[z], &mut h);
            worst = worst.max(ulps(h[0], libm_sigmoid(z)));
            z += 0.001_3;
        }
        assert!(worst <= 4.0, "{worst} ulps (fused: {FUSED})");
        let mut h = [0.0_f32; 5];
        sigmoid_row::<FUSED>(
            &[f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -0.0, -1e4],
            &mut h,
        );
        assert_eq!(h[0].to_bits(), 1.0_f32.to_bits());
        assert_eq!(h[1].to_bits(), 0.0_f32.to_bits());
        assert_eq!(h[4].to_bits(), 0.0_f32.to_bits());
        assert!(h[2].is_nan());
        assert_eq!(h[3].to_bits(), 0.5_f32.to_bits());
    }

    #[test]
    fn vectorised_sigmoid_is_within_a_few_ulps_of_libm() {
        check_sigmoid::<false>();
        check_sigmoid::<true>();
    }
}
