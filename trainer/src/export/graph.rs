//! Building an ONNX graph: unique value names, constant tensors (initializers) and nodes,
//! one method per operator the export uses.
//!
//! Every value is named after the layer that made it (`blocks.0.conv1/conv`), so a viewer
//! such as Netron shows the network as pgcnn names it.

use super::proto::{
    attribute_type, AttributeProto, Dimension, GraphProto, NodeProto, TensorProto,
    TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto, FLOAT, INT64,
};
use anyhow::{bail, Result};
use std::collections::BTreeSet;

/// A graph under construction.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    names: BTreeSet<String>,
}

/// An attribute of a node.
pub fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i: value,
        ..Default::default()
    }
}

/// An attribute holding a list of integers.
pub fn attr_ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// An attribute holding a float.
pub fn attr_float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::FLOAT,
        f: value,
        ..Default::default()
    }
}

/// A dimension of a graph input or output: a size, or a symbolic name.
#[derive(Clone, Debug)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A size given at run time (the batch).
    Named(&'static str),
}

/// A float tensor input or output of the graph.
pub fn float_value(name: &str, dims: &[Dim], doc: &str) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Dimension {
                dim_value: Some(*n as i64),
                dim_param: None,
            },
            Dim::Named(s) => Dimension {
                dim_value: None,
                dim_param: Some((*s).into()),
            },
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: doc.into(),
    }
}

impl GraphBuilder {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves `name` for a value (a graph input, say), or the first free
    /// `name_2`, `name_3`, ... when it is taken.
    pub fn fresh(&mut self, name: &str) -> String {
        let mut candidate = name.to_string();
        let mut k = 2;
        while self.names.contains(&candidate) {
            candidate = format!("{name}_{k}");
            k += 1;
        }
        self.names.insert(candidate.clone());
        candidate
    }

    /// A constant float tensor of shape `dims`; returns its name.
    pub fn constant(&mut self, name: &str, dims: &[usize], values: &[f32]) -> Result<String> {
        let count: usize = dims.iter().product();
        if count != values.len() {
            bail!(
                "internal error: constant {name} of shape {dims:?} given {} values",
                values.len()
            );
        }
        let name = self.fresh(name);
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            name: name.clone(),
            doc_string: String::new(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        Ok(name)
    }

    /// A constant 1-D int64 tensor (shapes for Reshape); returns its name.
    pub fn constant_i64(&mut self, name: &str, values: &[i64]) -> String {
        let name = self.fresh(name);
        self.initializers.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: INT64,
            name: name.clone(),
            doc_string: String::new(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    /// Appends a node of `op` on `inputs` with one output named after `name`; returns
    /// the output's name.
    pub fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) -> String {
        let out = self.fresh(name);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            domain: String::new(),
            attribute,
            doc_string: String::new(),
        });
        out
    }

    /// A 2-D convolution, stride 1, with `pad` zeros on every side of both axes.
    pub fn conv(
        &mut self,
        name: &str,
        x: &str,
        weight: &str,
        bias: Option<&str>,
        kernel: usize,
        pad: [usize; 2],
    ) -> String {
        let mut inputs = vec![x, weight];
        inputs.extend(bias);
        let k = kernel as i64;
        let [ph, pw] = pad.map(|p| p as i64);
        self.node(
            "Conv",
            name,
            &inputs,
            vec![
                attr_ints("kernel_shape", &[k, k]),
                attr_ints("pads", &[ph, pw, ph, pw]),
                attr_ints("strides", &[1, 1]),
                attr_ints("dilations", &[1, 1]),
                attr_int("group", 1),
            ],
        )
    }

    /// `x` reshaped to `shape` (0 keeps the input's size, -1 is inferred).
    pub fn reshape(&mut self, name: &str, x: &str, shape: &[i64]) -> String {
        let shape = self.constant_i64(&format!("{name}.shape"), shape);
        self.node("Reshape", name, &[x, &shape], Vec::new())
    }

    /// `ReduceMean` or `ReduceMax` (`op`) over `axes`.
    pub fn reduce(&mut self, op: &str, name: &str, x: &str, axes: &[i64], keep: bool) -> String {
        self.node(
            op,
            name,
            &[x],
            vec![
                attr_ints("axes", axes),
                attr_int("keepdims", i64::from(keep)),
            ],
        )
    }

    /// An elementwise operator of two inputs (`Add`, `Sub`, `Mul`, `Div`, `MatMul`).
    pub fn binary(&mut self, op: &str, name: &str, a: &str, b: &str) -> String {
        self.node(op, name, &[a, b], Vec::new())
    }

    /// An operator of one input and no attributes (`Relu`, `Sqrt`).
    pub fn unary(&mut self, op: &str, name: &str, x: &str) -> String {
        self.node(op, name, &[x], Vec::new())
    }

    /// 2×2 max pooling with stride 2 (an odd last row or column is dropped).
    pub fn max_pool(&mut self, name: &str, x: &str) -> String {
        self.node(
            "MaxPool",
            name,
            &[x],
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[2, 2]),
            ],
        )
    }

    /// The graph, with its input and output.
    pub fn finish(
        self,
        name: &str,
        doc: &str,
        input: ValueInfoProto,
        output: ValueInfoProto,
    ) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: name.into(),
            initializer: self.initializers,
            doc_string: doc.into(),
            input: vec![input],
            output: vec![output],
        }
    }
}
