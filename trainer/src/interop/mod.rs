//! Models of the reference implementation (the authors' PyTorch code) in pgcnn: where
//! each pgcnn parameter comes from in the reference's state_dict
//! ([`reference_names`]), and filling a layer or model with those values ([`load`]).
//! docs/interop.md is the user's guide.

pub mod load;
pub mod reference_names;
