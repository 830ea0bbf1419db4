//! The rules a config must satisfy beyond its types: shapes the model can take, options
//! that only make sense together, numbers in range. Every broken rule becomes a
//! [`Problem`] naming the key and its value; [`Config::validate`] reports them all.

use std::fmt::Display;

use serde::Serialize;

use super::choices::{
    EvalMode, GroupName, KernelType, NetType, Optimizer, Padding, SamplingMethod, Scheduler,
};
use super::error::{ConfigError, Problem};
use super::schema::Config;

/// Most channels a layer may have (the reference's widest is 256).
pub const MAX_CHANNELS: usize = 4096;
/// Most group samples per feature map.
pub const MAX_SAMPLES: usize = 1024;
/// Largest kernel side.
pub const MAX_KERNEL_SIZE: usize = 99;
/// Most blocks of a network.
pub const MAX_BLOCKS: usize = 256;
/// Most layers of a kernel net.
pub const MAX_KERNEL_LAYERS: usize = 64;
/// Largest batch.
pub const MAX_BATCH: usize = 1 << 20;
/// Most epochs.
pub const MAX_EPOCHS: usize = 1_000_000;
/// Most evaluation draws (each is a full pass over the split).
pub const MAX_EVAL_DRAWS: usize = 1_000;

/// The value as TOML writes it (`"SE2"`, `[1, 2]`, `0.001`), for messages.
fn show<T: Serialize + ?Sized>(value: &T) -> String {
    toml::Value::try_from(value).map_or_else(|_| "?".to_string(), |v| v.to_string())
}

/// Collects problems.
struct Check(Vec<Problem>);

impl Check {
    fn fail<T: Serialize + ?Sized>(&mut self, key: &str, value: &T, reason: impl Display) {
        self.0.push(Problem {
            key: key.to_string(),
            value: show(value),
            reason: reason.to_string(),
        });
    }

    /// `value` must lie in `[lo, hi]`.
    fn range(&mut self, key: &str, value: usize, lo: usize, hi: usize, what: &str) {
        if value < lo || value > hi {
            self.fail(key, &value, format!("{what} must be between {lo} and {hi}"));
        }
    }

    /// `value` must be finite and at least `lo` (or above it, with `strict`).
    fn at_least(&mut self, key: &str, value: f64, lo: f64, strict: bool) {
        let ok = value.is_finite() && if strict { value > lo } else { value >= lo };
        if !ok {
            let cmp = if strict { ">" } else { "≥" };
            self.fail(key, &value, format!("must be a finite number {cmp} {lo}"));
        }
    }

    /// `value` must be finite and in `[0, 1)`.
    fn fraction(&mut self, key: &str, value: f64) {
        if !(value.is_finite() && (0.0..1.0).contains(&value)) {
            self.fail(key, &value, "must be in [0, 1)");
        }
    }
}

impl Config {
    /// Checks the rules every config must satisfy; the error lists every broken one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid { problems })
        }
    }

    /// Every broken rule (empty for a valid config).
    pub fn problems(&self) -> Vec<Problem> {
        let mut c = Check(Vec::new());
        self.check_net(&mut c);
        self.check_kernel(&mut c);
        self.check_group(&mut c);
        self.check_train(&mut c);
        self.check_data(&mut c);
        if c.0.is_empty() {
            // Only meaningful once the sizes themselves are sane.
            self.check_spatial(&mut c);
        }
        c.0
    }

    /// The width of every block, in channels, or `None` when `block_width_factors` is
    /// malformed or `no_blocks` out of range (reported by [`Config::validate`]).
    pub fn block_widths(&self) -> Option<Vec<usize>> {
        let net = &self.net;
        let factors = &net.block_width_factors;
        if net.no_blocks > MAX_BLOCKS {
            return None;
        }
        if factors.len() == 1 && factors[0] == 0.0 {
            return Some(vec![net.no_hidden; net.no_blocks]);
        }
        if factors.is_empty() || !factors.len().is_multiple_of(2) {
            return None;
        }
        let mut widths = Vec::new();
        for pair in factors.chunks(2) {
            let (factor, count) = (pair[0], pair[1]);
            let count_ok = count.is_finite() && count >= 1.0 && count.fract() == 0.0;
            if !(factor.is_finite() && factor > 0.0 && count_ok) || count > MAX_BLOCKS as f64 {
                return None;
            }
            // The counts must sum to no_blocks (≤ MAX_BLOCKS): stopping at the first
            // excess keeps a long list of large counts (a few bytes of text each) from
            // growing the widths far past it.
            if widths.len() + count as usize > net.no_blocks {
                return None;
            }
            // Truncation, as the reference's int(no_hidden * factor).
            let width = (net.no_hidden as f64 * factor) as usize;
            widths.extend(std::iter::repeat_n(width, count as usize));
        }
        (widths.len() == net.no_blocks).then_some(widths)
    }

    fn check_net(&self, c: &mut Check) {
        let net = &self.net;
        c.range("net.no_hidden", net.no_hidden, 1, MAX_CHANNELS, "channels");
        c.range("net.no_blocks", net.no_blocks, 0, MAX_BLOCKS, "blocks");
        if !(net.dropout.is_finite() && (0.0..1.0).contains(&net.dropout)) {
            c.fail(
                "net.dropout",
                &net.dropout,
                "a dropout rate must be in [0, 1)",
            );
        }
        match self.block_widths() {
            // The block count itself is out of range, reported above.
            None if net.no_blocks > MAX_BLOCKS => {}
            None => c.fail(
                "net.block_width_factors",
                &net.block_width_factors,
                format!(
                    "must be [0] (every block net.no_hidden wide) or pairs [factor, count, ...] \
                     with factors > 0 and whole counts ≥ 1 summing to net.no_blocks = {}",
                    net.no_blocks
                ),
            ),
            Some(widths) if (1..=MAX_CHANNELS).contains(&net.no_hidden) => {
                if let Some(&bad) = widths.iter().find(|&&w| w == 0 || w > MAX_CHANNELS) {
                    c.fail(
                        "net.block_width_factors",
                        &net.block_width_factors,
                        format!(
                            "gives a block {bad} channels wide with net.no_hidden = {}; \
                             widths must be between 1 and {MAX_CHANNELS}",
                            net.no_hidden
                        ),
                    );
                }
            }
            Some(_) => {} // net.no_hidden itself is out of range, reported above.
        }
        let ck = net.net_type.is_ckresnet();
        let first_pool = if ck { 0 } else { 1 };
        if let Some(&bad) = net
            .pool_blocks
            .iter()
            .find(|&&b| b < first_pool || b > net.no_blocks)
        {
            let meaning = if ck {
                "0 = after the lifting layer, i = after block i"
            } else {
                "i = after layer i, from 1"
            };
            c.fail(
                "net.pool_blocks",
                &net.pool_blocks,
                format!(
                    "index {bad} is out of range {first_pool}..={} ({meaning})",
                    net.no_blocks
                ),
            );
        }
        if ck && !net.dropout_blocks.is_empty() {
            c.fail(
                "net.dropout_blocks",
                &net.dropout_blocks,
                "is used by GCNN only; a CKResNet applies net.dropout inside every block",
            );
        } else if let Some(&bad) = net
            .dropout_blocks
            .iter()
            .find(|&&b| b < 1 || b > net.no_blocks)
        {
            c.fail(
                "net.dropout_blocks",
                &net.dropout_blocks,
                format!("index {bad} is out of range 1..={}", net.no_blocks),
            );
        }
        let only_ckresnet = format!("is used by CKResNet only, not {}", net.net_type);
        if net.last_conv_t2 && net.net_type != NetType::CKResNet {
            c.fail("net.last_conv_T2", &true, &only_ckresnet);
        }
        if net.learnable_final_pooling {
            if net.net_type != NetType::CKResNet {
                c.fail("net.learnable_final_pooling", &true, &only_ckresnet);
            }
            if self.conv.partial_equiv {
                c.fail(
                    "net.learnable_final_pooling",
                    &true,
                    "cannot be combined with conv.partial_equiv = true (as in the reference)",
                );
            }
        }
        if net.final_spatial_dim.contains(&0) {
            c.fail(
                "net.final_spatial_dim",
                &net.final_spatial_dim,
                "sizes must be ≥ 1",
            );
        }
    }

    fn check_kernel(&self, c: &mut Check) {
        let k = &self.kernel;
        if k.size == 0 || k.size.is_multiple_of(2) || k.size > MAX_KERNEL_SIZE {
            c.fail(
                "kernel.size",
                &k.size,
                format!(
                    "must be odd (the kernel grid needs a centre) and between 1 and {MAX_KERNEL_SIZE}"
                ),
            );
        }
        c.range(
            "kernel.no_hidden",
            k.no_hidden,
            1,
            MAX_CHANNELS,
            "hidden units",
        );
        if k.no_hidden == 1 && self.has_pointwise_shortcut() {
            c.fail(
                "kernel.no_hidden",
                &k.no_hidden,
                "must be ≥ 2: the residual shortcuts' kernel nets are half as wide",
            );
        }
        let min_layers = match k.kernel_type {
            KernelType::Siren | KernelType::Mlp => 2,
            _ => 1,
        };
        c.range(
            "kernel.no_layers",
            k.no_layers,
            min_layers,
            MAX_KERNEL_LAYERS,
            &format!("layers of a {} kernel net", k.kernel_type),
        );
        if k.kernel_type == KernelType::Siren {
            c.at_least("kernel.omega0", k.omega0, 0.0, true);
        }
        if k.learn_omega0 && k.kernel_type != KernelType::Siren {
            c.fail(
                "kernel.learn_omega0",
                &true,
                format!(
                    "ω0 belongs to SIREN kernels; kernel.type = {}",
                    k.kernel_type
                ),
            );
        }
    }

    /// Whether a CKResNet block has a pointwise group convolution as its shortcut
    /// (widths differ, samples redrawn per layer, or a partial net; docs/math.md §8).
    fn has_pointwise_shortcut(&self) -> bool {
        if !self.net.net_type.is_ckresnet() || self.net.no_blocks == 0 {
            return false;
        }
        let widths_change = self.block_widths().is_some_and(|w| {
            let mut previous = self.net.no_hidden;
            w.iter().any(|&x| std::mem::replace(&mut previous, x) != x)
        });
        widths_change || self.base_group.sample_per_layer || self.conv.partial_equiv
    }

    fn check_group(&self, c: &mut Check) {
        let g = &self.base_group;
        c.range(
            "base_group.no_samples",
            g.no_samples,
            1,
            MAX_SAMPLES,
            "samples",
        );
        let deterministic = g.sampling_method == SamplingMethod::Deterministic;
        match g.name {
            GroupName::E2 if !g.no_samples.is_multiple_of(2) => c.fail(
                "base_group.no_samples",
                &g.no_samples,
                "E(2) pairs N/2 rotations with both mirrors, so N must be even",
            ),
            GroupName::T2 => {
                if g.no_samples != 1 {
                    c.fail(
                        "base_group.no_samples",
                        &g.no_samples,
                        "T(2) has one element per position: set it to 1",
                    );
                }
                if !deterministic {
                    c.fail(
                        "base_group.sampling_method",
                        &g.sampling_method,
                        "T(2) has nothing to sample: use deterministic",
                    );
                }
                if self.conv.partial_equiv {
                    c.fail(
                        "conv.partial_equiv",
                        &true,
                        "T(2) has no subgroup to learn: use SE2 or E2, or turn it off",
                    );
                }
            }
            _ => {}
        }
        if deterministic {
            for (key, on) in [
                ("base_group.sample_per_layer", g.sample_per_layer),
                (
                    "base_group.sample_per_batch_element",
                    g.sample_per_batch_element,
                ),
            ] {
                if on {
                    c.fail(key, &true, "needs base_group.sampling_method = random");
                }
            }
        } else if self.conv.partial_equiv && !g.sample_per_layer {
            c.fail(
                "base_group.sample_per_layer",
                &false,
                "must be true for partial equivariance with random sampling (each layer draws \
                 from its own learned subset)",
            );
        }
        c.at_least("base_group.gumbel_init_temp", g.gumbel_init_temp, 0.0, true);
        c.at_least("base_group.gumbel_end_temp", g.gumbel_end_temp, 0.0, true);
        if self.net.net_type.is_augerino() {
            let t = self.net.net_type;
            if g.name == GroupName::T2 {
                c.fail(
                    "base_group.name",
                    &g.name,
                    format!("{t} learns rotations: use SE2 or E2"),
                );
            }
            if deterministic {
                c.fail(
                    "base_group.sampling_method",
                    &g.sampling_method,
                    format!("{t} needs random"),
                );
            }
            if self.conv.partial_equiv {
                c.fail(
                    "conv.partial_equiv",
                    &true,
                    format!("{t} wraps a T(2) network: turn it off"),
                );
            }
            for (key, on) in [
                ("base_group.sample_per_layer", g.sample_per_layer),
                (
                    "base_group.sample_per_batch_element",
                    g.sample_per_batch_element,
                ),
            ] {
                if on && !deterministic {
                    c.fail(
                        key,
                        &true,
                        format!("{t} samples once per forward pass: turn it off"),
                    );
                }
            }
        }
    }

    fn check_train(&self, c: &mut Check) {
        let t = &self.train;
        c.range("train.epochs", t.epochs, 1, MAX_EPOCHS, "epochs");
        c.range(
            "train.batch_size",
            t.batch_size,
            1,
            MAX_BATCH,
            "the batch size",
        );
        c.at_least("train.lr", t.lr, 0.0, true);
        c.at_least("train.lr_probs", t.lr_probs, 0.0, false);
        c.at_least("train.lr_omega0", t.lr_omega0, 0.0, false);
        c.at_least("train.gradient_clip", t.gradient_clip, 0.0, false);
        c.at_least("train.weight_decay", t.weight_decay, 0.0, false);
        c.at_least(
            "train.monotonic_decay_loss",
            t.monotonic_decay_loss,
            0.0,
            false,
        );
        c.range(
            "train.eval_draws",
            t.eval_draws,
            0,
            MAX_EVAL_DRAWS,
            "the evaluation draws (0 = automatic)",
        );
        if t.eval_mode == EvalMode::MostLikely && t.eval_draws > 1 {
            c.fail(
                "train.eval_draws",
                &t.eval_draws,
                "train.eval_mode = most-likely draws nothing, so every draw would be the \
                 same; set it to 0 or 1, or train.eval_mode = sample",
            );
        }
        let o = &t.optimizer_params;
        c.fraction("train.optimizer_params.momentum", o.momentum);
        if t.optimizer != Optimizer::Sgd && o.momentum != 0.0 {
            c.fail(
                "train.optimizer_params.momentum",
                &o.momentum,
                format!("is used by SGD only; train.optimizer = {}", t.optimizer),
            );
        }
        if o.nesterov && (t.optimizer != Optimizer::Sgd || o.momentum <= 0.0) {
            c.fail(
                "train.optimizer_params.nesterov",
                &true,
                "needs train.optimizer = SGD and train.optimizer_params.momentum > 0",
            );
        }
        let s = &t.scheduler_params;
        if s.warmup_epochs > 0 {
            if t.scheduler != Scheduler::Cosine {
                c.fail(
                    "train.scheduler_params.warmup_epochs",
                    &s.warmup_epochs,
                    format!(
                        "warm-up goes with train.scheduler = cosine, not {}; set it to 0",
                        t.scheduler
                    ),
                );
            } else if s.warmup_epochs >= t.epochs {
                c.fail(
                    "train.scheduler_params.warmup_epochs",
                    &s.warmup_epochs,
                    format!("must be below train.epochs = {}", t.epochs),
                );
            }
        }
        c.at_least("train.scheduler_params.eta_min", s.eta_min, 0.0, false);
        let decays = matches!(
            t.scheduler,
            Scheduler::MultiStep | Scheduler::Exponential | Scheduler::Plateau
        );
        if decays && !(s.decay_factor.is_finite() && s.decay_factor >= 1.0) {
            c.fail(
                "train.scheduler_params.decay_factor",
                &s.decay_factor,
                "the rate is divided by it, so it must be ≥ 1 (10 means ×0.1)",
            );
        }
        if t.scheduler == Scheduler::MultiStep {
            if s.decay_steps.is_empty() {
                c.fail(
                    "train.scheduler_params.decay_steps",
                    &s.decay_steps,
                    "multistep needs at least one epoch to decay at",
                );
            } else if let Some(&bad) = s.decay_steps.iter().find(|&&e| e < 1 || e >= t.epochs) {
                c.fail(
                    "train.scheduler_params.decay_steps",
                    &s.decay_steps,
                    format!(
                        "epoch {bad} is never reached: steps must be in 1..{}",
                        t.epochs
                    ),
                );
            }
        }
    }

    fn check_data(&self, c: &mut Check) {
        let d = &self.dataset_params;
        if !(d.rot_interval.is_finite() && (0.0..=180.0).contains(&d.rot_interval)) {
            c.fail(
                "dataset_params.rot_interval",
                &d.rot_interval,
                "an angle in degrees in [0, 180]",
            );
        }
        if let Some(v) = d.val_fraction {
            c.fraction("dataset_params.val_fraction", v);
        }
        c.fraction("dataset_params.test_fraction", d.test_fraction);
        if self.seed > i64::MAX as u64 {
            c.fail(
                "seed",
                &self.seed.to_string(),
                "must be below 2^63 (TOML integers)",
            );
        }
    }

    /// Follows the feature map's size through the network and reports the first layer
    /// that cannot take it (a valid convolution on a map smaller than the kernel, a pool
    /// of a 1-pixel map) and a `final_spatial_dim` that does not match.
    fn check_spatial(&self, c: &mut Check) {
        let net = &self.net;
        let k = self.kernel.size;
        let [_, h, w] = self.dataset.image_shape();
        let input = format!("{h}×{w}");
        let mut size = [h, w];
        let pooled = |i: usize| net.pool_blocks.contains(&i);
        let mut any_pool = false;
        let mut fail = |stage: &str, size: [usize; 2], any_pool: bool, need: &str| {
            let key = if any_pool {
                "net.pool_blocks"
            } else {
                "kernel.size"
            };
            let value = if any_pool {
                show(&net.pool_blocks)
            } else {
                show(&k)
            };
            c.0.push(Problem {
                key: key.to_string(),
                value,
                reason: format!(
                    "{stage} gets a {}×{} feature map (from the {input} input of {}), {need}",
                    size[0], size[1], self.dataset
                ),
            });
        };
        // A convolution with `padding`; None when the map is too small.
        let conv = |size: [usize; 2], padding: Padding| match padding {
            Padding::Same => Some(size),
            Padding::Valid if size[0] >= k && size[1] >= k => {
                Some([size[0] - k + 1, size[1] - k + 1])
            }
            Padding::Valid => None,
        };
        let too_small = format!("smaller than the kernel (kernel.size = {k}, valid padding)");
        let padding = self.conv.padding;
        let Some(s) = conv(size, padding) else {
            return fail("the lifting convolution", size, any_pool, &too_small);
        };
        size = s;
        let ck = net.net_type.is_ckresnet();
        let layers_per_block = if ck { 2 } else { 1 };
        for block in 0..=net.no_blocks {
            if block > 0 {
                for _ in 0..layers_per_block {
                    let Some(s) = conv(size, padding) else {
                        return fail(&format!("block {block}"), size, any_pool, &too_small);
                    };
                    size = s;
                }
            }
            if (block > 0 || ck) && pooled(block) {
                if size[0] < 2 || size[1] < 2 {
                    let stage = format!("the 2×2 pool after block {block}");
                    any_pool = true;
                    return fail(&stage, size, any_pool, "too small to pool");
                }
                size = [size[0] / 2, size[1] / 2];
                any_pool = true;
            }
        }
        if ck {
            let Some(s) = conv(size, Padding::Valid) else {
                let stage = "the last convolution (always valid padding)";
                return fail(stage, size, any_pool, &too_small);
            };
            size = s;
            if net.learnable_final_pooling && net.final_spatial_dim != size {
                c.fail(
                    "net.final_spatial_dim",
                    &net.final_spatial_dim,
                    format!(
                        "the last convolution outputs {}×{} on {}: set it to [{}, {}]",
                        size[0], size[1], self.dataset, size[0], size[1]
                    ),
                );
            }
        }
    }
}
