"""The small two-layer stream model the model tests build (3 channels, 2 conv blocks, 5 units)."""

from eegseq.models import ConvBlockConfig, ModelConfig


def small_config(implementation: str, *, cell: str, dropout: dict, between_dropout: float, **fields) -> ModelConfig:
    """A ModelConfig of either implementation; ``fields`` (e.g. ``seed``) go to ModelConfig."""
    return ModelConfig(
        channels=3,
        frontend=[
            ConvBlockConfig(filters=4, kernel_size=5, stride=2),
            ConvBlockConfig(filters=4, kernel_size=3, stride=3),
        ],
        rnn={
            "implementation": implementation,
            "layers": 2,
            "cell": cell,
            "units": 5,
            "dropout": dropout,
            "between_dropout": between_dropout,
        },
        step_head=True,
        **fields,
    )
