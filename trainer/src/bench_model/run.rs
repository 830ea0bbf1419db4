//! Timing one config on one backend: training steps as `pgcnn train` runs them, then
//! evaluation forwards, on a fixed batch of random images.

use super::flops::forward_flops;
use super::memory::MemoryProbe;
use crate::config::Config;
use crate::model_config::model_config;
use crate::train::{build_optimizer, build_schedule};
use anyhow::{bail, Context, Result};
use pgcnn_core::group::TemperatureSchedule;
use pgcnn_core::layers::{ForwardCtx, LayerParams};
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::{clip_grad_norm, Backend, Tensor};
use pgcnn_cuda::{Activity, Cuda, Profile};
use std::any::Any;
use std::time::Instant;

/// What one config's run measured (the raw material of a
/// [`ModelBenchResult`](super::ModelBenchResult)).
#[derive(Clone, Debug)]
pub struct Measurement {
    pub params: usize,
    pub image_shape: [usize; 3],
    pub classes: usize,
    pub forward_flops: f64,
    /// Seconds of each timed training step.
    pub train_s: Vec<f64>,
    /// Seconds of each timed evaluation forward.
    pub eval_s: Vec<f64>,
    pub train_peak_bytes: Option<u64>,
    pub eval_peak_bytes: Option<u64>,
    pub memory_method: &'static str,
    /// The losses of the timed steps (finite, or the run would have stopped).
    pub losses: Vec<f64>,
    /// What the last timed training step asked of a GPU (CUDA only).
    pub step_activity: Option<Activity>,
    /// On the kernel emulator, the seconds its stand-in for the device spent in the
    /// timed training steps, all together (see [`Activity::emulated_device_ns`]).
    pub emulated_device_s: Option<f64>,
    /// Device time by op and work over the profiled steps (CUDA, when asked for).
    pub profile: Option<Profile>,
}

/// The image shape `[C, H, W]` and class count of the config's dataset (nothing is
/// loaded: the benchmark runs on random data of that shape).
pub fn data_shape(config: &Config) -> ([usize; 3], usize) {
    let d = config.dataset;
    (
        d.image_shape(),
        d.classes(config.dataset_params.cifar100_coarse),
    )
}

/// Waits for the device's queued work (CUDA); the CPU backend is synchronous.
fn synchronize<B: Backend>(backend: &B) -> Result<()> {
    if let Some(cuda) = (backend as &dyn Any).downcast_ref::<Cuda>() {
        cuda.synchronize()?;
    }
    Ok(())
}

/// The device's activity counters (CUDA); None on the CPU.
fn activity<B: Backend>(backend: &B) -> Option<Activity> {
    (backend as &dyn Any)
        .downcast_ref::<Cuda>()
        .map(Cuda::activity)
}

/// Seeds of the benchmark's randomness: the model's initialisation, the data, the draws.
const INIT_SEED: u64 = 0xbe4c_0001;
const DATA_SEED: u64 = 0xbe4c_0002;
const STEP_SEED: u64 = 0xbe4c_0003;

/// Builds the config's model and optimiser for `batch` images, times `warmup` + `steps`
/// training steps (the first `warmup` untimed) and as many evaluation forwards. On CUDA,
/// `profile_steps` more training steps then run with device profiling on
/// ([`Cuda::start_profile`]); elsewhere none.
pub fn measure<B: Backend>(
    backend: &B,
    config: &Config,
    batch: usize,
    warmup: usize,
    steps: usize,
    profile_steps: usize,
) -> Result<Measurement> {
    let cuda = (backend as &dyn Any).downcast_ref::<Cuda>();
    let profile_steps = if cuda.is_some() { profile_steps } else { 0 };
    let (image_shape, classes) = data_shape(config);
    let [c, h, w] = image_shape;
    let mcfg = model_config(config, c, classes, [h, w])?;
    let forward_flops = forward_flops(&mcfg, batch)?;
    let mut model = Model::<B, f32>::new(backend, &mcfg, &mut Rng::seed(INIT_SEED))
        .context("building the model")?;
    let mut optimizer = build_optimizer(config, &model)?;
    let iterations = warmup + steps;
    // The schedules run over the profiled steps too, so that those see no schedule's end.
    let scheduled = iterations + profile_steps;
    let mut schedule = build_schedule(config, scheduled.max(1))?;
    optimizer.apply_schedule(&schedule)?;
    let temperature = TemperatureSchedule {
        init: config.base_group.gumbel_init_temp,
        end: config.base_group.gumbel_end_temp,
        iterations: scheduled,
    };

    // Random images (normal, like normalised pixels) and labels, uploaded once: the
    // bench times the step, not the data pipeline.
    let mut data_rng = Rng::seed(DATA_SEED);
    let pixels: Vec<f32> = (0..batch * c * h * w)
        .map(|_| data_rng.normal() as f32)
        .collect();
    let labels: Vec<usize> = (0..batch).map(|_| data_rng.below(classes)).collect();
    let x = Tensor::from_slice(backend, &pixels, [batch, c, h, w])?;
    synchronize(backend)?;

    let mut rng = Rng::seed(STEP_SEED);
    // One iteration of trainer/src/train/run.rs's loop, on the fixed batch; returns the
    // loss once the device has finished the step.
    let mut train_step = |i: usize| -> Result<f64> {
        let t = &config.train;
        let mut ctx = ForwardCtx::train(rng.fork(), temperature.temperature(i));
        if t.weight_decay > 0.0 {
            ctx = ctx.collecting_kernel_norms();
        }
        let logits = model.forward(&x, &mut ctx)?;
        let mut loss = logits.cross_entropy(&labels)?;
        if t.monotonic_decay_loss > 0.0 {
            loss = loss.add(&model.monotonic_loss(t.monotonic_decay_loss)?)?;
        }
        if t.weight_decay > 0.0 {
            loss = loss.add(&model.weight_decay_penalty(&ctx, t.weight_decay)?)?;
        }
        // Reading the loss synchronises a GPU, as in the trainer.
        let loss_value = loss.to_scalar()? as f64;
        if !loss_value.is_finite() {
            bail!("the loss became {loss_value} at step {}", i + 1);
        }
        std::hint::black_box(logits.accuracy(&labels)?);
        let mut grads = loss.backward()?;
        if t.gradient_clip > 0.0 {
            clip_grad_norm(&mut grads, t.gradient_clip)?;
        }
        optimizer.step(model.params_mut(), &grads)?;
        schedule.on_iteration_end();
        optimizer.apply_schedule(&schedule)?;
        // The backward pass and the update are still queued on a GPU: wait for them
        // before reading the clock.
        synchronize(backend)?;
        Ok(loss_value)
    };
    let mut probe = MemoryProbe::new(backend);
    probe.start()?;
    let mut train_s = Vec::with_capacity(steps);
    let mut losses = Vec::with_capacity(steps);
    let mut step_activity = None;
    let mut timed_from = None;
    for i in 0..iterations {
        if i == warmup {
            timed_from = activity(backend);
        }
        let before = if i + 1 == iterations {
            activity(backend)
        } else {
            None
        };
        let start = Instant::now();
        let loss_value = train_step(i)?;
        if i >= warmup {
            train_s.push(start.elapsed().as_secs_f64());
            losses.push(loss_value);
        }
        if let (Some(before), Some(after)) = (before, activity(backend)) {
            step_activity = Some(after.since(&before));
        }
    }
    let emulated_device_s = timed_from
        .zip(activity(backend))
        .and_then(|(from, to)| to.since(&from).emulated_device_ns)
        .map(|ns| ns as f64 / 1e9);
    let profile = match cuda {
        Some(cuda) if profile_steps > 0 => {
            cuda.start_profile();
            for i in iterations..scheduled {
                train_step(i)?;
            }
            Some(cuda.finish_profile()?)
        }
        _ => None,
    };
    let train_peak_bytes = probe.peak();

    probe.start()?;
    let mut eval_s = Vec::with_capacity(steps);
    // Evaluation records no graph (as trainer/src/eval/measure.rs).
    let mut eval_model = model.without_graph();
    for i in 0..iterations {
        let start = Instant::now();
        let mut ctx = ForwardCtx::eval(rng.fork());
        let logits = eval_model.forward(&x, &mut ctx)?;
        std::hint::black_box(logits.to_vec()?);
        if i >= warmup {
            eval_s.push(start.elapsed().as_secs_f64());
        }
    }
    let eval_peak_bytes = probe.peak();

    Ok(Measurement {
        params: model.num_params(),
        image_shape,
        classes,
        forward_flops,
        train_s,
        eval_s,
        train_peak_bytes,
        eval_peak_bytes,
        memory_method: probe.method().as_str(),
        losses,
        step_activity,
        emulated_device_s,
        profile,
    })
}
