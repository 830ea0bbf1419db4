//! Host-side planning of strided kernels: merging axes that can be walked as one, and
//! the parameter blocks the broadcast and gather kernels take by value.
//!
//! Fewer axes means fewer divisions per element on the GPU, and the common cases (same
//! shape, a scalar or a per-channel operand, a batched transpose) reduce to one to three
//! axes. Everything here is plain arithmetic on sizes, tested without a GPU.

use crate::kernels::MAX_RANK;
use cudarc::driver::DeviceRepr;

const RANK: usize = MAX_RANK as usize;

/// Output dims and the element strides of two operands, with no size-1 axes and no two
/// neighbouring axes that both operands walk as one.
pub(crate) fn coalesce_broadcast(
    dims: &[usize],
    a: &[usize],
    b: &[usize],
) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let (mut d, mut sa, mut sb): (Vec<usize>, Vec<usize>, Vec<usize>) = (vec![], vec![], vec![]);
    for ax in 0..dims.len() {
        if dims[ax] == 1 {
            continue;
        }
        if let Some(last) = d.len().checked_sub(1) {
            // The previous (outer) axis continues this one for both operands.
            if sa[last] == a[ax] * dims[ax] && sb[last] == b[ax] * dims[ax] {
                d[last] *= dims[ax];
                sa[last] = a[ax];
                sb[last] = b[ax];
                continue;
            }
        }
        d.push(dims[ax]);
        sa.push(a[ax]);
        sb.push(b[ax]);
    }
    (d, sa, sb)
}

/// A permute reduced to its essentials: input dims and a permutation of them, with
/// size-1 axes dropped and runs of axes that stay adjacent and in order merged.
pub(crate) fn coalesce_permute(dims: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<usize>) {
    // Input axes that survive (size > 1), renumbered in input order.
    let kept: Vec<usize> = (0..dims.len()).filter(|&i| dims[i] != 1).collect();
    let renumber = |i: usize| kept.iter().position(|&k| k == i);
    let perm: Vec<usize> = perm.iter().filter_map(|&p| renumber(p)).collect();
    let dims: Vec<usize> = kept.iter().map(|&i| dims[i]).collect();
    // Group output positions into runs whose input axes are consecutive.
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for &p in &perm {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|&l| l + 1 == p) => run.push(p),
            _ => runs.push(vec![p]),
        }
    }
    // Each run becomes one input axis; number the runs by where they start in the input.
    let mut starts: Vec<usize> = runs.iter().map(|r| r[0]).collect();
    starts.sort_unstable();
    let in_dims: Vec<usize> = starts
        .iter()
        .map(|s| {
            let run = runs
                .iter()
                .find(|r| r[0] == *s)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            run.iter().map(|&i| dims[i]).product()
        })
        .collect();
    let new_perm: Vec<usize> = runs
        .iter()
        .map(|r| starts.iter().position(|&s| s == r[0]).unwrap_or(0))
        .collect();
    (in_dims, new_perm)
}

/// The shape of a coalesced permute, for choosing a kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PermutePlan {
    /// The data does not move: a plain copy.
    Copy,
    /// `[batch, rows, cols] -> [batch, cols, rows]`.
    Transpose {
        batch: usize,
        rows: usize,
        cols: usize,
    },
    /// Anything else: output dims and, per output axis, the input stride.
    Gather {
        dims: Vec<usize>,
        strides: Vec<usize>,
    },
}

/// Chooses how to run `permute(x, dims, perm)`.
pub(crate) fn plan_permute(dims: &[usize], perm: &[usize]) -> PermutePlan {
    let (d, p) = coalesce_permute(dims, perm);
    match p.as_slice() {
        [] | [0] => PermutePlan::Copy,
        [1, 0] => PermutePlan::Transpose {
            batch: 1,
            rows: d[0],
            cols: d[1],
        },
        [0, 2, 1] => PermutePlan::Transpose {
            batch: d[0],
            rows: d[1],
            cols: d[2],
        },
        _ => {
            let in_strides = pgcnn_core::shape::contiguous_strides(&d);
            PermutePlan::Gather {
                dims: p.iter().map(|&i| d[i]).collect(),
                strides: p.iter().map(|&i| in_strides[i]).collect(),
            }
        }
    }
}

/// Largest element offset `dims`/`strides` reach (0 for an empty or rank-0 walk).
pub(crate) fn max_offset(dims: &[usize], strides: &[usize]) -> usize {
    dims.iter()
        .zip(strides)
        .map(|(&d, &s)| d.saturating_sub(1) * s)
        .sum()
}

/// An index type of the strided kernels: u32 where every offset fits, else u64.
pub(crate) trait Index: Copy + Default + DeviceRepr {
    fn from_usize(v: usize) -> Self;
}
impl Index for u32 {
    fn from_usize(v: usize) -> Self {
        v as u32
    }
}
impl Index for u64 {
    fn from_usize(v: usize) -> Self {
        v as u64
    }
}

/// True when sizes and offsets up to `largest` may use 32-bit indices (with headroom so
/// that a grid-stride step cannot wrap).
pub(crate) fn fits_u32(largest: usize) -> bool {
    largest < (1usize << 31)
}

/// Parameter block of `binary_bcast_*`: the C++ `Broadcast<I>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BroadcastArgs<I> {
    dims: [I; RANK],
    a: [I; RANK],
    b: [I; RANK],
    rank: I,
}

// SAFETY: plain integers, laid out as the C++ struct (same order, same element type).
unsafe impl DeviceRepr for BroadcastArgs<u32> {}
// SAFETY: as above.
unsafe impl DeviceRepr for BroadcastArgs<u64> {}

impl<I: Index> BroadcastArgs<I> {
    /// `None` when there are more than MAX_RANK axes.
    pub(crate) fn new(dims: &[usize], a: &[usize], b: &[usize]) -> Option<Self> {
        if dims.len() > RANK {
            return None;
        }
        let mut s = Self::default();
        for i in 0..dims.len() {
            s.dims[i] = I::from_usize(dims[i]);
            s.a[i] = I::from_usize(a[i]);
            s.b[i] = I::from_usize(b[i]);
        }
        s.rank = I::from_usize(dims.len());
        Some(s)
    }
}

/// Parameter block of `permute_*`: the C++ `Gather<I>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GatherArgs<I> {
    dims: [I; RANK],
    src: [I; RANK],
    rank: I,
}

// SAFETY: plain integers, laid out as the C++ struct.
unsafe impl DeviceRepr for GatherArgs<u32> {}
// SAFETY: as above.
unsafe impl DeviceRepr for GatherArgs<u64> {}

impl<I: Index> GatherArgs<I> {
    /// `None` when there are more than MAX_RANK axes.
    pub(crate) fn new(dims: &[usize], src: &[usize]) -> Option<Self> {
        if dims.len() > RANK {
            return None;
        }
        let mut s = Self::default();
        for i in 0..dims.len() {
            s.dims[i] = I::from_usize(dims[i]);
            s.src[i] = I::from_usize(src[i]);
        }
        s.rank = I::from_usize(dims.len());
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgcnn_core::backend::{Backend, BroadcastLayout};
    use pgcnn_core::reference::Reference;
    use pgcnn_core::shape::contiguous_strides;

    /// Offsets visited by a strided walk, in row-major output order.
    fn walk(dims: &[usize], strides: &[usize]) -> Vec<usize> {
        let n: usize = dims.iter().product();
        (0..n)
            .map(|mut i| {
                let mut off = 0;
                for ax in (0..dims.len()).rev() {
                    off += (i % dims[ax]) * strides[ax];
                    i /= dims[ax];
                }
                off
            })
            .collect()
    }

    #[test]
    fn same_shape_becomes_one_axis() {
        let d = [2, 3, 4];
        let s = contiguous_strides(&d);
        assert_eq!(coalesce_broadcast(&d, &s, &s), (vec![24], vec![1], vec![1]));
    }

    #[test]
    fn per_channel_operand_keeps_three_axes() {
        // [b, c, h, w] + [1, c, 1, 1]: batch and spatial axes merge, the channel stays.
        let d = [4, 3, 5, 6];
        let a = contiguous_strides(&d);
        let b = [0, 1, 0, 0];
        let (cd, ca, cb) = coalesce_broadcast(&d, &a, &b);
        assert_eq!(cd, vec![4, 3, 30]);
        assert_eq!(walk(&cd, &ca), walk(&d, &a));
        assert_eq!(walk(&cd, &cb), walk(&d, &b));
    }

    #[test]
    fn coalesced_broadcast_visits_the_same_offsets() {
        let cases: Vec<(Vec<usize>, Vec<usize>, Vec<usize>)> = vec![
            (vec![2, 1, 3, 4], vec![12, 12, 4, 1], vec![0, 0, 0, 1]),
            (vec![5, 1, 1], vec![1, 1, 1], vec![0, 0, 0]),
            (vec![3, 4, 5, 2], vec![40, 10, 2, 1], vec![0, 5, 1, 0]),
            (vec![], vec![], vec![]),
            (vec![1, 1], vec![1, 1], vec![1, 1]),
        ];
        for (d, a, b) in cases {
            let (cd, ca, cb) = coalesce_broadcast(&d, &a, &b);
            assert!(cd.iter().all(|&x| x > 1));
            assert_eq!(walk(&cd, &ca), walk(&d, &a), "{d:?}");
            assert_eq!(walk(&cd, &cb), walk(&d, &b), "{d:?}");
        }
    }

    #[test]
    fn broadcast_agrees_with_the_reference_layout() {
        // The reference computes offsets with the uncoalesced layout.
        let layout = BroadcastLayout {
            out_dims: vec![2, 3, 4],
            a_strides: vec![12, 4, 1],
            b_strides: vec![0, 1, 0],
        };
        let a: Vec<f64> = (0..24).map(f64::from).collect();
        let b: Vec<f64> = (0..3).map(|v| 100.0 * f64::from(v)).collect();
        let want = Reference
            .binary(pgcnn_core::backend::BinaryOp::Add, &a, &b, &layout)
            .unwrap();
        let (d, sa, sb) =
            coalesce_broadcast(&layout.out_dims, &layout.a_strides, &layout.b_strides);
        let got: Vec<f64> = walk(&d, &sa)
            .into_iter()
            .zip(walk(&d, &sb))
            .map(|(i, j)| a[i] + b[j])
            .collect();
        assert_eq!(got, want);
    }

    fn permute_reference(dims: &[usize], perm: &[usize]) -> Vec<usize> {
        let x: Vec<f64> = (0..dims.iter().product::<usize>())
            .map(|v| v as f64)
            .collect();
        Reference
            .permute(&x, dims, perm)
            .unwrap()
            .into_iter()
            .map(|v| v as usize)
            .collect()
    }

    fn run_plan(dims: &[usize], perm: &[usize]) -> Vec<usize> {
        let n: usize = dims.iter().product();
        match plan_permute(dims, perm) {
            PermutePlan::Copy => (0..n).collect(),
            PermutePlan::Transpose { batch, rows, cols } => {
                assert_eq!(batch * rows * cols, n);
                let mut out = Vec::with_capacity(n);
                for b in 0..batch {
                    for c in 0..cols {
                        for r in 0..rows {
                            out.push((b * rows + r) * cols + c);
                        }
                    }
                }
                out
            }
            PermutePlan::Gather { dims, strides } => walk(&dims, &strides),
        }
    }

    #[test]
    fn permute_plans_match_the_reference() {
        let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
            (vec![2, 3], vec![1, 0]),
            (vec![2, 3, 4], vec![0, 2, 1]),
            (vec![2, 3, 4], vec![1, 0, 2]),
            (vec![2, 3, 4], vec![2, 0, 1]),
            (vec![2, 3, 4, 5], vec![0, 1, 3, 2]),
            (vec![2, 3, 4, 5], vec![3, 2, 1, 0]),
            (vec![2, 1, 4, 1, 3], vec![4, 3, 2, 1, 0]),
            (vec![2, 3, 4, 5, 6], vec![0, 3, 4, 1, 2]),
            (vec![1, 1, 1], vec![2, 0, 1]),
            (vec![3], vec![0]),
            (vec![], vec![]),
            (vec![4, 5], vec![0, 1]),
        ];
        for (d, p) in cases {
            assert_eq!(run_plan(&d, &p), permute_reference(&d, &p), "{d:?} {p:?}");
        }
    }

    #[test]
    fn permute_plan_shapes() {
        assert_eq!(plan_permute(&[4, 5], &[0, 1]), PermutePlan::Copy);
        assert_eq!(
            plan_permute(&[2, 3, 4, 5], &[0, 1, 3, 2]),
            PermutePlan::Transpose {
                batch: 6,
                rows: 4,
                cols: 5
            }
        );
        assert_eq!(
            plan_permute(&[2, 3, 4, 5], &[2, 3, 0, 1]),
            PermutePlan::Transpose {
                batch: 1,
                rows: 6,
                cols: 20
            }
        );
    }

    #[test]
    fn max_offsets() {
        assert_eq!(max_offset(&[2, 3], &[3, 1]), 5);
        assert_eq!(max_offset(&[2, 3], &[0, 1]), 2);
        assert_eq!(max_offset(&[], &[]), 0);
    }

    #[test]
    fn argument_blocks_have_the_c_layout() {
        assert_eq!(
            std::mem::size_of::<BroadcastArgs<u32>>(),
            4 * (3 * RANK + 1)
        );
        assert_eq!(
            std::mem::size_of::<BroadcastArgs<u64>>(),
            8 * (3 * RANK + 1)
        );
        assert_eq!(std::mem::size_of::<GatherArgs<u32>>(), 4 * (2 * RANK + 1));
        assert_eq!(std::mem::size_of::<GatherArgs<u64>>(), 8 * (2 * RANK + 1));
        assert!(
            BroadcastArgs::<u32>::new(&[1; RANK + 1], &[1; RANK + 1], &[1; RANK + 1]).is_none()
        );
    }
}
