//! The elementwise maps and reductions the primitives apply, each with its definition on
//! scalars ([`UnaryOp::apply`], [`BinaryOp::apply`]), which every backend must match.

use crate::element::Element;

/// Elementwise maps of one operand. Scalar forms carry their scalar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp<E> {
    Neg,
    Sin,
    Cos,
    Exp,
    Log,
    Relu,
    Sigmoid,
    Tanh,
    Square,
    Sqrt,
    Abs,
    Recip,
    /// -1, 0 or 1.
    Sign,
    /// 1 where x > 0, else 0 (the derivative of ReLU).
    Step,
    AddScalar(E),
    MulScalar(E),
    /// x^p.
    PowScalar(E),
    /// max(x, s).
    MaxScalar(E),
    /// min(x, s).
    MinScalar(E),
    /// 1 where x > s, else 0.
    GreaterScalar(E),
}

impl<E: Element> UnaryOp<E> {
    /// The map itself, on one scalar: the definition every backend must match.
    pub fn apply(self, x: E) -> E {
        use UnaryOp::*;
        let zero = E::zero();
        let one = E::one();
        match self {
            Neg => -x,
            Sin => x.sin(),
            Cos => x.cos(),
            Exp => x.exp(),
            Log => x.ln(),
            Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            Sigmoid => one / (one + (-x).exp()),
            Tanh => x.tanh(),
            Square => x * x,
            Sqrt => x.sqrt(),
            Abs => x.abs(),
            Recip => one / x,
            Sign => {
                if x > zero {
                    one
                } else if x < zero {
                    -one
                } else {
                    zero
                }
            }
            Step => {
                if x > zero {
                    one
                } else {
                    zero
                }
            }
            AddScalar(s) => x + s,
            MulScalar(s) => x * s,
            PowScalar(p) => x.powf(p),
            MaxScalar(s) => {
                if x > s {
                    x
                } else {
                    s
                }
            }
            MinScalar(s) => {
                if x < s {
                    x
                } else {
                    s
                }
            }
            GreaterScalar(s) => {
                if x > s {
                    one
                } else {
                    zero
                }
            }
        }
    }
}

/// Elementwise maps of two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    /// 1 where a == b, else 0.
    Equal,
    /// 1 where a > b, else 0.
    Greater,
}

impl BinaryOp {
    /// The map itself, on one pair of scalars.
    pub fn apply<E: Element>(self, a: E, b: E) -> E {
        use BinaryOp::*;
        match self {
            Add => a + b,
            Sub => a - b,
            Mul => a * b,
            Div => a / b,
            Maximum => {
                if a >= b {
                    a
                } else {
                    b
                }
            }
            Minimum => {
                if a <= b {
                    a
                } else {
                    b
                }
            }
            Equal => {
                if a == b {
                    E::one()
                } else {
                    E::zero()
                }
            }
            Greater => {
                if a > b {
                    E::one()
                } else {
                    E::zero()
                }
            }
        }
    }
}

/// Reductions over one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Max,
    Min,
}
