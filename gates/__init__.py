"""The gate engine and the pytest plugin (policy -> checks -> verdicts).

Not built yet: ``finegate gate`` and the pytest plugin arrive with the gate engine.
"""

__all__: list[str] = []
