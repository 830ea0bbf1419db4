//! The optimiser: parameter groups, an update rule (Adam or SGD) and per-parameter state.

use super::adam::{adam_update_all, AdamConfig, AdamInput, AdamSlots, ADAM_SLOTS};
use super::groups::{Groups, ParamGroup};
use super::schedule::Schedule;
use super::sgd::{sgd_update, SgdConfig, SGD_SLOTS};
use super::state::{OptimizerState, ParamState};
use crate::autodiff::{Gradients, Param, ParamId};
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The update rule and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Algorithm {
    Adam(AdamConfig),
    Sgd(SgdConfig),
}

impl Algorithm {
    /// The name used in exported state.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Adam(_) => "adam",
            Algorithm::Sgd(_) => "sgd",
        }
    }

    /// The names of the state tensors this rule keeps per parameter.
    fn slot_names(&self) -> &'static [&'static str] {
        match self {
            Algorithm::Adam(_) => &ADAM_SLOTS,
            Algorithm::Sgd(c) if c.momentum != 0.0 => &SGD_SLOTS,
            Algorithm::Sgd(_) => &[],
        }
    }
}

/// What the optimiser remembers about one parameter.
enum Slots<B: Backend, E: Element> {
    Adam(AdamSlots<B, E>),
    Sgd {
        step: u64,
        buffer: Option<Tensor<B, E>>,
    },
}

impl<B: Backend, E: Element> Slots<B, E> {
    fn step(&self) -> u64 {
        match self {
            Slots::Adam(s) => s.step,
            Slots::Sgd { step, .. } => *step,
        }
    }
    /// The tensors in the order of [`Algorithm::slot_names`].
    fn tensors(&self) -> Vec<Tensor<B, E>> {
        match self {
            Slots::Adam(s) => alloc::vec![s.exp_avg.clone(), s.exp_avg_sq.clone()],
            Slots::Sgd { buffer, .. } => buffer.iter().cloned().collect(),
        }
    }
}

/// Updates parameters from their gradients, group by group.
///
/// Each parameter belongs to one [`ParamGroup`], whose current learning rate (its base
/// rate scaled by a schedule, see [`Optimizer::apply_schedule`]) and weight decay the
/// update uses. Parameters without a gradient in a step are skipped and their state is
/// left untouched, as in PyTorch.
pub struct Optimizer<B: Backend, E: Element = f32> {
    algorithm: Algorithm,
    groups: Groups,
    states: BTreeMap<ParamId, Slots<B, E>>,
    step_count: u64,
}

impl<B: Backend, E: Element> Optimizer<B, E> {
    /// An optimiser over `groups` (a parameter in at most one group; rates and decays
    /// finite and non-negative) with the given rule.
    pub fn new(algorithm: Algorithm, groups: Vec<ParamGroup>) -> Result<Self> {
        match &algorithm {
            Algorithm::Adam(c) => c.validate()?,
            Algorithm::Sgd(c) => c.validate()?,
        }
        Ok(Optimizer {
            algorithm,
            groups: Groups::new(groups)?,
            states: BTreeMap::new(),
            step_count: 0,
        })
    }

    /// Adam over `groups`.
    pub fn adam(groups: Vec<ParamGroup>, config: AdamConfig) -> Result<Self> {
        Self::new(Algorithm::Adam(config), groups)
    }

    /// SGD over `groups`.
    pub fn sgd(groups: Vec<ParamGroup>, config: SgdConfig) -> Result<Self> {
        Self::new(Algorithm::Sgd(config), groups)
    }

    pub fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    /// The groups with their base learning rates.
    pub fn groups(&self) -> &[ParamGroup] {
        self.groups.groups()
    }

    /// The learning rate each group's next step uses, in group order (for logs).
    pub fn current_lrs(&self) -> Vec<f64> {
        self.groups.current_lrs().to_vec()
    }

    /// How many times [`Optimizer::step`] was called.
    pub fn step_count(&self) -> u64 {
        self.step_count
    }

    /// Sets every group's learning rate to its base rate times `factor` (LambdaLR-style).
    pub fn set_lr_factor(&mut self, factor: f64) -> Result<()> {
        self.groups.set_lrs_with(|base| base * factor)
    }

    /// Sets every group's learning rate to what `schedule` gives for its base rate.
    /// Call it before the first step and after each schedule hook.
    pub fn apply_schedule(&mut self, schedule: &Schedule) -> Result<()> {
        self.groups.apply_schedule(schedule)
    }

    /// One update of every parameter that has a gradient in `grads`.
    ///
    /// Every parameter must belong to a group and appear once; gradients must have the
    /// parameter's shape. All checks and all new values are computed before any
    /// parameter changes, so an error leaves parameters and state as they were.
    pub fn step<'a>(
        &mut self,
        params: impl IntoIterator<Item = &'a mut Param<B, E>>,
        grads: &Gradients<B, E>,
    ) -> Result<()>
    where
        B: 'a,
        E: 'a,
    {
        let mut params: Vec<&mut Param<B, E>> = params.into_iter().collect();
        let mut seen = BTreeSet::new();
        // (position, value, gradient, learning rate, weight decay) of each parameter
        // with a gradient, all checked before anything is computed.
        let mut pending = Vec::new();
        for (pos, p) in params.iter().enumerate() {
            let id = p.id();
            if !seen.insert(id) {
                return Err(Error::bad_arg(
                    "Optimizer::step",
                    format!("parameter {id:?} (position {pos}) is listed twice"),
                ));
            }
            let Some(gi) = self.groups.group_of(id) else {
                return Err(Error::bad_arg(
                    "Optimizer::step",
                    format!("parameter {id:?} (position {pos}) belongs to no parameter group"),
                ));
            };
            let Some(grad) = grads.get_id(id) else {
                continue;
            };
            if grad.dims() != p.dims() {
                return Err(Error::mismatch(
                    "Optimizer::step",
                    p.dims(),
                    grad.dims(),
                    format!("the gradient of the parameter at position {pos} has another shape"),
                ));
            }
            let lr = self.groups.current_lrs()[gi];
            let wd = self.groups.groups()[gi].weight_decay;
            pending.push((pos, p.tensor().detach(), grad.detach(), lr, wd));
        }
        let mut updates = Vec::with_capacity(pending.len());
        match &self.algorithm {
            Algorithm::Adam(c) => {
                // Every parameter in one call, so that a GPU updates many per launch.
                let inputs: Vec<AdamInput<'_, B, E>> = pending
                    .iter()
                    .map(|(pos, value, grad, lr, wd)| AdamInput {
                        value,
                        grad,
                        prev: match self.states.get(&params[*pos].id()) {
                            Some(Slots::Adam(s)) => Some(s),
                            _ => None,
                        },
                        lr: *lr,
                        weight_decay: *wd,
                    })
                    .collect();
                if let Some(first) = inputs.first() {
                    let backend = first.value.backend().clone();
                    let results = adam_update_all(c, &backend, &inputs)?;
                    for ((pos, ..), (v, s)) in pending.iter().zip(results) {
                        updates.push((*pos, v, Slots::Adam(s)));
                    }
                }
            }
            Algorithm::Sgd(c) => {
                for (pos, value, grad, lr, wd) in &pending {
                    let (step, buffer) = match self.states.get(&params[*pos].id()) {
                        Some(Slots::Sgd { step, buffer }) => (*step, buffer.as_ref()),
                        _ => (0, None),
                    };
                    let (v, buffer) = sgd_update(c, value, grad, buffer, *lr, *wd)?;
                    let slots = Slots::Sgd {
                        step: step + 1,
                        buffer,
                    };
                    updates.push((*pos, v, slots));
                }
            }
        }
        for (pos, value, slots) in updates {
            let p = &mut params[pos];
            p.set(value)?;
            self.states.insert(p.id(), slots);
        }
        self.step_count += 1;
        Ok(())
    }

    /// The optimiser's state, keyed by each parameter's position in `params` (which
    /// must hold every parameter that has state, each once).
    pub fn export_state<'a>(
        &self,
        params: impl IntoIterator<Item = &'a Param<B, E>>,
    ) -> Result<OptimizerState<B, E>>
    where
        B: 'a,
        E: 'a,
    {
        let mut position_of = BTreeMap::new();
        for (pos, p) in params.into_iter().enumerate() {
            if position_of.insert(p.id(), pos).is_some() {
                return Err(Error::bad_arg(
                    "Optimizer::export_state",
                    format!("parameter {:?} (position {pos}) is listed twice", p.id()),
                ));
            }
        }
        let names = self.algorithm.slot_names();
        let mut out = Vec::with_capacity(self.states.len());
        for (id, slots) in &self.states {
            let Some(&position) = position_of.get(id) else {
                return Err(Error::bad_arg(
                    "Optimizer::export_state",
                    format!(
                        "parameter {id:?} has optimiser state but is not in the list; its state would be lost"
                    ),
                ));
            };
            let tensors = names
                .iter()
                .map(|n| n.to_string())
                .zip(slots.tensors())
                .collect();
            out.push(ParamState {
                position,
                step: slots.step(),
                tensors,
            });
        }
        out.sort_by_key(|s| s.position);
        Ok(OptimizerState {
            algorithm: self.algorithm.name().to_string(),
            step_count: self.step_count,
            params: out,
        })
    }

    /// Replaces the optimiser's state with `state`, mapping positions to `params` (the
    /// same list, in the same order, as at export). Checks the algorithm, positions,
    /// tensor names and shapes; on error nothing changes.
    pub fn import_state<'a>(
        &mut self,
        params: impl IntoIterator<Item = &'a Param<B, E>>,
        state: &OptimizerState<B, E>,
    ) -> Result<()>
    where
        B: 'a,
        E: 'a,
    {
        const OP: &str = "Optimizer::import_state";
        let params: Vec<&Param<B, E>> = params.into_iter().collect();
        if state.algorithm != self.algorithm.name() {
            return Err(Error::bad_arg(
                OP,
                format!(
                    "the state was written by {:?}, this optimiser is {:?}",
                    state.algorithm,
                    self.algorithm.name()
                ),
            ));
        }
        let names = self.algorithm.slot_names();
        let mut states = BTreeMap::new();
        for ps in &state.params {
            let Some(p) = params.get(ps.position) else {
                return Err(Error::bad_arg(
                    OP,
                    format!(
                        "state for position {} but only {} parameters were given",
                        ps.position,
                        params.len()
                    ),
                ));
            };
            let got: Vec<&str> = ps.tensors.iter().map(|(n, _)| n.as_str()).collect();
            if got != names {
                return Err(Error::bad_arg(
                    OP,
                    format!(
                        "position {}: expected state tensors {names:?}, found {got:?}",
                        ps.position
                    ),
                ));
            }
            for (name, t) in &ps.tensors {
                if t.dims() != p.dims() {
                    return Err(Error::mismatch(
                        OP,
                        p.dims(),
                        t.dims(),
                        format!(
                            "state tensor {name:?} of position {} does not have its parameter's shape",
                            ps.position
                        ),
                    ));
                }
            }
            let tensors: Vec<Tensor<B, E>> = ps.tensors.iter().map(|(_, t)| t.detach()).collect();
            let slots = match self.algorithm {
                Algorithm::Adam(_) => Slots::Adam(AdamSlots {
                    step: ps.step,
                    exp_avg: tensors[0].clone(),
                    exp_avg_sq: tensors[1].clone(),
                }),
                Algorithm::Sgd(_) => Slots::Sgd {
                    step: ps.step,
                    buffer: tensors.into_iter().next(),
                },
            };
            if states.insert(p.id(), slots).is_some() {
                return Err(Error::bad_arg(
                    OP,
                    format!(
                        "position {} appears twice (or two positions hold the same parameter)",
                        ps.position
                    ),
                ));
            }
        }
        self.states = states;
        self.step_count = state.step_count;
        Ok(())
    }

    /// Forgets all per-parameter state and the step count (a fresh start with the same
    /// groups and learning rates).
    pub fn reset_state(&mut self) {
        self.states.clear();
        self.step_count = 0;
    }
}

impl<B: Backend, E: Element> core::fmt::Debug for Optimizer<B, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&String> = self.groups().iter().map(|g| &g.name).collect();
        f.debug_struct("Optimizer")
            .field("algorithm", &self.algorithm)
            .field("groups", &names)
            .field("current_lrs", &self.groups.current_lrs())
            .field("step_count", &self.step_count)
            .field("params_with_state", &self.states.len())
            .finish()
    }
}
