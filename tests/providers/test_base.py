from __future__ import annotations

import pytest

from dialflow.domain.outcomes import EndReason
from dialflow.providers import (
    CallRequest,
    CallResult,
    CallStarted,
    MessageProvider,
    MessageRequest,
    MessageResult,
    ProviderRegistry,
    Simulator,
    SimulatorConfig,
    UnknownProvider,
    VoiceProvider,
    default_registry,
)


class EchoSms:
    name = "echo"

    async def send(self, request: MessageRequest) -> MessageResult:
        return MessageResult(f"echo-{request.attempt_id}", EndReason.DELIVERED)


class NullVoice:
    name = "null"

    async def start_call(self, request: CallRequest) -> CallStarted:
        return CallStarted(f"null-{request.attempt_id}")

    async def wait_result(self, provider_call_id: str, timeout_seconds: float) -> CallResult | None:
        return None

    async def fetch_result(self, provider_call_id: str) -> CallResult | None:
        return None


def test_default_registry_has_the_simulator_for_voice_and_messages() -> None:
    registry = default_registry(seed=3, time_scale=0.5, public_url="https://dial.example.com/")
    voice: object = registry.get_voice("simulator")
    assert voice is registry.get_message("simulator")
    assert isinstance(voice, Simulator)
    assert voice.config.seed == 3
    assert voice.config.time_scale == 0.5
    assert voice.config.recording_base_url == "https://dial.example.com/v1/recordings"
    assert registry.voice_names == ["simulator"]
    assert registry.message_names == ["simulator"]


def test_default_registry_takes_a_config_or_a_simulator() -> None:
    config = SimulatorConfig(seed=1)
    voice = default_registry(config).get_voice("simulator")
    assert isinstance(voice, Simulator)
    assert voice.config is config
    sim = Simulator()
    assert default_registry(sim).get_voice("simulator") is sim


def test_unknown_provider_lists_the_known_ones() -> None:
    registry = default_registry()
    registry.register(NullVoice())
    with pytest.raises(UnknownProvider, match=r"unknown voice provider 'twilio'.*null, simulator"):
        registry.get_voice("twilio")
    with pytest.raises(UnknownProvider, match="registered message providers: simulator") as info:
        registry.get_message("null")
    assert isinstance(info.value, LookupError)
    assert info.value.known == ["simulator"]


def test_empty_registry_says_none_are_registered() -> None:
    with pytest.raises(UnknownProvider, match="providers: none"):
        ProviderRegistry().get_voice("simulator")


def test_register_sorts_providers_by_protocol() -> None:
    registry = ProviderRegistry()
    registry.register(EchoSms())
    registry.register(NullVoice())
    assert registry.message_names == ["echo"]
    assert registry.voice_names == ["null"]
    assert isinstance(registry.get_voice("null"), VoiceProvider)
    assert isinstance(registry.get_message("echo"), MessageProvider)
    with pytest.raises(TypeError):
        registry.register(object())  # type: ignore[arg-type]


def test_names_are_unique_and_well_formed() -> None:
    registry = ProviderRegistry()
    registry.register_voice(NullVoice())
    with pytest.raises(ValueError, match="already registered"):
        registry.register_voice(NullVoice())
    registry.register_voice(NullVoice(), name="null-2")
    with pytest.raises(ValueError, match="lowercase"):
        registry.register_voice(NullVoice(), name="Bad Name")


def test_results_use_dialflow_vocabulary() -> None:
    with pytest.raises(ValueError, match="call can end with"):
        CallResult("x", EndReason.DELIVERED, answered=False, duration_seconds=0)
    with pytest.raises(ValueError, match="transcript"):
        CallResult(
            "x",
            EndReason.END_CALL,
            answered=True,
            duration_seconds=5,
            transcript=[{"role": "Bot", "content": "hi"}],
        )
    with pytest.raises(ValueError, match="negative"):
        CallResult("x", EndReason.END_CALL, answered=True, duration_seconds=-1)
    with pytest.raises(ValueError, match="delivered or undelivered"):
        MessageResult("m", EndReason.FAILED, "boom")
    with pytest.raises(ValueError, match="channel"):
        MessageRequest(attempt_id=1, channel="fax", to="x", body="hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="number to call"):
        CallRequest(attempt_id=1, to="")
