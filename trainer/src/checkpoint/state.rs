//! Helpers that store the trainer's state in a [`Checkpoint`] and read it back: numbers
//! and RNG states in the metadata, backend tensors, model parameters, optimiser and
//! learning-rate schedule state. Every reader checks what it reads and names the key.

use super::error::{CheckpointError, Result};
use super::{Checkpoint, NamedTensor};
use pgcnn_core::optim::{OptimizerState, ParamState, PlateauState, ScheduleState};
use pgcnn_core::rng::Rng;
use pgcnn_core::{Backend, Param, Tensor};

impl Checkpoint {
    /// The metadata value under `key`, or [`CheckpointError::Missing`].
    pub fn meta(&self, key: &str) -> Result<&str> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| CheckpointError::Missing(format!("metadata entry {key:?}")))
    }

    /// Stores `value` under `key` as a decimal string.
    pub fn set_u64(&mut self, key: &str, value: u64) {
        self.metadata.insert(key.to_string(), value.to_string());
    }

    /// Reads a value stored with [`Checkpoint::set_u64`].
    pub fn u64(&self, key: &str) -> Result<u64> {
        parse_u64(key, self.meta(key)?)
    }

    /// Stores `value` under `key` in Rust's shortest round-trip form (`inf`, `NaN`
    /// included), so [`Checkpoint::f64`] returns the same bits (NaN payloads aside).
    pub fn set_f64(&mut self, key: &str, value: f64) {
        self.metadata.insert(key.to_string(), value.to_string());
    }

    /// Reads a value stored with [`Checkpoint::set_f64`].
    pub fn f64(&self, key: &str) -> Result<f64> {
        let text = self.meta(key)?;
        text.parse::<f64>().map_err(|_| {
            CheckpointError::Invalid(format!("metadata {key:?} = {text:?} is not a number"))
        })
    }

    /// Stores a list of u64 under `key` as decimal numbers separated by commas.
    pub fn set_u64s(&mut self, key: &str, values: &[u64]) {
        let text: Vec<String> = values.iter().map(u64::to_string).collect();
        self.metadata.insert(key.to_string(), text.join(","));
    }

    /// Reads a list stored with [`Checkpoint::set_u64s`].
    pub fn u64s(&self, key: &str) -> Result<Vec<u64>> {
        let text = self.meta(key)?;
        if text.is_empty() {
            return Ok(Vec::new());
        }
        text.split(',').map(|s| parse_u64(key, s)).collect()
    }

    /// Stores the state of `rng` under `key` (by convention `rng.<purpose>`, e.g.
    /// `rng.data`), so that a resumed run draws the same numbers.
    pub fn set_rng(&mut self, key: &str, rng: &Rng) {
        self.set_u64s(key, &rng.state());
    }

    /// Restores an RNG stored with [`Checkpoint::set_rng`].
    pub fn rng(&self, key: &str) -> Result<Rng> {
        let words = self.u64s(key)?;
        let state: [u64; 4] = words.as_slice().try_into().map_err(|_| {
            CheckpointError::Invalid(format!(
                "metadata {key:?} holds {} numbers, an RNG state has 4",
                words.len()
            ))
        })?;
        Ok(Rng::from_state(state))
    }

    /// Downloads `tensor` and stores it under `name`.
    pub fn put_tensor<B: Backend>(&mut self, name: &str, tensor: &Tensor<B, f32>) -> Result<()> {
        let data = tensor.to_vec()?;
        self.push(NamedTensor::new(name, tensor.dims().to_vec(), data)?)
    }

    /// Uploads the tensor called `name` to `backend`, checking its shape against
    /// `expected_dims` when given (a model built from the same config expects the same
    /// shapes; a difference means the file does not belong to this model).
    pub fn load_tensor<B: Backend>(
        &self,
        backend: &B,
        name: &str,
        expected_dims: Option<&[usize]>,
    ) -> Result<Tensor<B, f32>> {
        let t = self.require_tensor(name)?;
        if let Some(dims) = expected_dims {
            if t.dims != dims {
                return Err(CheckpointError::Invalid(format!(
                    "tensor {name:?} has shape {:?} in the checkpoint, the model expects {dims:?}",
                    t.dims
                )));
            }
        }
        Ok(Tensor::from_slice(backend, &t.data, t.dims.clone())?)
    }

    /// Stores the values of named parameters (names chosen by the model, unique).
    pub fn put_params<'a, B, S>(
        &mut self,
        params: impl IntoIterator<Item = (S, &'a Param<B, f32>)>,
    ) -> Result<()>
    where
        B: Backend + 'a,
        S: AsRef<str>,
    {
        for (name, p) in params {
            self.put_tensor(name.as_ref(), p.tensor())?;
        }
        Ok(())
    }

    /// Sets named parameters from the checkpoint. Every tensor is found and
    /// shape-checked before any parameter changes, so on error the model is untouched.
    pub fn load_params<'a, B, S>(
        &self,
        params: impl IntoIterator<Item = (S, &'a mut Param<B, f32>)>,
    ) -> Result<()>
    where
        B: Backend + 'a,
        S: AsRef<str>,
    {
        let mut loaded = Vec::new();
        for (name, p) in params {
            let t = self.load_tensor(p.tensor().backend(), name.as_ref(), Some(p.dims()))?;
            loaded.push((p, t));
        }
        for (p, t) in loaded {
            p.set(t)?;
        }
        Ok(())
    }

    /// Stores an optimiser's state: tensors `optim.<position>.<slot>`, metadata
    /// `optim.algorithm`, `optim.step_count`, `optim.positions` (the positions that have
    /// state), `optim.slots` (slot names in the optimiser's order) and
    /// `optim.<position>.step`.
    pub fn put_optimizer_state<B: Backend>(
        &mut self,
        state: &OptimizerState<B, f32>,
    ) -> Result<()> {
        self.metadata
            .insert("optim.algorithm".to_string(), state.algorithm.clone());
        self.set_u64("optim.step_count", state.step_count);
        let positions: Vec<u64> = state.params.iter().map(|p| p.position as u64).collect();
        self.set_u64s("optim.positions", &positions);
        let slots: Vec<&str> = state
            .params
            .first()
            .map(|p| p.tensors.iter().map(|(n, _)| n.as_str()).collect())
            .unwrap_or_default();
        self.metadata
            .insert("optim.slots".to_string(), slots.join(","));
        for p in &state.params {
            let names: Vec<&str> = p.tensors.iter().map(|(n, _)| n.as_str()).collect();
            if names != slots {
                return Err(CheckpointError::Invalid(format!(
                    "optimiser state of position {} has slots {names:?}, the others {slots:?}",
                    p.position
                )));
            }
            self.set_u64(&format!("optim.{}.step", p.position), p.step);
            for (slot, t) in &p.tensors {
                self.put_tensor(&format!("optim.{}.{slot}", p.position), t)?;
            }
        }
        Ok(())
    }

    /// Rebuilds on `backend` the optimiser state stored by
    /// [`Checkpoint::put_optimizer_state`]; the optimiser's `import_state` then checks it
    /// against the model's parameters.
    pub fn optimizer_state<B: Backend>(&self, backend: &B) -> Result<OptimizerState<B, f32>> {
        let algorithm = self.meta("optim.algorithm")?.to_string();
        let step_count = self.u64("optim.step_count")?;
        let slots_text = self.meta("optim.slots")?;
        let slots: Vec<&str> = if slots_text.is_empty() {
            Vec::new()
        } else {
            slots_text.split(',').collect()
        };
        // Each tensor is uploaded once at most: a position or slot listed twice would
        // make a small file allocate many copies of its tensors.
        if let Some(slot) = first_repeat(slots.iter().copied()) {
            return Err(CheckpointError::Invalid(format!(
                "metadata \"optim.slots\" lists slot {slot:?} twice"
            )));
        }
        let positions = self.u64s("optim.positions")?;
        if let Some(position) = first_repeat(positions.iter().copied()) {
            return Err(CheckpointError::Invalid(format!(
                "metadata \"optim.positions\" lists position {position} twice"
            )));
        }
        let mut params = Vec::new();
        for position in positions {
            let position = usize::try_from(position).map_err(|_| {
                CheckpointError::Invalid(format!("optimiser position {position} is too large"))
            })?;
            let step = self.u64(&format!("optim.{position}.step"))?;
            let mut tensors = Vec::with_capacity(slots.len());
            for slot in &slots {
                let t = self.load_tensor(backend, &format!("optim.{position}.{slot}"), None)?;
                tensors.push((slot.to_string(), t));
            }
            params.push(ParamState {
                position,
                step,
                tensors,
            });
        }
        Ok(OptimizerState {
            algorithm,
            step_count,
            params,
        })
    }

    /// Stores a learning-rate schedule's progress under `schedule.*`.
    pub fn put_schedule_state(&mut self, state: &ScheduleState) {
        self.set_u64("schedule.iteration", state.iteration);
        self.set_u64("schedule.epoch", state.epoch);
        self.metadata
            .retain(|k, _| !k.starts_with("schedule.plateau."));
        if let Some(p) = &state.plateau {
            self.set_f64("schedule.plateau.best", p.best);
            self.set_u64("schedule.plateau.num_bad_epochs", p.num_bad_epochs);
            self.set_u64("schedule.plateau.cooldown_counter", p.cooldown_counter);
            self.set_u64("schedule.plateau.reductions", p.reductions);
        }
    }

    /// Reads a schedule's progress stored by [`Checkpoint::put_schedule_state`].
    pub fn schedule_state(&self) -> Result<ScheduleState> {
        let plateau = if self.metadata.contains_key("schedule.plateau.best") {
            Some(PlateauState {
                best: self.f64("schedule.plateau.best")?,
                num_bad_epochs: self.u64("schedule.plateau.num_bad_epochs")?,
                cooldown_counter: self.u64("schedule.plateau.cooldown_counter")?,
                reductions: self.u64("schedule.plateau.reductions")?,
            })
        } else {
            None
        };
        Ok(ScheduleState {
            iteration: self.u64("schedule.iteration")?,
            epoch: self.u64("schedule.epoch")?,
            plateau,
        })
    }
}

/// The first item that occurs a second time, if any.
fn first_repeat<T: Ord + Copy>(items: impl IntoIterator<Item = T>) -> Option<T> {
    let mut seen = std::collections::BTreeSet::new();
    items.into_iter().find(|&x| !seen.insert(x))
}

fn parse_u64(key: &str, text: &str) -> Result<u64> {
    text.parse::<u64>().map_err(|_| {
        CheckpointError::Invalid(format!(
            "metadata {key:?}: {text:?} is not a non-negative integer"
        ))
    })
}
