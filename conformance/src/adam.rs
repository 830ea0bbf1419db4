//! The optimiser family: [`Backend::adam_update`] and [`Backend::adam_update_many`].
//!
//! The trait asks every backend to round the Adam step operation by operation as its
//! default body does (no fused multiply-add), so that training takes bit-identical steps
//! on every backend: every result must equal the reference's bit for bit. Each result of
//! `adam_update_many` must be what `adam_update` gives for that job alone.
//!
//! Cases: fixed single updates (one value and none, odd lengths, a parameter's first
//! update — without moments — and later ones up to the thousandth, with and without
//! weight decay, gradients that are tiny, huge and zero) and a step of 61 parameters
//! (more than one launch carries on CUDA; empty and odd-sized ones, first and later
//! updates, each with its own constants), and random ones (single updates of up to 300
//! values, steps of up to eight parameters). Every case is checked in f32 and f64,
//! against the reference and for repeatability. Buffers of unequal lengths must be
//! errors.

use crate::data::{type_name, uniform};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::{AdamHyper, AdamJob, AdamUpdated, Backend};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU (and a GPU). The work of a case is the
/// number of values it updates.
pub const THOROUGH: Cases = Cases {
    random: 48,
    max_work: 100_000,
    seed: 0xad_a1,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator.
pub const QUICK: Cases = Cases {
    random: 12,
    max_work: 40_000,
    seed: 0xad_a2,
};

/// One parameter's update: its length, whether it is the parameter's first (no moments
/// yet), the weight decay, which update of the parameter it is (1 for the first), and the
/// learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Update {
    pub n: usize,
    pub first: bool,
    pub weight_decay: f64,
    pub t: u32,
    pub lr: f64,
}

impl Update {
    /// The constants of this update (torch.optim.Adam's defaults for the betas and eps).
    pub fn hyper(&self) -> AdamHyper {
        let (beta1, beta2) = (0.9f64, 0.999f64);
        let t = f64::from(self.t);
        AdamHyper {
            beta1,
            beta2,
            eps: 1e-8,
            weight_decay: self.weight_decay,
            step_size: self.lr / (1.0 - beta1.powf(t)),
            bias_correction2_sqrt: (1.0 - beta2.powf(t)).sqrt(),
        }
    }
}

/// One case: a parameter updated alone (`adam_update`), or a step of several at once
/// (`adam_update_many`).
#[derive(Clone, Debug, PartialEq)]
pub enum Case {
    One(Update),
    Many(Vec<Update>),
}

impl Case {
    /// The number of values updated.
    pub fn work(&self) -> usize {
        match self {
            Case::One(u) => u.n,
            Case::Many(us) => us.iter().map(|u| u.n).sum(),
        }
    }
}

fn update(n: usize, first: bool, weight_decay: f64, t: u32) -> Update {
    Update {
        n,
        first,
        weight_decay,
        t,
        lr: 1e-3,
    }
}

/// A step of 61 parameters: sizes 0, 1, 5, 257, 3000 and 33 in turn, every fourth a
/// first update, a third without decay, each with its own step count and learning rate.
pub fn many() -> Vec<Update> {
    let sizes = [0usize, 1, 5, 257, 3000, 33];
    (0..61)
        .map(|i| Update {
            n: sizes[i % sizes.len()],
            first: i % 4 == 1,
            weight_decay: if i % 3 == 0 { 0.0 } else { 1e-4 * i as f64 },
            t: 1 + (i % 7) as u32,
            lr: 1e-3 * (1 + i % 5) as f64,
        })
        .collect()
}

/// The fixed cases.
pub fn fixed() -> Vec<Case> {
    vec![
        Case::One(update(0, false, 0.0, 3)),
        Case::One(update(1, true, 0.0, 1)),
        Case::One(update(1000, true, 1e-4, 1)),
        Case::One(update(1000, false, 0.0, 2)),
        Case::One(update(4097, false, 5e-4, 37)),
        Case::One(update(70_000, false, 1e-2, 1000)),
        Case::Many(many()),
    ]
}

/// `count` random cases: two in three single updates of up to 300 values, the others
/// steps of up to eight parameters of up to 100 values; any step count up to 1000, decay
/// in half of them, learning rates from 1e-4 to 1e-2.
pub fn random(rng: &mut Rng, count: usize) -> Vec<Case> {
    let draw = |rng: &mut Rng, most: usize| Update {
        n: rng.below(most + 1),
        first: rng.below(4) == 0,
        weight_decay: [0.0, rng.uniform_range(1e-5, 1e-2)][rng.below(2)],
        t: 1 + rng.below(1000) as u32,
        lr: 10f64.powf(rng.uniform_range(-4.0, -2.0)),
    };
    (0..count)
        .map(|i| match i % 3 {
            2 => Case::Many((0..1 + rng.below(8)).map(|_| draw(rng, 100)).collect()),
            _ => Case::One(draw(rng, 300)),
        })
        .collect()
}

/// Every check of the family on `backend` (all exact: the tolerance is not needed).
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, _tol: Tolerance) {
    for (c, seed) in cases.select(fixed(), Case::work, |rng| random(rng, cases.random)) {
        compare::<B, f32>(backend, report, &c, seed);
        compare::<B, f64>(backend, report, &c, seed);
    }
    errors(backend, report);
}

/// A parameter's buffers on the host: value, gradient, and the moments unless it is the
/// first update.
pub struct Parameter<E> {
    pub value: Vec<E>,
    pub grad: Vec<E>,
    pub moments: Option<(Vec<E>, Vec<E>)>,
    pub hyper: AdamHyper,
}

impl<E: Element> Parameter<E> {
    /// Random buffers for `u`: values in `[-2, 2)`, gradients in `[-1, 1)` but for a tiny,
    /// a huge and a zero one first (where eps matters and where it does not), first
    /// moments in `[-0.1, 0.1)`, second ones in `[0, 0.01)`.
    pub fn new(u: &Update, rng: &mut Rng) -> Self {
        let value = uniform(rng, u.n, -2.0, 2.0);
        let mut grad: Vec<E> = uniform(rng, u.n, -1.0, 1.0);
        for (g, extreme) in grad.iter_mut().zip([1e-30, 3e4, 0.0]) {
            *g = E::from_f64(extreme);
        }
        let m = uniform(rng, u.n, -0.1, 0.1);
        let v = uniform(rng, u.n, 0.0, 0.01);
        Parameter {
            value,
            grad,
            moments: (!u.first).then_some((m, v)),
            hyper: u.hyper(),
        }
    }
}

/// A parameter's buffers on a backend: value, gradient, moments.
pub type Uploaded<S> = (S, S, Option<(S, S)>);

/// `params` uploaded to `b`.
pub fn upload<B: Backend, E: Element>(
    b: &B,
    params: &[Parameter<E>],
) -> Result<Vec<Uploaded<B::Storage<E>>>> {
    params
        .iter()
        .map(|p| {
            let moments = match &p.moments {
                Some((m, v)) => Some((b.upload(m)?, b.upload(v)?)),
                None => None,
            };
            Ok((b.upload(&p.value)?, b.upload(&p.grad)?, moments))
        })
        .collect()
}

/// The jobs of `adam_update_many` for uploaded `params`.
pub fn jobs<'a, S>(
    up: &'a [Uploaded<S>],
    params: &[Parameter<impl Element>],
) -> Vec<AdamJob<'a, S>> {
    up.iter()
        .zip(params)
        .map(|((value, grad, moments), p)| AdamJob {
            value,
            grad,
            moments: moments.as_ref().map(|(m, v)| (m, v)),
            hyper: p.hyper,
        })
        .collect()
}

/// `adam_update_many` of `params` on `b` (`adam_update` of the first when `alone`), host
/// buffers in and out: each parameter's new value, first and second moments.
pub fn step<B: Backend, E: Element>(
    b: &B,
    params: &[Parameter<E>],
    alone: bool,
) -> Result<Vec<[Vec<E>; 3]>> {
    let up = upload(b, params)?;
    let jobs = jobs(&up, params);
    let updated = match (alone, jobs.first()) {
        (true, Some(j)) => vec![b.adam_update(j.value, j.grad, j.moments, &j.hyper)?],
        _ => b.adam_update_many(&jobs)?,
    };
    let down = |u: AdamUpdated<B::Storage<E>>| -> Result<[Vec<E>; 3]> {
        Ok([
            b.download(&u.value)?,
            b.download(&u.exp_avg)?,
            b.download(&u.exp_avg_sq)?,
        ])
    };
    updated.into_iter().map(down).collect()
}

const OUTPUTS: [&str; 3] = ["value", "exp_avg", "exp_avg_sq"];

fn compare<B: Backend, E: Element>(b: &B, r: &mut Report, c: &Case, seed: u64) {
    let mut rng = Rng::seed(seed);
    let (updates, alone) = match c {
        Case::One(u) => (vec![*u], true),
        Case::Many(us) => (us.clone(), false),
    };
    let params: Vec<Parameter<E>> = updates
        .iter()
        .map(|u| Parameter::new(u, &mut rng))
        .collect();
    let name = if alone {
        "adam_update"
    } else {
        "adam_update_many"
    };
    let got = step(b, &params, alone);
    let again = step(b, &params, alone);
    for (i, (p, u)) in params.iter().zip(&updates).enumerate() {
        // Each job against the reference's update of it alone.
        let want = step(&Reference, core::slice::from_ref(p), true);
        let want = want
            .ok()
            .and_then(|w| w.into_iter().next())
            .unwrap_or_default();
        let job = |res: &Result<Vec<[Vec<E>; 3]>>, k: usize| -> Result<Vec<E>> {
            match res {
                Ok(v) => v
                    .get(i)
                    .map(|o| o[k].clone())
                    .ok_or_else(|| missing(name, i)),
                Err(e) => Err(e.clone()),
            }
        };
        for (k, output) in OUTPUTS.iter().enumerate() {
            let what = format!("{name} {output} {} job {i} {u:?}", type_name::<E>());
            r.repeatable(&what, &job(&got, k), job(&again, k));
            r.identical(&what, job(&got, k), &want[k]);
        }
    }
}

fn missing(op: &'static str, i: usize) -> pgcnn_core::Error {
    pgcnn_core::Error::BadArgument {
        op,
        reason: format!("no result for job {i}"),
    }
}

/// Buffers of unequal lengths, alone and within a step.
fn errors<B: Backend>(b: &B, r: &mut Report) {
    let up = |n: usize| b.upload(&vec![0.5f32; n]);
    let h = update(4, false, 0.0, 1).hyper();
    // Lengths of the value, gradient, first and second moment.
    let one = |n: [usize; 4]| -> Result<()> {
        let (m, v) = (up(n[2])?, up(n[3])?);
        b.adam_update(&up(n[0])?, &up(n[1])?, Some((&m, &v)), &h)
            .map(drop)
    };
    r.error("adam_update with a short gradient", one([4, 3, 4, 4]));
    r.error("adam_update with a short first moment", one([4, 4, 3, 4]));
    r.error("adam_update with a long second moment", one([4, 4, 4, 5]));
    let many = || -> Result<()> {
        let (value, short) = (up(4)?, up(3)?);
        let good = AdamJob {
            value: &value,
            grad: &value,
            moments: None,
            hyper: h,
        };
        let bad = AdamJob {
            grad: &short,
            ..good
        };
        b.adam_update_many(&[good, bad, good]).map(drop)
    };
    r.error(
        "adam_update_many with a short gradient in its second job",
        many(),
    );
}
