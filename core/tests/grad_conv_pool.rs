//! conv2d and max_pool2d: values against naive formulas written out here from the
//! definitions, finite-difference gradient checks in f64 on the reference backend, and
//! bad arguments that must come back as errors.

use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, tolerance_ratio, GradCheck};
use pgcnn_core::{Conv2dOptions, Error, Padding, Param, Tensor};

type T = Tensor<Reference, f64>;

fn rand(rng: &mut Rng, dims: &[usize]) -> T {
    random_tensor(&Reference, rng, dims, -1.0, 1.0).unwrap()
}

fn values(t: &T) -> Vec<f64> {
    t.to_vec().unwrap()
}

/// One convolution to test: sizes, groups, padding and whether it has a bias.
#[derive(Clone, Copy, Debug)]
struct Case {
    batch: usize,
    cin: usize,
    cout: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    groups: usize,
    padding: Padding,
    bias: bool,
}

impl Case {
    fn opts(&self) -> Conv2dOptions {
        Conv2dOptions::new(self.padding).with_groups(self.groups)
    }
    fn pads(&self) -> (usize, usize) {
        match self.padding {
            Padding::Same => ((self.kh - 1) / 2, (self.kw - 1) / 2),
            Padding::Valid => (0, 0),
            Padding::Explicit { h, w } => (h, w),
        }
    }
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Square images and kernels, one group.
    Case { batch: 2, cin: 3, cout: 2, h: 5, w: 5, kh: 3, kw: 3, groups: 1, padding: Padding::Same, bias: true },
    // Non-square image and kernel.
    Case { batch: 1, cin: 2, cout: 3, h: 6, w: 5, kh: 3, kw: 1, groups: 1, padding: Padding::Same, bias: false },
    Case { batch: 1, cin: 1, cout: 2, h: 4, w: 7, kh: 1, kw: 5, groups: 1, padding: Padding::Same, bias: true },
    // Groups 2 and 4.
    Case { batch: 2, cin: 4, cout: 4, h: 5, w: 6, kh: 3, kw: 3, groups: 2, padding: Padding::Same, bias: true },
    Case { batch: 1, cin: 4, cout: 8, h: 4, w: 5, kh: 1, kw: 3, groups: 4, padding: Padding::Same, bias: false },
    // Valid padding, even and odd kernels, a kernel as large as the image.
    Case { batch: 2, cin: 2, cout: 3, h: 5, w: 4, kh: 2, kw: 3, groups: 1, padding: Padding::Valid, bias: true },
    Case { batch: 1, cin: 4, cout: 2, h: 6, w: 5, kh: 3, kw: 2, groups: 2, padding: Padding::Valid, bias: false },
    Case { batch: 2, cin: 4, cout: 4, h: 3, w: 4, kh: 3, kw: 4, groups: 4, padding: Padding::Valid, bias: true },
    // Explicit padding, including more padding than Same would use.
    Case { batch: 2, cin: 3, cout: 3, h: 4, w: 3, kh: 2, kw: 2, groups: 1, padding: Padding::Explicit { h: 1, w: 2 }, bias: true },
    Case { batch: 1, cin: 8, cout: 4, h: 3, w: 5, kh: 3, kw: 3, groups: 4, padding: Padding::Explicit { h: 0, w: 1 }, bias: true },
    Case { batch: 1, cin: 2, cout: 2, h: 3, w: 3, kh: 3, kw: 3, groups: 2, padding: Padding::Explicit { h: 2, w: 2 }, bias: false },
];

/// The convolution straight from its definition:
/// `y[b, co, oy, ox] = bias[co] + Σ_{ci, ky, kx} x[b, g·cig + ci, oy + ky − ph, ox + kx − pw]
/// · w[co, ci, ky, kx]` with `g` the group of `co` and out-of-image inputs read as 0.
fn naive_conv(c: &Case, x: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
    let (ph, pw) = c.pads();
    let oh = c.h + 2 * ph + 1 - c.kh;
    let ow = c.w + 2 * pw + 1 - c.kw;
    let cig = c.cin / c.groups;
    let cog = c.cout / c.groups;
    let mut y = Vec::new();
    for b in 0..c.batch {
        for co in 0..c.cout {
            let g = co / cog;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = bias.map_or(0.0, |bv| bv[co]);
                    for ci in 0..cig {
                        for ky in 0..c.kh {
                            for kx in 0..c.kw {
                                let iy = (oy + ky) as isize - ph as isize;
                                let ix = (ox + kx) as isize - pw as isize;
                                if iy < 0 || ix < 0 || iy >= c.h as isize || ix >= c.w as isize {
                                    continue;
                                }
                                let (iy, ix) = (iy as usize, ix as usize);
                                let xv = x[((b * c.cin + g * cig + ci) * c.h + iy) * c.w + ix];
                                let wv = w[((co * cig + ci) * c.kh + ky) * c.kw + kx];
                                s += xv * wv;
                            }
                        }
                    }
                    y.push(s);
                }
            }
        }
    }
    y
}

fn operands(rng: &mut Rng, c: &Case) -> (T, T, Option<T>) {
    let x = rand(rng, &[c.batch, c.cin, c.h, c.w]);
    let w = rand(rng, &[c.cout, c.cin / c.groups, c.kh, c.kw]);
    let b = c.bias.then(|| rand(rng, &[c.cout]));
    (x, w, b)
}

#[test]
fn conv2d_matches_the_naive_definition() {
    let mut rng = Rng::seed(21);
    for c in CASES {
        let (x, w, b) = operands(&mut rng, c);
        let y = x.conv2d(&w, b.as_ref(), c.opts()).unwrap();
        let (ph, pw) = c.pads();
        let (oh, ow) = (c.h + 2 * ph + 1 - c.kh, c.w + 2 * pw + 1 - c.kw);
        assert_eq!(y.dims(), &[c.batch, c.cout, oh, ow], "{c:?}");
        if c.padding == Padding::Same {
            assert_eq!((oh, ow), (c.h, c.w), "Same keeps the size: {c:?}");
        }
        let bias = b.as_ref().map(values);
        let want = naive_conv(c, &values(&x), &values(&w), bias.as_deref());
        let ratio = tolerance_ratio(&values(&y), &want, 1e-12, 1e-12);
        assert!(ratio <= 1.0, "{c:?}: ratio {ratio}");
    }
}

#[test]
fn conv2d_matches_finite_differences() {
    let mut rng = Rng::seed(22);
    for c in CASES {
        let (x, w, b) = operands(&mut rng, c);
        let opts = c.opts();
        let worst = match b {
            Some(b) => check_gradients(
                &[x, w, b],
                |xs| xs[0].conv2d(&xs[1], Some(&xs[2]), opts),
                GradCheck::default(),
            ),
            None => check_gradients(
                &[x, w],
                |xs| xs[0].conv2d(&xs[1], None, opts),
                GradCheck::default(),
            ),
        }
        .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        println!("{c:?}: worst tolerance ratio {worst:.3}");
    }
}

#[test]
fn bias_gradient_is_the_sum_over_batch_and_space() {
    let mut rng = Rng::seed(23);
    let x = rand(&mut rng, &[2, 3, 4, 5]);
    let w = rand(&mut rng, &[4, 3, 3, 3]);
    let bias = Param::new(rand(&mut rng, &[4]));
    let y = x
        .conv2d(&w, Some(bias.tensor()), Conv2dOptions::default())
        .unwrap();
    let g = rand(&mut rng, y.dims());
    let grads = y.mul(&g).unwrap().sum_all().unwrap().backward().unwrap();
    let got = values(grads.get(&bias).unwrap());
    let gv = values(&g);
    for co in 0..4 {
        let mut want = 0.0;
        for b in 0..2 {
            for p in 0..20 {
                want += gv[(b * 4 + co) * 20 + p];
            }
        }
        assert!((got[co] - want).abs() < 1e-12, "channel {co}");
    }
}

/// Per-sample kernels as one grouped convolution: image `b` of a batch convolved with its
/// own kernels equals the batch folded into channels with `groups = batch`.
#[test]
fn grouped_conv_runs_each_image_with_its_own_kernels() {
    let mut rng = Rng::seed(24);
    let (batch, cin, cout, h, w) = (3, 2, 4, 5, 6);
    let x = rand(&mut rng, &[batch, cin, h, w]);
    let kernels: Vec<T> = (0..batch)
        .map(|_| rand(&mut rng, &[cout, cin, 3, 3]))
        .collect();
    let per_sample = |x: &T, ks: &[T]| -> pgcnn_core::Result<T> {
        let refs: Vec<&T> = ks.iter().collect();
        let wk = T::cat(&refs, 0)?; // [batch·cout, cin, 3, 3]
        let folded = x.reshape(vec![1, batch * cin, h, w])?;
        folded
            .conv2d(&wk, None, Conv2dOptions::default().with_groups(batch))?
            .reshape(vec![batch, cout, h, w])
    };
    let together = per_sample(&x, &kernels).unwrap();
    for (b, k) in kernels.iter().enumerate() {
        let alone = x
            .select(0, b)
            .unwrap()
            .unsqueeze(0)
            .unwrap()
            .conv2d(k, None, Conv2dOptions::default())
            .unwrap();
        let ratio = tolerance_ratio(
            &values(&together.select(0, b).unwrap()),
            &values(&alone),
            1e-12,
            1e-12,
        );
        assert!(ratio <= 1.0, "image {b}: ratio {ratio}");
    }
    let mut inputs = vec![x];
    inputs.extend(kernels);
    check_gradients(
        &inputs,
        |xs| per_sample(&xs[0], &xs[1..]),
        GradCheck::default(),
    )
    .unwrap();
}

fn conv_err(x: &[usize], w: &[usize], bias: Option<&[usize]>, opts: Conv2dOptions) -> Error {
    let b = Reference;
    let x = T::zeros(&b, x.to_vec()).unwrap();
    let w = T::zeros(&b, w.to_vec()).unwrap();
    let bias = bias.map(|d| T::zeros(&b, d.to_vec()).unwrap());
    match x.conv2d(&w, bias.as_ref(), opts) {
        Ok(y) => panic!("expected an error, got {y:?}"),
        Err(e) => e,
    }
}

#[test]
fn bad_convolutions_are_errors() {
    let same = Conv2dOptions::new(Padding::Same);
    let valid = Conv2dOptions::new(Padding::Valid);
    // An even kernel cannot keep the size centred; the message names the kernel.
    let e = conv_err(&[1, 2, 5, 5], &[3, 2, 4, 3], None, same);
    assert!(e.to_string().contains("4x3"), "{e}");
    let e = conv_err(&[1, 2, 5, 5], &[3, 2, 3, 2], None, same);
    assert!(e.to_string().contains("3x2"), "{e}");
    // Groups: zero, not dividing the input channels, not dividing the output channels,
    // and a weight whose input channels do not match channels / groups.
    conv_err(&[1, 4, 5, 5], &[4, 4, 3, 3], None, same.with_groups(0));
    conv_err(&[1, 6, 5, 5], &[4, 2, 3, 3], None, same.with_groups(4));
    conv_err(&[1, 4, 5, 5], &[6, 1, 3, 3], None, same.with_groups(4));
    conv_err(&[1, 4, 5, 5], &[4, 4, 3, 3], None, same.with_groups(2));
    conv_err(&[1, 4, 5, 5], &[4, 3, 3, 3], None, same);
    // Zero channels, zero kernel, empty image.
    conv_err(&[1, 0, 5, 5], &[2, 0, 3, 3], None, same);
    conv_err(&[1, 2, 5, 5], &[0, 2, 3, 3], None, same);
    conv_err(&[1, 2, 5, 5], &[2, 2, 0, 3], None, valid);
    conv_err(&[1, 2, 0, 5], &[2, 2, 1, 1], None, valid);
    // A kernel larger than the (padded) image.
    conv_err(&[1, 2, 3, 5], &[2, 2, 4, 3], None, valid);
    conv_err(&[1, 2, 5, 2], &[2, 2, 3, 3], None, valid);
    conv_err(
        &[1, 2, 2, 2],
        &[2, 2, 5, 5],
        None,
        Conv2dOptions::new(Padding::Explicit { h: 1, w: 1 }),
    );
    conv_err(
        &[1, 2, 2, 2],
        &[2, 2, 3, 3],
        None,
        Conv2dOptions::new(Padding::Explicit {
            h: usize::MAX,
            w: 0,
        }),
    );
    // Wrong ranks and a bias that is not [Cout].
    conv_err(&[2, 5, 5], &[2, 2, 3, 3], None, same);
    conv_err(&[1, 2, 5, 5], &[2, 2, 3], None, same);
    conv_err(&[1, 2, 5, 5], &[3, 2, 3, 3], Some(&[2]), same);
    conv_err(&[1, 2, 5, 5], &[3, 2, 3, 3], Some(&[1, 3]), same);
}

/// 2×2 max pooling from its definition over the last two axes (floor mode).
fn naive_pool(x: &[f64], dims: &[usize]) -> Vec<f64> {
    let r = dims.len();
    let (h, w) = (dims[r - 2], dims[r - 1]);
    let planes: usize = dims[..r - 2].iter().product();
    let mut y = Vec::new();
    for p in 0..planes {
        for i in 0..h / 2 {
            for j in 0..w / 2 {
                let at = |di: usize, dj: usize| x[(p * h + 2 * i + di) * w + 2 * j + dj];
                y.push(at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1)));
            }
        }
    }
    y
}

#[test]
fn max_pool_on_a_hand_made_example() {
    let b = Reference;
    #[rustfmt::skip]
    let x = T::from_slice(&b, &[
        1.0, 5.0, 2.0, 0.0, 9.0,
        3.0, 4.0, 8.0, 7.0, 6.0,
        9.0, 9.0, 9.0, 9.0, 9.0, // the odd last row and column are dropped
    ], [1, 1, 3, 5]).unwrap();
    let p = Param::new(x);
    let y = p.tensor().max_pool2d().unwrap();
    assert_eq!(y.dims(), &[1, 1, 1, 2]);
    assert_eq!(values(&y), vec![5.0, 8.0]);
    let g = y.sum_all().unwrap().backward().unwrap();
    #[rustfmt::skip]
    let want = vec![
        0.0, 1.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 1.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0,
    ];
    assert_eq!(values(g.get(&p).unwrap()), want);

    // A tied window sends its gradient to the first maximum only.
    let tie = Param::new(T::from_slice(&b, &[2.0, 2.0, 1.0, 2.0], [2, 2]).unwrap());
    let y = tie.tensor().max_pool2d().unwrap();
    assert_eq!(values(&y), vec![2.0]);
    let g = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(values(g.get(&tie).unwrap()), vec![1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn max_pool_matches_the_definition_on_any_rank() {
    let mut rng = Rng::seed(25);
    for dims in [
        &[4, 6][..],
        &[5, 7],
        &[2, 3, 4, 4],
        &[2, 3, 5, 4],
        &[2, 1, 3, 5, 7],
        &[1, 2, 2, 2, 2, 3],
    ] {
        let x = rand(&mut rng, dims);
        let y = x.max_pool2d().unwrap();
        let r = dims.len();
        let mut want_dims = dims.to_vec();
        want_dims[r - 2] /= 2;
        want_dims[r - 1] /= 2;
        assert_eq!(y.dims(), &want_dims[..]);
        assert_eq!(values(&y), naive_pool(&values(&x), dims), "{dims:?}");
    }
}

#[test]
fn max_pool_matches_finite_differences() {
    let mut rng = Rng::seed(26);
    for dims in [&[4, 6][..], &[2, 3, 5, 4], &[2, 2, 3, 5, 7]] {
        let x = rand(&mut rng, dims);
        check_gradients(&[x], |xs| xs[0].max_pool2d(), GradCheck::default())
            .unwrap_or_else(|e| panic!("{dims:?}: {e}"));
    }
    // Pooling a convolution's output, as a network does.
    let x = rand(&mut rng, &[1, 2, 6, 5]);
    let w = rand(&mut rng, &[3, 2, 3, 3]);
    check_gradients(
        &[x, w],
        |xs| {
            xs[0]
                .conv2d(&xs[1], None, Conv2dOptions::default())?
                .relu()?
                .max_pool2d()
        },
        GradCheck::default(),
    )
    .unwrap();
}

#[test]
fn pooling_below_one_by_one_is_an_error() {
    let b = Reference;
    for dims in [
        &[4][..],
        &[],
        &[1, 4],
        &[4, 1],
        &[2, 3, 1, 8],
        &[2, 3, 8, 1],
    ] {
        let x = T::zeros(&b, dims.to_vec()).unwrap();
        match x.max_pool2d() {
            Err(Error::BadShape { .. }) => {}
            other => panic!("{dims:?}: expected BadShape, got {other:?}"),
        }
    }
    let e = T::zeros(&b, vec![2, 1, 5])
        .unwrap()
        .max_pool2d()
        .unwrap_err();
    assert!(e.to_string().contains("below 1x1"), "{e}");
}

#[test]
fn weight_gradient_is_the_same_whether_or_not_the_input_needs_one() {
    // conv2d skips the input gradient of an input outside the graph (a network's
    // images); the weight gradient must not change, and gradients of both must still
    // come when both are parameters.
    let mut rng = Rng::seed(11);
    let (x, w, g) = (
        rand(&mut rng, &[2, 3, 5, 5]),
        rand(&mut rng, &[4, 3, 3, 3]),
        rand(&mut rng, &[2, 4, 5, 5]),
    );
    let opts = Conv2dOptions::new(Padding::Same);
    let loss = |x: &T, w: &T| {
        x.conv2d(w, None, opts)
            .unwrap()
            .mul(&g)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let wp = Param::new(w.clone());
    let only_w = loss(&x, wp.tensor()).backward().unwrap();
    let (xp, wp2) = (Param::new(x.clone()), Param::new(w.clone()));
    let both = loss(xp.tensor(), wp2.tensor()).backward().unwrap();
    assert_eq!(
        values(only_w.get(&wp).unwrap()),
        values(both.get(&wp2).unwrap())
    );
    assert!(both.get(&xp).is_some());
}
