//! Building an ONNX graph node by node: each node's output is named after the node, weights
//! become initializers under the reference's state-dict keys.

use super::proto::{
    AttributeProto, AttributeType, DATA_TYPE_FLOAT, Dimension, DimensionValue, GraphProto,
    NodeProto, TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, TypeValue,
    ValueInfoProto,
};

/// One axis of a graph input or output: fixed, or a symbol the caller fixes.
#[derive(Clone, Debug, PartialEq)]
pub enum Axis {
    /// A fixed extent.
    Fixed(usize),
    /// A named symbolic extent (`height`).
    Symbol(&'static str),
}

/// A node attribute's value.
pub enum Attribute {
    /// One float.
    Float(f32),
    /// One integer.
    Int(i64),
    /// A list of integers.
    Ints(Vec<i64>),
}

/// A graph being built: nodes in order, initializers, and the byte count of the weights.
#[derive(Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    weight_bytes: usize,
}

impl GraphBuilder {
    /// Adds `op_type` reading `inputs`; its one output is named `name`, which is returned.
    pub fn node(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[&str],
        attributes: Vec<(&str, Attribute)>,
    ) -> String {
        let attribute = attributes
            .into_iter()
            .map(|(name, value)| {
                let mut proto = AttributeProto {
                    name: name.to_string(),
                    ..AttributeProto::default()
                };
                let kind = match value {
                    Attribute::Float(f) => {
                        proto.f = f;
                        AttributeType::Float
                    }
                    Attribute::Int(i) => {
                        proto.i = i;
                        AttributeType::Int
                    }
                    Attribute::Ints(ints) => {
                        proto.ints = ints;
                        AttributeType::Ints
                    }
                };
                proto.r#type = kind as i32;
                proto
            })
            .collect();
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|input| input.to_string()).collect(),
            output: vec![name.to_string()],
            name: name.to_string(),
            op_type: op_type.to_string(),
            attribute,
        });
        name.to_string()
    }

    /// Adds an f32 constant `name` of `shape` (values row-major); returns its name.
    pub fn initializer(&mut self, name: &str, shape: &[usize], values: &[f32]) -> String {
        let raw_data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.weight_bytes += raw_data.len();
        self.initializers.push(TensorProto {
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: DATA_TYPE_FLOAT,
            name: name.to_string(),
            raw_data,
        });
        name.to_string()
    }

    /// Whether an initializer of this name exists already.
    pub fn has_initializer(&self, name: &str) -> bool {
        self.initializers.iter().any(|tensor| tensor.name == name)
    }

    /// Bytes of weights added so far.
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    /// The finished graph with one f32 input and one f32 output of the given shapes.
    pub fn finish(
        self,
        name: &str,
        input: (&str, &[Axis], &str),
        output: (&str, &[Axis], &str),
    ) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: name.to_string(),
            initializer: self.initializers,
            doc_string: String::new(),
            input: vec![value_info(input)],
            output: vec![value_info(output)],
        }
    }
}

/// A tensor value's declaration: name, f32, shape, and a description.
fn value_info((name, axes, doc): (&str, &[Axis], &str)) -> ValueInfoProto {
    let dim = axes
        .iter()
        .map(|axis| Dimension {
            value: Some(match axis {
                Axis::Fixed(extent) => DimensionValue::DimValue(*extent as i64),
                Axis::Symbol(symbol) => DimensionValue::DimParam(symbol.to_string()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(TypeValue::TensorType(TensorTypeProto {
                elem_type: DATA_TYPE_FLOAT,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        doc_string: doc.to_string(),
    }
}
