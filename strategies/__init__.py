"""The four rollout strategies (A/B, canary, shadow, interleaved), built on ``interleave``."""

__all__: list[str] = []
