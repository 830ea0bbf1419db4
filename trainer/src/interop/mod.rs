//! Reading other tools' files: [`torch_pt`] reads the state dict of a PyTorch checkpoint
//! (`torch.save`), such as the reference implementation's trained models.

pub mod torch_pt;
