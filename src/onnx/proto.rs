//! The part of the ONNX protobuf schema (`onnx/onnx.proto`, IR version 8) a generator graph
//! needs, as `prost` messages. Field numbers are the schema's; fields the exporter never sets
//! (sparse tensors, functions, training info, external data) are left out, which protobuf
//! allows: a reader sees them as absent. Declared with `prost`'s derive rather than generated
//! from the `.proto` so the build needs no `protoc`.

/// A whole model file: the graph, the IR version and the operator sets it uses.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The ONNX IR version the file follows.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The operator sets the graph's nodes come from (the default domain at one opset).
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The tool that wrote the file.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// Its version.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// A description for people.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The computation.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Free key-value pairs (how the image is scaled, where the weights came from).
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// One key-value pair of metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// An operator set: a domain (empty = the ONNX default) at a version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The domain.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The opset version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// A graph: nodes in topological order, the weights as initializers, inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, each after the nodes it reads from.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant tensors (the weights), referenced by name from the nodes.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// A description for people.
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// The values a caller provides.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The values the graph returns.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// One operator applied to named values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// The names of the values it reads.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// The names of the values it writes.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's own name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator, e.g. `Conv`.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// Its attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// The type of an attribute's value (the schema's `AttributeProto.AttributeType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum AttributeType {
    /// Unset.
    Undefined = 0,
    /// `f`.
    Float = 1,
    /// `i`.
    Int = 2,
    /// `ints`.
    Ints = 7,
}

/// A named attribute of a node: one float, one integer or a list of integers here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name, e.g. `strides`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Which of the value fields holds the value.
    #[prost(enumeration = "AttributeType", tag = "20")]
    pub r#type: i32,
    /// A float value.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// An integer value.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// A list of integers.
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
}

/// The element type of a tensor (the schema's `TensorProto.DataType`): only `FLOAT` is used.
pub const DATA_TYPE_FLOAT: i32 = 1;

/// A constant tensor: shape, element type and little-endian bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// Extents, outermost first.
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// The element type ([`DATA_TYPE_FLOAT`]).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// The name nodes refer to it by.
    #[prost(string, tag = "8")]
    pub name: String,
    /// The values, row-major, each little-endian.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
}

/// A named value with its type: a graph input or output.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its type.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    /// A description for people.
    #[prost(string, tag = "3")]
    pub doc_string: String,
}

/// A value's type: here always a tensor.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// The tensor type.
    #[prost(oneof = "TypeValue", tags = "1")]
    pub value: Option<TypeValue>,
}

/// The kinds of type a value can have: a tensor here.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum TypeValue {
    /// A tensor of one element type and shape.
    #[prost(message, tag = "1")]
    TensorType(TensorTypeProto),
}

/// A tensor type: element type and shape (the schema's `TypeProto.Tensor`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorTypeProto {
    /// The element type ([`DATA_TYPE_FLOAT`]).
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    /// The shape.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// A shape: one dimension per axis, each a number or a symbol.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The axes, outermost first.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// One axis of a shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    /// Its extent or its symbol.
    #[prost(oneof = "DimensionValue", tags = "1, 2")]
    pub value: Option<DimensionValue>,
}

/// An axis' extent: a number, or a symbol the caller fixes (`height`).
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DimensionValue {
    /// A fixed extent.
    #[prost(int64, tag = "1")]
    DimValue(i64),
    /// A symbolic extent.
    #[prost(string, tag = "2")]
    DimParam(String),
}
