//! Elementwise maps of one tensor, and their scalar forms.

use crate::backend::{Backend, UnaryOp};
use crate::element::Element;
use crate::error::Result;
use crate::tensor::Tensor;
use alloc::vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Applies `op` to every element, recording its derivative.
    pub fn map(&self, op: UnaryOp<E>) -> Result<Self> {
        let y = self.backend().unary(op, self.storage())?;
        Ok(self.record(
            y,
            self.shape().clone(),
            &[self],
            move |xs: &[Tensor<B, E>], y: &Tensor<B, E>, g: &Tensor<B, E>| {
                let x = &xs[0];
                let two = E::one() + E::one();
                use UnaryOp::*;
                let dx = match op {
                    Neg => Some(g.map(Neg)?),
                    Sin => Some(g.mul(&x.map(Cos)?)?),
                    Cos => Some(g.mul(&x.map(Sin)?)?.map(Neg)?),
                    Exp => Some(g.mul(y)?),
                    Log => Some(g.div(x)?),
                    Relu => Some(g.mul(&x.map(Step)?)?),
                    Sigmoid => Some(g.mul(&y.mul(&y.map(Neg)?.map(AddScalar(E::one()))?)?)?),
                    Tanh => Some(g.mul(&y.map(Square)?.map(Neg)?.map(AddScalar(E::one()))?)?),
                    Square => Some(g.mul(&x.map(MulScalar(two))?)?),
                    Sqrt => Some(g.div(&y.map(MulScalar(two))?)?),
                    Abs => Some(g.mul(&x.map(Sign)?)?),
                    Recip => Some(g.mul(&y.map(Square)?)?.map(Neg)?),
                    AddScalar(_) => Some(g.clone()),
                    MulScalar(s) => Some(g.map(MulScalar(s))?),
                    PowScalar(p) => {
                        Some(g.mul(&x.map(PowScalar(p - E::one()))?.map(MulScalar(p))?)?)
                    }
                    MaxScalar(s) => Some(g.mul(&x.map(GreaterScalar(s))?)?),
                    MinScalar(s) => Some(g.mul(&x.map(Neg)?.map(GreaterScalar(-s))?)?),
                    Sign | Step | GreaterScalar(_) => None,
                };
                Ok(vec![dx])
            },
        ))
    }

    pub fn neg(&self) -> Result<Self> {
        self.map(UnaryOp::Neg)
    }
    pub fn sin(&self) -> Result<Self> {
        self.map(UnaryOp::Sin)
    }
    pub fn cos(&self) -> Result<Self> {
        self.map(UnaryOp::Cos)
    }
    pub fn exp(&self) -> Result<Self> {
        self.map(UnaryOp::Exp)
    }
    pub fn log(&self) -> Result<Self> {
        self.map(UnaryOp::Log)
    }
    pub fn relu(&self) -> Result<Self> {
        self.map(UnaryOp::Relu)
    }
    pub fn sigmoid(&self) -> Result<Self> {
        self.map(UnaryOp::Sigmoid)
    }
    pub fn tanh(&self) -> Result<Self> {
        self.map(UnaryOp::Tanh)
    }
    pub fn square(&self) -> Result<Self> {
        self.map(UnaryOp::Square)
    }
    pub fn sqrt(&self) -> Result<Self> {
        self.map(UnaryOp::Sqrt)
    }
    pub fn abs(&self) -> Result<Self> {
        self.map(UnaryOp::Abs)
    }
    pub fn recip(&self) -> Result<Self> {
        self.map(UnaryOp::Recip)
    }
    pub fn add_scalar(&self, s: E) -> Result<Self> {
        self.map(UnaryOp::AddScalar(s))
    }
    /// `self - s`.
    pub fn sub_scalar(&self, s: E) -> Result<Self> {
        self.map(UnaryOp::AddScalar(-s))
    }
    pub fn mul_scalar(&self, s: E) -> Result<Self> {
        self.map(UnaryOp::MulScalar(s))
    }
    /// `self / s`.
    pub fn div_scalar(&self, s: E) -> Result<Self> {
        self.map(UnaryOp::MulScalar(E::one() / s))
    }
    pub fn powf(&self, p: E) -> Result<Self> {
        self.map(UnaryOp::PowScalar(p))
    }
    pub fn clamp_min(&self, s: E) -> Result<Self> {
        self.map(UnaryOp::MaxScalar(s))
    }
    pub fn clamp_max(&self, s: E) -> Result<Self> {
        self.map(UnaryOp::MinScalar(s))
    }
}
