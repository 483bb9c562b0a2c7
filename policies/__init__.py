"""Policy packs in YAML and their schema. Not built yet."""

__all__: list[str] = []
