//! Parameter groups: which parameters share a learning rate and a weight decay.
//!
//! The trainer has three (docs/math.md §10): the partial-equivariance logits θ with
//! `lr_probs`, the SIREN frequencies ω0 with `lr_omega0`, and everything else with `lr`.
//! Each group keeps its *base* learning rate; a schedule scales the base rates into the
//! *current* ones that the next step uses.

use crate::autodiff::ParamId;
use crate::error::{Error, Result};
use crate::optim::schedule::Schedule;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A set of parameters updated with the same base learning rate and weight decay.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamGroup {
    /// A name for logs ("weights", "probs", "omega0", ...).
    pub name: String,
    /// The base learning rate, before any schedule.
    pub lr: f64,
    /// L2 weight decay added to the gradient (`g + weight_decay·p`, as torch.optim does);
    /// 0 turns it off.
    pub weight_decay: f64,
    /// The parameters of the group. A parameter belongs to at most one group.
    pub params: Vec<ParamId>,
}

impl ParamGroup {
    /// A group with no weight decay.
    pub fn new(
        name: impl Into<String>,
        lr: f64,
        params: impl IntoIterator<Item = ParamId>,
    ) -> Self {
        ParamGroup {
            name: name.into(),
            lr,
            weight_decay: 0.0,
            params: params.into_iter().collect(),
        }
    }

    /// The same group with the given weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

/// The groups of one optimiser, their current learning rates and a lookup from
/// parameter to group.
#[derive(Clone, Debug)]
pub(crate) struct Groups {
    groups: Vec<ParamGroup>,
    current_lrs: Vec<f64>,
    group_of: BTreeMap<ParamId, usize>,
}

impl Groups {
    /// Checks the groups: rates and decays finite and non-negative, no parameter twice.
    pub(crate) fn new(groups: Vec<ParamGroup>) -> Result<Self> {
        let mut group_of = BTreeMap::new();
        for (gi, g) in groups.iter().enumerate() {
            check_non_negative("ParamGroup", &g.name, "lr", g.lr)?;
            check_non_negative("ParamGroup", &g.name, "weight_decay", g.weight_decay)?;
            for &id in &g.params {
                if let Some(other) = group_of.insert(id, gi) {
                    return Err(Error::bad_arg(
                        "ParamGroup",
                        format!(
                            "parameter {id:?} is in group {:?} and in group {:?}; a parameter belongs to one group",
                            groups[other].name, g.name
                        ),
                    ));
                }
            }
        }
        let current_lrs = groups.iter().map(|g| g.lr).collect();
        Ok(Groups {
            groups,
            current_lrs,
            group_of,
        })
    }

    pub(crate) fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    pub(crate) fn current_lrs(&self) -> &[f64] {
        &self.current_lrs
    }

    /// The index of the group holding `id`.
    pub(crate) fn group_of(&self, id: ParamId) -> Option<usize> {
        self.group_of.get(&id).copied()
    }

    /// Sets every group's current rate to `f(base rate)`. Rejects a non-finite or
    /// negative result and then changes nothing.
    pub(crate) fn set_lrs_with(&mut self, f: impl Fn(f64) -> f64) -> Result<()> {
        let lrs: Vec<f64> = self.groups.iter().map(|g| f(g.lr)).collect();
        for (g, &lr) in self.groups.iter().zip(&lrs) {
            check_non_negative("Optimizer::set_lr", &g.name, "scheduled lr", lr)?;
        }
        self.current_lrs = lrs;
        Ok(())
    }

    pub(crate) fn apply_schedule(&mut self, schedule: &Schedule) -> Result<()> {
        self.set_lrs_with(|base| schedule.lr(base))
    }
}

fn check_non_negative(op: &'static str, group: &str, what: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(Error::bad_arg(
            op,
            format!("group {group:?}: {what} must be finite and >= 0, got {v}"),
        ));
    }
    Ok(())
}
