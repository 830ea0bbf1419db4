//! Models of the reference implementation (the authors' PyTorch code) in pgcnn:
//! [`torch_pt`] reads the state dict of a PyTorch checkpoint (`torch.save`), such as the
//! reference's trained models; [`reference_names`] says where each pgcnn parameter
//! comes from in it; [`load`] fills a layer or model with those values; [`import`] is
//! `pgcnn import`. docs/interop.md is the user's guide.

pub mod import;
pub mod load;
pub mod reference_names;
pub mod torch_pt;
