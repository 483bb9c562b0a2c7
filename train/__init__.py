"""Training backends (lora, qlora, dp-sgd) and the data pipeline.

Not built yet: ``finegate train`` arrives with the training plugin.
"""

__all__: list[str] = []
