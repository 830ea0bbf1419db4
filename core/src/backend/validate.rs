//! The one validation of the descriptors and of the buffers passed with them. Every
//! backend calls these first, before it computes any size from a descriptor, so that all
//! backends refuse the same inputs, with the same words, and none panics or reads out of
//! bounds on a bad one. What a backend checks beyond them is its own limit (32-bit grid
//! sizes on CUDA, say).
//!
//! Errors are [`Error::Backend`] naming the backend and the primitive, as the backend's
//! other failures are.

use super::desc::{AxisLayout, Conv2dDesc, GemmDesc, NormLayout};
use crate::error::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec;

/// The error of primitive `op` of backend `backend` for a bad input.
pub fn invalid(backend: &'static str, op: &'static str, reason: impl Into<String>) -> Error {
    Error::Backend {
        backend,
        op,
        reason: reason.into(),
    }
}

/// Checks that buffer `what` holds exactly `want` elements.
pub fn check_len(
    backend: &'static str,
    op: &'static str,
    what: &str,
    got: usize,
    want: usize,
) -> Result<()> {
    if got != want {
        return Err(invalid(
            backend,
            op,
            format!("{what} holds {got} elements, the descriptor needs {want}"),
        ));
    }
    Ok(())
}

/// The product of `factors`, or an error when it overflows `usize`.
pub fn checked_product(
    backend: &'static str,
    op: &'static str,
    factors: &[usize],
) -> Result<usize> {
    factors.iter().try_fold(1usize, |acc, &f| {
        acc.checked_mul(f)
            .ok_or_else(|| invalid(backend, op, format!("the sizes {factors:?} overflow")))
    })
}

/// One past the largest offset a strided view of `dims` with `strides` reads (0 when the
/// view is empty), or None on overflow.
fn strided_extent(dims: &[usize], strides: &[usize]) -> Option<usize> {
    if dims.contains(&0) {
        return Some(0);
    }
    let mut last = 0usize;
    for (&d, &s) in dims.iter().zip(strides) {
        last = last.checked_add((d - 1).checked_mul(s)?)?;
    }
    last.checked_add(1)
}

/// The lengths of a convolution's three buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvLens {
    /// `x`: `[batch, in_channels, in_h, in_w]`.
    pub input: usize,
    /// `w`: `[out_channels, in_channels / groups, kernel_h, kernel_w]`.
    pub weight: usize,
    /// `y` (and `dy`): `[batch, out_channels, out_h, out_w]`.
    pub output: usize,
}

impl Conv2dDesc {
    /// Checks what the convolution primitives need of the descriptor before any size is
    /// computed from it: groups (at least 1) dividing both channel counts, a kernel of at
    /// least 1×1 that fits the padded input, sizes that do not overflow. Returns the
    /// lengths of the three buffers.
    pub fn validate(&self, backend: &'static str, op: &'static str) -> Result<ConvLens> {
        let d = self;
        let fail = |reason: &str| Err(invalid(backend, op, format!("{reason} in {d:?}")));
        if d.groups == 0
            || !d.in_channels.is_multiple_of(d.groups)
            || !d.out_channels.is_multiple_of(d.groups)
        {
            return fail("both channel counts must be multiples of groups (at least 1)");
        }
        if d.kernel_h == 0 || d.kernel_w == 0 {
            return fail("the kernel must be at least 1×1");
        }
        let padded = |n: usize, p: usize| p.checked_mul(2).and_then(|p| p.checked_add(n));
        let (h, w) = match (padded(d.in_h, d.pad_h), padded(d.in_w, d.pad_w)) {
            (Some(h), Some(w)) if h >= d.kernel_h && w >= d.kernel_w => (h, w),
            (Some(_), Some(_)) => return fail("the kernel is larger than the padded input"),
            _ => return fail("the padding overflows"),
        };
        let (out_h, out_w) = (h - d.kernel_h + 1, w - d.kernel_w + 1);
        let product = |dims: &[usize]| {
            dims.iter()
                .try_fold(1usize, |a, &b| a.checked_mul(b))
                .ok_or_else(|| invalid(backend, op, format!("the sizes overflow in {d:?}")))
        };
        Ok(ConvLens {
            input: product(&[d.batch, d.in_channels, d.in_h, d.in_w])?,
            weight: product(&[d.out_channels, d.in_per_group(), d.kernel_h, d.kernel_w])?,
            output: product(&[d.batch, d.out_channels, out_h, out_w])?,
        })
    }
}

impl GemmDesc {
    /// Checks that `a` and `b` (of `a_len` and `b_len` elements) hold every element the
    /// product reads, and that the result's size does not overflow. Returns the result's
    /// length, `batch · m · n`.
    pub fn validate(
        &self,
        backend: &'static str,
        op: &'static str,
        a_len: usize,
        b_len: usize,
    ) -> Result<usize> {
        let d = self;
        let (ars, acs) = d.a_strides();
        let (brs, bcs) = d.b_strides();
        for (name, len, rows, cols, rs, cs, bs) in [
            ("a", a_len, d.m, d.k, ars, acs, d.a_batch_stride),
            ("b", b_len, d.k, d.n, brs, bcs, d.b_batch_stride),
        ] {
            let need = strided_extent(&[d.batch, rows, cols], &[bs, rs, cs]).ok_or_else(|| {
                invalid(
                    backend,
                    op,
                    format!("{name} of {d:?} overflows the address space"),
                )
            })?;
            if need > len {
                return Err(invalid(
                    backend,
                    op,
                    format!("{name} holds {len} elements, {d:?} reads {need}"),
                ));
            }
        }
        checked_product(backend, op, &[d.batch, d.m, d.n])
    }
}

impl NormLayout {
    /// Checks the layout (no overflow; at least one value per channel unless there are
    /// no channels) and returns its number of elements.
    pub fn validate(&self, backend: &'static str, op: &'static str) -> Result<usize> {
        let numel = checked_product(backend, op, &[self.outer, self.channels, self.inner])?;
        if self.channels > 0 && self.count() == 0 {
            return Err(invalid(
                backend,
                op,
                format!("{self:?} leaves no values to normalise per channel"),
            ));
        }
        Ok(numel)
    }
}

impl AxisLayout {
    /// The number of elements, or an error when it overflows.
    pub fn validate(&self, backend: &'static str, op: &'static str) -> Result<usize> {
        checked_product(backend, op, &[self.outer, self.len, self.inner])
    }
}

/// The common length of an Adam update's buffers (the parameter's `value`, its `grad`,
/// and the two moments when given), or an error naming the one that differs.
pub fn check_adam_lengths(
    value: usize,
    grad: usize,
    moments: Option<(usize, usize)>,
) -> Result<usize> {
    let mut others = vec![("gradient", grad)];
    if let Some((m, v)) = moments {
        others.push(("first moment", m));
        others.push(("second moment", v));
    }
    for (what, len) in others {
        if len != value {
            return Err(Error::bad_arg(
                "adam_update",
                format!("the {what} holds {len} elements, the parameter {value}"),
            ));
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn conv(groups: usize, k: usize, pad: usize) -> Conv2dDesc {
        Conv2dDesc {
            batch: 2,
            in_channels: 4,
            out_channels: 6,
            groups,
            in_h: 5,
            in_w: 5,
            kernel_h: k,
            kernel_w: k,
            pad_h: pad,
            pad_w: pad,
        }
    }

    #[test]
    fn convolutions_are_checked_before_any_size_is_computed() {
        let lens = conv(2, 3, 1).validate("b", "conv2d").unwrap();
        assert_eq!((lens.input, lens.weight, lens.output), (200, 108, 300));
        for (d, why) in [
            (conv(0, 3, 1), "multiples of groups"),
            (conv(4, 3, 1), "multiples of groups"),
            (conv(2, 0, 1), "at least 1×1"),
            (conv(2, 9, 1), "larger than the padded input"),
            (conv(2, 3, usize::MAX), "padding overflows"),
            (
                Conv2dDesc {
                    batch: usize::MAX,
                    ..conv(2, 3, 1)
                },
                "sizes overflow",
            ),
        ] {
            let e = d.validate("b", "conv2d").unwrap_err().to_string();
            assert!(
                e.starts_with("backend b: conv2d failed: ") && e.contains(why),
                "{e}"
            );
        }
    }

    #[test]
    fn products_read_only_what_their_buffers_hold() {
        let d = GemmDesc {
            batch: 3,
            m: 4,
            n: 5,
            k: 2,
            a_trans: false,
            b_trans: true,
            a_batch_stride: 8,
            b_batch_stride: 0,
        };
        assert_eq!(d.validate("b", "gemm", 24, 10), Ok(60));
        assert!(d.validate("b", "gemm", 23, 10).is_err());
        assert!(d.validate("b", "gemm", 24, 9).is_err());
        let empty = GemmDesc { batch: 0, ..d };
        assert_eq!(empty.validate("b", "gemm", 0, 0), Ok(0));
        let huge = GemmDesc {
            a_batch_stride: usize::MAX,
            ..d
        };
        assert!(huge.validate("b", "gemm", usize::MAX, 10).is_err());
    }

    #[test]
    fn layouts_and_adam_lengths() {
        let l = |outer, channels, inner| NormLayout {
            outer,
            channels,
            inner,
        };
        assert_eq!(l(2, 3, 5).validate("b", "n"), Ok(30));
        assert_eq!(l(2, 0, 5).validate("b", "n"), Ok(0));
        assert!(l(0, 3, 5).validate("b", "n").is_err());
        assert!(l(usize::MAX, 2, 2).validate("b", "n").is_err());
        assert_eq!(check_adam_lengths(4, 4, Some((4, 4))), Ok(4));
        let e = check_adam_lengths(4, 4, Some((4, 3)))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the second moment holds 3 elements, the parameter 4"),
            "{e}"
        );
    }
}
