//! Filling a pgcnn layer or model with a reference state_dict's values, through the name
//! mapping of [`super::reference_names`]; every name or shape that does not fit is an
//! error naming it, and every reference tensor must be used or known to be no parameter.

use super::reference_names::{
    conv_source, fits, is_ignored, model_source, strip_data_parallel, ConvNaming, Part, Source,
};
use crate::config::Config;
use pgcnn_core::layers::LayerParams;
use pgcnn_core::models::{BufferValue, Model};
use pgcnn_core::{Backend, Tensor};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// One tensor of a reference state_dict, as f32 values.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceTensor {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

/// A reference state_dict by name (DataParallel's `module.` removed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReferenceTensors(pub BTreeMap<String, ReferenceTensor>);

impl ReferenceTensors {
    /// The tensors of `entries`, with `module.` removed from their names.
    pub fn new(entries: impl IntoIterator<Item = (String, ReferenceTensor)>) -> Self {
        ReferenceTensors(
            entries
                .into_iter()
                .map(|(n, t)| (strip_data_parallel(&n).to_string(), t))
                .collect(),
        )
    }
}

/// Why reference values could not become pgcnn parameters.
#[derive(Debug, Error, PartialEq)]
pub enum ImportError {
    /// pgcnn has a parameter the mapping knows no reference name for.
    #[error("pgcnn's parameter {ours} has no counterpart in the reference's names")]
    Unmapped {
        /// pgcnn's name.
        ours: String,
    },
    /// The mapped reference tensor is not in the state_dict.
    #[error("pgcnn's parameter {ours} should come from {theirs}, which the state_dict does not hold (is the config the one the model was trained with?)")]
    Missing {
        /// pgcnn's name.
        ours: String,
        /// The reference's name.
        theirs: String,
    },
    /// The shapes do not fit.
    #[error("{theirs} has shape {their_shape:?}, which cannot fill pgcnn's {ours} of shape {our_shape:?} (is the config the one the model was trained with?)")]
    Shape {
        /// pgcnn's name.
        ours: String,
        /// pgcnn's shape.
        our_shape: Vec<usize>,
        /// The reference's name (with the part taken).
        theirs: String,
        /// The reference's shape.
        their_shape: Vec<usize>,
    },
    /// The state_dict holds tensors no pgcnn parameter takes.
    #[error("the state_dict holds tensors that no parameter of the configured pgcnn model takes: {}{} (is the config the one the model was trained with?)", names.join(", "), if *more > 0 { format!(" and {more} more") } else { String::new() })]
    Unused {
        /// The first few unused names.
        names: Vec<String>,
        /// How many more.
        more: usize,
    },
    /// A learned SIREN ω0 differs between the layers of one kernel net.
    #[error("{first} = {a} but {other} = {b}: pgcnn learns one ω0 per kernel net, so a model whose layers learned different ω0 cannot be imported")]
    Omega0 {
        /// The first layer's name.
        first: String,
        /// Its value.
        a: f32,
        /// The disagreeing layer's name.
        other: String,
        /// Its value.
        b: f32,
    },
    /// pgcnn refused the values (a backend error).
    #[error("setting {ours}: {message}")]
    Set {
        /// pgcnn's name.
        ours: String,
        /// What pgcnn said.
        message: String,
    },
}

/// Tracks which reference tensors have been taken.
struct Taker<'a> {
    tensors: &'a ReferenceTensors,
    used: BTreeSet<String>,
}

impl<'a> Taker<'a> {
    fn new(tensors: &'a ReferenceTensors) -> Self {
        Taker {
            tensors,
            used: BTreeSet::new(),
        }
    }

    /// The values of `source` for pgcnn's `ours` of shape `shape`.
    fn take(
        &mut self,
        ours: &str,
        source: &Source,
        shape: &[usize],
    ) -> Result<Vec<f32>, ImportError> {
        let t = self
            .tensors
            .0
            .get(&source.name)
            .ok_or_else(|| ImportError::Missing {
                ours: ours.into(),
                theirs: source.name.clone(),
            })?;
        self.used.insert(source.name.clone());
        let (values, their_shape) = match source.part {
            Part::Whole => (t.values.clone(), t.shape.clone()),
            Part::Range(a, b) if b <= t.values.len() && a <= b => {
                (t.values[a..b].to_vec(), vec![b - a])
            }
            Part::Range(..) => (Vec::new(), t.shape.clone()),
        };
        if !fits(shape, &their_shape) || values.len() != shape.iter().product::<usize>() {
            return Err(ImportError::Shape {
                ours: ours.into(),
                our_shape: shape.to_vec(),
                theirs: source.to_string(),
                their_shape: t.shape.clone(),
            });
        }
        Ok(values)
    }

    /// Every SIREN layer's learned ω0 under `kernel_net` agrees (pgcnn has one).
    fn check_omega0(&self, kernel_net: &str) -> Result<(), ImportError> {
        let prefix = format!("{kernel_net}.kernel_net.");
        let mut seen: Option<(String, f32)> = None;
        for (name, t) in self.tensors.0.range(prefix.clone()..) {
            if !name.starts_with(&prefix) {
                break;
            }
            if !name.ends_with(".omega_0") || t.values.len() != 1 {
                continue;
            }
            match &seen {
                None => seen = Some((name.clone(), t.values[0])),
                Some((first, a)) if *a != t.values[0] => {
                    return Err(ImportError::Omega0 {
                        first: first.clone(),
                        a: *a,
                        other: name.clone(),
                        b: t.values[0],
                    })
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The reference tensors nobody took that are parameters.
    fn unused(&self, config: &Config) -> Result<(), ImportError> {
        let left: Vec<String> = self
            .tensors
            .0
            .keys()
            .filter(|n| !self.used.contains(*n) && !is_ignored(n, config))
            .cloned()
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        const SHOWN: usize = 6;
        Err(ImportError::Unused {
            more: left.len().saturating_sub(SHOWN),
            names: left.into_iter().take(SHOWN).collect(),
        })
    }
}

fn set<B: Backend>(
    ours: &str,
    param: &mut pgcnn_core::autodiff::Param<B, f32>,
    values: &[f32],
) -> Result<(), ImportError> {
    let backend = param.tensor().backend().clone();
    let err = |e: pgcnn_core::Error| ImportError::Set {
        ours: ours.into(),
        message: e.to_string(),
    };
    let t = Tensor::from_slice(&backend, values, param.dims().to_vec()).map_err(err)?;
    param.set(t).map_err(err)
}

/// Loads one convolution (lifting, group or pointwise) from reference tensors named
/// `prefix` + the reference's layer-relative names. `rotations` is N_r (see
/// [`conv_source`]). Returns the reference names used.
pub fn load_conv<B: Backend, L: LayerParams<B, f32>>(
    layer: &mut L,
    naming: &ConvNaming,
    rotations: usize,
    tensors: &ReferenceTensors,
    prefix: &str,
) -> Result<BTreeSet<String>, ImportError> {
    let mut taker = Taker::new(tensors);
    let names = layer.param_names();
    for (name, param) in names.iter().zip(layer.params_mut()) {
        let mut source = conv_source(naming, rotations, name)
            .ok_or_else(|| ImportError::Unmapped { ours: name.clone() })?;
        source.name = format!("{prefix}{}", source.name);
        let values = taker.take(name, &source, param.dims())?;
        set(name, param, &values)?;
    }
    taker.check_omega0(&format!("{prefix}kernelnet"))?;
    Ok(taker.used)
}

/// Loads a whole model built from `config` (its parameters and batch-norm statistics)
/// from a reference state_dict. Every pgcnn parameter must find its tensor, and every
/// reference tensor that is a parameter must be taken.
pub fn load_model<B: Backend>(
    model: &mut Model<B, f32>,
    config: &Config,
    tensors: &ReferenceTensors,
) -> Result<(), ImportError> {
    let mut taker = Taker::new(tensors);
    let names = model.param_names();
    for (name, param) in names.iter().zip(model.params_mut()) {
        let source = model_source(config, name)
            .ok_or_else(|| ImportError::Unmapped { ours: name.clone() })?;
        let values = taker.take(name, &source, param.dims())?;
        set(name, param, &values)?;
        if let Some(net) = source.name.strip_suffix(".kernel_net.0.omega_0") {
            taker.check_omega0(net)?;
        }
    }
    for (name, value) in model.buffers() {
        let source = model_source(config, &name)
            .ok_or_else(|| ImportError::Unmapped { ours: name.clone() })?;
        let restored = match value {
            BufferValue::Tensor(t) => {
                let values = taker.take(&name, &source, t.dims())?;
                let backend = t.backend().clone();
                BufferValue::Tensor(
                    Tensor::from_slice(&backend, &values, t.dims().to_vec()).map_err(|e| {
                        ImportError::Set {
                            ours: name.clone(),
                            message: e.to_string(),
                        }
                    })?,
                )
            }
            // A batch norm's count of batches seen: an integer tensor in PyTorch, which
            // a reader may leave out; pgcnn's norms use their momentum, not the count.
            BufferValue::Count(_) if !tensors.0.contains_key(&source.name) => BufferValue::Count(0),
            BufferValue::Count(_) => {
                let values = taker.take(&name, &source, &[1])?;
                BufferValue::Count(values[0].max(0.0) as u64)
            }
        };
        model
            .set_buffer(&name, restored)
            .map_err(|e| ImportError::Set {
                ours: name.clone(),
                message: e.to_string(),
            })?;
    }
    taker.unused(config)
}
