//! The U-Net written into an ONNX graph, mirroring [`UnetGenerator::forward`] layer for layer:
//! convolutions under the reference's state-dict keys, normalisation as export chose it, the
//! skip connections as concatenations.

use std::collections::HashMap;

use super::graph::{Attribute, GraphBuilder};
use crate::model::blocks::{LEAKY_SLOPE, NORM_EPS, NormKind};
use crate::model::pytorch::{HostTensor, level_keys};
use crate::model::{NormMode, UnetGenerator};

/// The U-Net written into a graph, mirroring [`UnetGenerator::forward`] layer for layer.
pub(super) struct UnetGraph {
    pub graph: GraphBuilder,
    pub weights: HashMap<String, HostTensor>,
    pub norm_kind: NormKind,
    pub norm_mode: NormMode,
}

impl UnetGraph {
    pub fn build(&mut self, generator: &UnetGenerator) -> std::result::Result<(), String> {
        let config = generator.config();
        let specs = config.level_specs();
        // Down path: remember each level's input for its skip connection.
        let mut skips = Vec::with_capacity(specs.len());
        let mut hidden = "input".to_string();
        for spec in &specs {
            let depth = spec.depth;
            let keys = level_keys(depth, config.num_downs);
            let activated = if depth == 0 {
                hidden.clone()
            } else {
                let slope = vec![("alpha", Attribute::Float(LEAKY_SLOPE as f32))];
                self.graph.node(
                    "LeakyRelu",
                    &format!("down{depth}.leaky_relu"),
                    &[&hidden],
                    slope,
                )
            };
            skips.push(hidden);
            let conv = self.conv(
                "Conv",
                &format!("down{depth}.conv"),
                &activated,
                &keys.down_conv,
            )?;
            hidden = self.norm(
                &format!("down{depth}.norm"),
                &conv,
                &keys.down_norm,
                spec.down_norm,
            )?;
        }
        // Up path, innermost first; ReLU(concat) = concat of ReLUs, as in the forward pass.
        for (spec, skip) in specs.iter().zip(skips).rev() {
            let depth = spec.depth;
            let keys = level_keys(depth, config.num_downs);
            let activated = self
                .graph
                .node("Relu", &format!("up{depth}.relu"), &[&hidden], vec![]);
            let up = self.conv(
                "ConvTranspose",
                &format!("up{depth}.conv_transpose"),
                &activated,
                &keys.up_conv,
            )?;
            let up = self.norm(&format!("up{depth}.norm"), &up, &keys.up_norm, spec.up_norm)?;
            if depth == 0 {
                self.graph.node("Tanh", "output", &[&up], vec![]);
                return Ok(());
            }
            hidden = if config.skip_connections {
                let axis = vec![("axis", Attribute::Int(1))];
                self.graph
                    .node("Concat", &format!("up{depth}.concat"), &[&skip, &up], axis)
            } else {
                up
            };
        }
        Err("the generator has no levels".into())
    }

    /// The weight `<key>.<name>` as an initializer of the same name.
    fn weight(&mut self, key: &str, name: &str) -> std::result::Result<String, String> {
        let full = format!("{key}.{name}");
        let tensor = self
            .weights
            .remove(&full)
            .ok_or_else(|| format!("the generator has no `{full}`"))?;
        Ok(self.graph.initializer(&full, &tensor.shape, &tensor.values))
    }

    /// A 4×4, stride-2, padding-1 convolution (`Conv` or `ConvTranspose`) with its weights.
    fn conv(
        &mut self,
        op_type: &str,
        name: &str,
        input: &str,
        key: &str,
    ) -> std::result::Result<String, String> {
        let weight = self.weight(key, "weight")?;
        let mut inputs = vec![input.to_string(), weight];
        if self.weights.contains_key(&format!("{key}.bias")) {
            inputs.push(self.weight(key, "bias")?);
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let attributes = vec![
            ("kernel_shape", Attribute::Ints(vec![4, 4])),
            ("strides", Attribute::Ints(vec![2, 2])),
            ("pads", Attribute::Ints(vec![1, 1, 1, 1])),
            ("dilations", Attribute::Ints(vec![1, 1])),
            ("group", Attribute::Int(1)),
        ];
        Ok(self.graph.node(op_type, name, &inputs, attributes))
    }

    /// The norm after a convolution, where the level has one (`channels`).
    fn norm(
        &mut self,
        name: &str,
        input: &str,
        key: &str,
        channels: Option<usize>,
    ) -> std::result::Result<String, String> {
        let Some(channels) = channels else {
            return Ok(input.to_string());
        };
        match (self.norm_kind, self.norm_mode) {
            (NormKind::Batch, NormMode::RunningStats) => self.norm_node(
                "BatchNormalization",
                name,
                input,
                key,
                &["weight", "bias", "running_mean", "running_var"],
            ),
            (NormKind::Batch, _) => self.norm_node(
                "InstanceNormalization",
                name,
                input,
                key,
                &["weight", "bias"],
            ),
            (NormKind::Instance, _) => {
                // The reference's InstanceNorm2d has no scale or shift: ONNX's takes 1 and 0.
                let scale = format!("instance_norm.scale.{channels}");
                let shift = format!("instance_norm.shift.{channels}");
                if !self.graph.has_initializer(&scale) {
                    self.graph
                        .initializer(&scale, &[channels], &vec![1.0; channels]);
                    self.graph
                        .initializer(&shift, &[channels], &vec![0.0; channels]);
                }
                Ok(self.graph.node(
                    "InstanceNormalization",
                    name,
                    &[input, &scale, &shift],
                    epsilon(),
                ))
            }
            (NormKind::None, _) => Ok(input.to_string()),
        }
    }

    /// A norm node reading `input` and the weights `<key>.<parameter>` in order.
    fn norm_node(
        &mut self,
        op_type: &str,
        name: &str,
        input: &str,
        key: &str,
        parameters: &[&str],
    ) -> std::result::Result<String, String> {
        let mut inputs = vec![input.to_string()];
        for parameter in parameters {
            inputs.push(self.weight(key, parameter)?);
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        Ok(self.graph.node(op_type, name, &inputs, epsilon()))
    }
}

/// The normalisation layers' epsilon as an ONNX attribute (PyTorch's default).
fn epsilon() -> Vec<(&'static str, Attribute)> {
    vec![("epsilon", Attribute::Float(NORM_EPS as f32))]
}
