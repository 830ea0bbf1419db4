//! A model's learned state (parameters and buffers) into a checkpoint and back.

use crate::checkpoint::{Checkpoint, O2_CONVENTION, O2_CONVENTION_KEY};
use anyhow::{bail, Context, Result};
use pgcnn_core::layers::LayerParams;
use pgcnn_core::models::{BufferValue, Model};
use pgcnn_core::Backend;
use pgcnn_core::GroupKind;

/// Loads the model's parameters and buffers from a checkpoint (every shape is checked
/// before anything changes).
pub fn restore_model<B: Backend>(ck: &Checkpoint, model: &mut Model<B, f32>) -> Result<()> {
    if model.config().conv.group == GroupKind::E2
        && ck.metadata.get(O2_CONVENTION_KEY).map(String::as_str) != Some(O2_CONVENTION)
    {
        bail!(
            "this E(2) checkpoint was written before pgcnn took the reference \
             implementation's E(2) conventions (the kernel net's rotation coordinate and the \
             order of the mirrored samples, docs/math.md §11): its weights would compute \
             another network now; train it again"
        );
    }
    let names = model.param_names();
    ck.load_params(names.iter().zip(model.params_mut()))
        .context("restoring the parameters")?;
    for (name, value) in model.buffers() {
        let restored = match value {
            BufferValue::Tensor(t) => {
                let backend = t.backend().clone();
                BufferValue::Tensor(ck.load_tensor::<B>(&backend, &name, Some(t.dims()))?)
            }
            BufferValue::Count(_) => BufferValue::Count(ck.u64(&format!("buffer.{name}"))?),
        };
        model
            .set_buffer(&name, restored)
            .with_context(|| format!("restoring buffer {name}"))?;
    }
    Ok(())
}

/// Stores the model's parameters and buffers in `ck` (what [`restore_model`] reads).
pub fn store_model<B: Backend>(ck: &mut Checkpoint, model: &Model<B, f32>) -> Result<()> {
    let names = model.param_names();
    ck.put_params(names.iter().zip(model.params()))?;
    for (name, value) in model.buffers() {
        match value {
            BufferValue::Tensor(t) => ck.put_tensor(&name, &t)?,
            BufferValue::Count(c) => ck.set_u64(&format!("buffer.{name}"), c),
        }
    }
    Ok(())
}
