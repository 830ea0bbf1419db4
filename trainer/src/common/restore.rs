//! A model's learned state put back from a checkpoint.

use crate::checkpoint::Checkpoint;
use anyhow::{Context, Result};
use pgcnn_core::layers::LayerParams;
use pgcnn_core::models::{BufferValue, Model};
use pgcnn_core::Backend;

/// Loads the model's parameters and buffers from a checkpoint (every shape is checked
/// before anything changes).
pub fn restore_model<B: Backend>(ck: &Checkpoint, model: &mut Model<B, f32>) -> Result<()> {
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
