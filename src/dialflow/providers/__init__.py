"""Telephony and messaging providers behind one protocol, chosen per workflow by name.

``default_registry()`` gives a registry with the built-in simulator as ``"simulator"`` (voice,
SMS and email); real providers register next to it under their own names.
"""

from __future__ import annotations

from dialflow.providers.base import (
    TRANSCRIPT_ROLES,
    CallRequest,
    CallResult,
    CallStarted,
    MessageChannel,
    MessageProvider,
    MessageRequest,
    MessageResult,
    ProviderError,
    ProviderRegistry,
    UnknownCall,
    UnknownProvider,
    VoiceProvider,
)
from dialflow.providers.simulator import (
    DEFAULT_RECORDING_BASE_URL,
    Simulator,
    SimulatorConfig,
    simulated_recording,
)

__all__ = [
    "TRANSCRIPT_ROLES",
    "CallRequest",
    "CallResult",
    "CallStarted",
    "MessageChannel",
    "MessageProvider",
    "MessageRequest",
    "MessageResult",
    "ProviderError",
    "ProviderRegistry",
    "Simulator",
    "SimulatorConfig",
    "UnknownCall",
    "UnknownProvider",
    "VoiceProvider",
    "default_registry",
    "recording_base_url",
    "simulated_recording",
]


def recording_base_url(public_url: str) -> str:
    """Where dialflow serves simulated recordings, given its public base URL."""
    return f"{public_url.rstrip('/')}/v1/recordings"


def default_registry(
    simulator: SimulatorConfig | Simulator | None = None,
    *,
    seed: int | None = None,
    time_scale: float = 0.0,
    public_url: str | None = None,
) -> ProviderRegistry:
    """A registry holding the simulator as ``"simulator"`` (voice and messages).

    Pass a ready ``SimulatorConfig`` (or ``Simulator``), or just the usual knobs: ``seed``,
    ``time_scale`` and ``public_url`` (dialflow's own base URL, e.g. ``http://127.0.0.1:8000``,
    under which the recordings are served).
    """
    if isinstance(simulator, Simulator):
        provider = simulator
    else:
        config = simulator or SimulatorConfig(
            seed=seed,
            time_scale=time_scale,
            recording_base_url=(
                recording_base_url(public_url) if public_url else DEFAULT_RECORDING_BASE_URL
            ),
        )
        provider = Simulator(config)
    registry = ProviderRegistry()
    registry.register(provider)
    return registry
