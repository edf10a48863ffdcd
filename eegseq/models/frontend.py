"""The causal convolutional front-end and its receptive field."""

from __future__ import annotations

import math

import tf_keras as keras

from eegseq.models.config import ConvBlockConfig


def receptive_field(blocks: list[ConvBlockConfig]) -> int:
    """Input samples that one front-end output depends on: ``1 + Σ (k_i - 1) Π_{j<i} s_j``."""
    field, jump = 1, 1
    for block in blocks:
        field += (block.kernel_size - 1) * jump
        jump *= block.stride
    return field


def total_stride(blocks: list[ConvBlockConfig]) -> int:
    """Input samples per front-end output step."""
    return math.prod(block.stride for block in blocks)


def context_samples(blocks: list[ConvBlockConfig]) -> int:
    """Left context a window needs for exact streaming: ``receptive_field - 1`` rounded up to a
    multiple of the total stride, so the context's outputs can be dropped whole."""
    stride = total_stride(blocks)
    return math.ceil((receptive_field(blocks) - 1) / stride) * stride


def frontend_layers(blocks: list[ConvBlockConfig], normalization: str) -> list[keras.layers.Layer]:
    """Causal strided convolutions, each followed by per-timestep layer normalisation and GELU.

    Layer normalisation over channels at each timestep is causal and the same in training and
    inference, so it keeps outputs independent of how a recording is cut into windows.
    """
    layers: list[keras.layers.Layer] = []
    for index, block in enumerate(blocks):
        layers.append(
            keras.layers.Conv1D(
                block.filters, block.kernel_size, strides=block.stride, padding="causal", name=f"conv_{index}"
            )
        )
        if normalization == "layer":
            layers.append(keras.layers.LayerNormalization(name=f"norm_{index}"))
        layers.append(keras.layers.Activation("gelu", name=f"act_{index}"))
    return layers
