"""Optional Hugging Face ``transformers`` shim for PRISM (extra ``hf``).

:func:`get_prism_hf_classes` returns a ``PretrainedConfig`` / ``PreTrainedModel`` pair built on first use,
so importing biodyn never imports transformers::

    PRISMHFConfig, PRISMHFModel = get_prism_hf_classes()
    hf = PRISMHFModel(PRISMHFConfig.from_prism(cfg))      # or PRISMHFModel.from_prism(model)
    hf.save_pretrained("exported/prism")                   # config.json + model.safetensors
    hf = PRISMHFModel.from_pretrained("exported/prism")
    out = hf(x, modality="ecg", labels=y)                  # {"loss", "logits"} as PRISMForClassification

For biodyn's own export format use :func:`biodyn.models.save_pretrained` on the registered ``prism`` models.
"""

from __future__ import annotations

from functools import cache


@cache
def get_prism_hf_classes():
    """``(PRISMHFConfig, PRISMHFModel)``; ImportError naming the extra when transformers is missing."""
    try:
        from transformers import PretrainedConfig, PreTrainedModel
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the Hugging Face shim needs transformers: pip install 'biodyn[hf]'") from e

    from biodyn.models.prism import PRISMConfig, PRISMForClassification

    class PRISMHFConfig(PretrainedConfig):
        model_type = "biodyn-prism"

        def __init__(self, prism: dict | None = None, **kwargs):
            self.prism = dict(prism or {})
            PRISMConfig(**self.prism)  # validate now, not at model build time
            super().__init__(**kwargs)

        @classmethod
        def from_prism(cls, cfg: PRISMConfig, **kwargs) -> PRISMHFConfig:
            return cls(prism=cfg.to_dict(), **kwargs)

        def to_prism(self) -> PRISMConfig:
            return PRISMConfig(**self.prism)

    class PRISMHFModel(PreTrainedModel):
        config_class = PRISMHFConfig
        base_model_prefix = "prism"
        main_input_name = "x"

        def __init__(self, config: PRISMHFConfig):
            super().__init__(config)
            self.prism = PRISMForClassification(config.to_prism())
            self.post_init()

        def _init_weights(self, module):  # PRISM's modules initialise themselves
            pass

        @classmethod
        def from_prism(cls, model: PRISMForClassification) -> PRISMHFModel:
            hf = cls(PRISMHFConfig.from_prism(model.config))
            hf.prism.load_state_dict(model.state_dict())
            return hf

        def forward(self, x, modality: str, labels=None):
            return self.prism(x, modality=modality, labels=labels)

    return PRISMHFConfig, PRISMHFModel
