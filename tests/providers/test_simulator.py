from __future__ import annotations

import asyncio
import io
import itertools
import time
import wave
from collections import Counter

import pytest

from dialflow.domain.outcomes import CALL_REASONS, EndReason
from dialflow.providers import (
    CallRequest,
    CallResult,
    MessageRequest,
    Simulator,
    SimulatorConfig,
    UnknownCall,
    simulated_recording,
)
from dialflow.providers.simulator import (
    DEFAULT_OUTCOME_WEIGHTS,
    MAX_RECORDING_SECONDS,
    parse_call_id,
)
from dialflow.templates import render

R = EndReason
UNANSWERED = {R.NO_ANSWER, R.BUSY, R.FAILED}
CONVERSATIONS = {
    R.CALL_TRANSFERRED,
    R.SCHEDULE_CALL_BACK,
    R.NOT_INTERESTED,
    R.DO_NOT_CALL,
    R.WRONG_NUMBER,
    R.END_CALL,
}


def request(attempt_id: int, **kwargs: object) -> CallRequest:
    return CallRequest(attempt_id=attempt_id, to="+12125550123", **kwargs)  # type: ignore[arg-type]


async def call(sim: Simulator, attempt_id: int, **kwargs: object) -> CallResult:
    started = await sim.start_call(request(attempt_id, **kwargs))
    result = await sim.wait_result(started.provider_call_id, timeout_seconds=5)
    assert result is not None
    return result


def only(reason: EndReason, **kwargs: object) -> Simulator:
    return Simulator(SimulatorConfig(seed=1, outcome_weights={reason: 1.0}, **kwargs))  # type: ignore[arg-type]


def comparable(result: CallResult) -> tuple[object, ...]:
    """Everything but the call id (which holds the start time)."""
    return (
        result.end_reason,
        result.answered,
        result.duration_seconds,
        result.message_left,
        result.collected_fields if result.end_reason is not R.SCHEDULE_CALL_BACK else None,
        result.failure_reason,
        [turn["role"] for turn in result.transcript],
    )


# ----------------------------------------------------------------------------- determinism


async def test_same_seed_and_attempt_give_the_same_outcome() -> None:
    first, second = Simulator(SimulatorConfig(seed=7)), Simulator(SimulatorConfig(seed=7))
    for attempt in range(200):
        a, b = await call(first, attempt), await call(second, attempt)
        assert comparable(a) == comparable(b)
        assert comparable(a) == comparable(await call(first, attempt))  # the same attempt again


async def test_different_seeds_give_different_sequences() -> None:
    a = [(await call(Simulator(SimulatorConfig(seed=1)), i)).end_reason for i in range(100)]
    b = [(await call(Simulator(SimulatorConfig(seed=2)), i)).end_reason for i in range(100)]
    assert a != b


async def test_outcome_does_not_depend_on_call_order() -> None:
    forward = Simulator(SimulatorConfig(seed=3))
    backward = Simulator(SimulatorConfig(seed=3))
    ahead = {i: comparable(await call(forward, i)) for i in range(50)}
    behind = {i: comparable(await call(backward, i)) for i in reversed(range(50))}
    assert ahead == behind


async def test_empirical_mix_matches_the_weights() -> None:
    sim = Simulator(SimulatorConfig(seed=2024))
    n = 5000
    counts = Counter([(await call(sim, attempt)).end_reason for attempt in range(n)])
    assert set(counts) <= set(DEFAULT_OUTCOME_WEIGHTS)
    for reason, weight in DEFAULT_OUTCOME_WEIGHTS.items():
        assert abs(counts[reason] / n - weight) < 0.03, (reason, counts[reason] / n, weight)
    # Chi-square against the expected counts: 10 degrees of freedom, p = 0.001 cut-off 29.6.
    chi2 = sum(
        (counts[reason] - n * weight) ** 2 / (n * weight)
        for reason, weight in DEFAULT_OUTCOME_WEIGHTS.items()
    )
    assert chi2 < 29.6
    assert sim.started_calls == n


async def test_custom_weights_are_honoured() -> None:
    sim = Simulator(SimulatorConfig(seed=5, outcome_weights={R.BUSY: 1, R.CALL_TRANSFERRED: 3}))
    counts = Counter([(await call(sim, i)).end_reason for i in range(2000)])
    assert set(counts) == {R.BUSY, R.CALL_TRANSFERRED}
    assert abs(counts[R.CALL_TRANSFERRED] / 2000 - 0.75) < 0.03


def test_default_weights_cover_the_2x_set_plus_busy_and_failed() -> None:
    assert abs(sum(DEFAULT_OUTCOME_WEIGHTS.values()) - 1.0) < 1e-9
    assert set(DEFAULT_OUTCOME_WEIGHTS) == {
        R.CALL_TRANSFERRED,
        R.SCHEDULE_CALL_BACK,
        R.NOT_INTERESTED,
        R.DO_NOT_CALL,
        R.WRONG_NUMBER,
        R.END_CALL,
        R.HUNG_UP,
        R.VOICEMAIL_DETECTED,
        R.NO_ANSWER,
        R.BUSY,
        R.FAILED,
    }
    assert set(DEFAULT_OUTCOME_WEIGHTS) <= CALL_REASONS


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome_weights": {"delivered": 1.0}}, "not a reason a call can end with"),
        ({"outcome_weights": {"nope": 1.0}}, "not an end reason"),
        ({"outcome_weights": {"busy": -1.0}}, "finite weight"),
        ({"outcome_weights": {"busy": 0.0}}, "at least one weight"),
        ({"min_duration_seconds": 50, "max_duration_seconds": 10}, "min_duration_seconds"),
        ({"time_scale": -1.0}, "time_scale"),
        ({"sms_failure_rate": 1.5}, "sms_failure_rate"),
    ],
)
def test_config_is_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(**kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- outcome shapes


@pytest.mark.parametrize("reason", sorted(UNANSWERED))
async def test_unanswered_calls_have_no_conversation(reason: EndReason) -> None:
    result = await call(only(reason), 1, script="Hi there")
    assert result.end_reason is reason
    assert result.answered is False
    assert result.duration_seconds == 0
    assert result.transcript == []
    assert result.recording_url is None
    assert result.message_left is False
    assert result.collected_fields == {}
    assert (result.failure_reason is not None) is (reason is R.FAILED)


async def test_voicemail_leaves_a_message() -> None:
    result = await call(only(R.VOICEMAIL_DETECTED), 1, script="Hi Ann, about your quote.")
    assert result.answered is False
    assert result.message_left is True
    assert result.duration_seconds > 0
    assert [t["role"] for t in result.transcript] == ["Assistant"]
    assert result.transcript[0]["content"].startswith("Hi Ann, about your quote.")
    assert result.recording_url is not None


@pytest.mark.parametrize(
    ("reason", "user_says"),
    [
        (R.DO_NOT_CALL, "Please don't call me again."),
        (R.CALL_TRANSFERRED, "Sure, transfer me."),
        (R.NOT_INTERESTED, "I'm not interested, thanks."),
        (R.WRONG_NUMBER, "I think you have the wrong number."),
    ],
)
async def test_conversations_alternate_and_fit_the_reason(
    reason: EndReason, user_says: str
) -> None:
    result = await call(only(reason), 1, script="Hello!")
    assert result.answered is True
    roles = [turn["role"] for turn in result.transcript]
    assert roles[0] == "Assistant"
    assert all(a != b for a, b in itertools.pairwise(roles))
    assert user_says in [t["content"] for t in result.transcript if t["role"] == "User"]
    assert result.message_left is False
    assert result.failure_reason is None


async def test_answered_calls_have_durations_in_range_and_recordings() -> None:
    config = SimulatorConfig(seed=11, min_duration_seconds=30, max_duration_seconds=90)
    sim = Simulator(config)
    seen = set()
    for attempt in range(300):
        result = await call(sim, attempt)
        seen.add(result.end_reason)
        if result.end_reason in CONVERSATIONS:
            assert 30 <= result.duration_seconds <= 90
            assert result.collected_fields or result.end_reason is R.WRONG_NUMBER
        if result.end_reason not in UNANSWERED:
            assert result.recording_url == (
                f"{config.recording_base_url}/{result.provider_call_id}.wav"
            )
    assert seen >= CONVERSATIONS


async def test_call_duration_is_capped_by_the_request() -> None:
    sim = only(R.CALL_TRANSFERRED, min_duration_seconds=100, max_duration_seconds=200)
    result = await call(sim, 1, max_duration_seconds=45)
    assert result.duration_seconds == 45


async def test_schedule_call_back_collects_a_callback_time() -> None:
    result = await call(only(R.SCHEDULE_CALL_BACK), 3)
    assert result.collected_fields["interest"] == "medium"
    callback = result.collected_fields["callback_time"]
    assert isinstance(callback, str)
    assert callback.endswith("+00:00")


async def test_transcript_opens_with_the_rendered_script() -> None:
    template = "Hi {{ first_name }}, this is Maya about your {{ car_model }} quote."
    variables = {"first_name": "Ann", "car_model": "Civic"}
    script = render(template, variables)
    result = await call(only(R.CALL_TRANSFERRED), 9, script=script, variables=variables)
    assert result.transcript[0] == {
        "role": "Assistant",
        "content": "Hi Ann, this is Maya about your Civic quote.",
    }


async def test_script_is_not_rendered_a_second_time() -> None:
    result = await call(only(R.END_CALL), 9, script="Hello {{ first_name }}")
    assert result.transcript[0]["content"] == "Hello {{ first_name }}"


async def test_default_greeting_uses_the_first_name() -> None:
    result = await call(only(R.END_CALL), 9, variables={"first_name": "Ann"})
    assert result.transcript[0]["content"].startswith("Hello Ann,")


# ----------------------------------------------------------------------------- time and crashes


async def test_time_scale_zero_is_instant() -> None:
    sim = only(R.CALL_TRANSFERRED, min_duration_seconds=3000, max_duration_seconds=3600)
    started = await sim.start_call(request(1))
    assert await sim.fetch_result(started.provider_call_id) is not None
    began = time.perf_counter()
    assert await sim.wait_result(started.provider_call_id, 0) is not None
    assert time.perf_counter() - began < 0.05


async def test_time_scale_makes_the_call_last_duration_times_scale() -> None:
    sim = only(
        R.CALL_TRANSFERRED, min_duration_seconds=200, max_duration_seconds=200, time_scale=0.002
    )
    started = await sim.start_call(request(1))
    call_id = started.provider_call_id
    assert await sim.fetch_result(call_id) is None  # still running
    began = time.perf_counter()
    result = await sim.wait_result(call_id, timeout_seconds=5)
    waited = time.perf_counter() - began
    assert result is not None
    assert result.duration_seconds == 200
    assert 0.3 <= waited <= 0.7  # 200 s x 0.002
    assert await sim.fetch_result(call_id) == result


async def test_wait_result_times_out_with_none() -> None:
    sim = only(R.END_CALL, min_duration_seconds=1000, max_duration_seconds=1000, time_scale=1.0)
    started = await sim.start_call(request(1))
    began = time.perf_counter()
    assert await sim.wait_result(started.provider_call_id, timeout_seconds=0.05) is None
    assert 0.04 <= time.perf_counter() - began < 0.5


async def test_unanswered_calls_wait_for_the_ring_time() -> None:
    sim = only(R.NO_ANSWER, time_scale=0.01)  # rings 25-45 s -> 0.25-0.45 s
    started = await sim.start_call(request(1))
    assert await sim.fetch_result(started.provider_call_id) is None
    result = await sim.wait_result(started.provider_call_id, timeout_seconds=2)
    assert result is not None
    assert result.duration_seconds == 0


async def test_fetch_after_a_crash_matches_wait_without_dialing() -> None:
    now = [1_700_000_000.0]
    config = SimulatorConfig(seed=42, time_scale=1.0)
    sim = Simulator(config, clock=lambda: now[0])
    started = await sim.start_call(request(77, script="Hi Ann"))
    call_id = started.provider_call_id

    # The worker "dies"; a new process builds a new simulator with the same config.
    recovered = Simulator(config, clock=lambda: now[0])
    assert recovered.started_calls == 0
    now[0] += 10_000  # long after the call ended
    fetched = await recovered.fetch_result(call_id)
    waited = await sim.wait_result(call_id, timeout_seconds=0)
    assert fetched is not None
    assert waited is not None
    assert comparable(fetched) == comparable(waited)
    assert fetched.collected_fields == waited.collected_fields
    assert fetched.recording_url == waited.recording_url
    # The same simulator remembers the script, so its answer is identical in full.
    assert await sim.fetch_result(call_id) == waited
    assert recovered.started_calls == 0
    assert sim.started_calls == 1


async def test_fetch_while_running_then_after() -> None:
    now = [1_700_000_000.0]
    sim = Simulator(
        SimulatorConfig(
            seed=1,
            outcome_weights={R.NOT_INTERESTED: 1},
            min_duration_seconds=60,
            max_duration_seconds=60,
            time_scale=1.0,
        ),
        clock=lambda: now[0],
    )
    call_id = (await sim.start_call(request(5))).provider_call_id
    now[0] += 30
    assert await sim.fetch_result(call_id) is None
    now[0] += 31
    result = await sim.fetch_result(call_id)
    assert result is not None
    assert result.end_reason is R.NOT_INTERESTED


async def test_unknown_call_ids() -> None:
    sim = Simulator()
    assert await sim.fetch_result("CA1234") is None
    with pytest.raises(UnknownCall):
        await sim.wait_result("CA1234", 1)
    assert sim.recording("CA1234") is None


async def test_call_id_encodes_what_the_outcome_needs() -> None:
    sim = Simulator(SimulatorConfig(seed=-5), clock=lambda: 1_700_000_000.123)
    call_id = (await sim.start_call(request(12, max_duration_seconds=90))).provider_call_id
    parsed = parse_call_id(call_id)
    assert parsed is not None
    assert (parsed.attempt_id, parsed.started_ms, parsed.max_duration_seconds) == (
        12,
        1_700_000_000_123,
        90,
    )


async def test_unseeded_calls_are_still_reconcilable() -> None:
    sim = Simulator(SimulatorConfig(time_scale=0))
    results = []
    for attempt in range(20):
        call_id = (await sim.start_call(request(attempt))).provider_call_id
        fetched = await Simulator(SimulatorConfig()).fetch_result(call_id)
        waited = await sim.wait_result(call_id, 0)
        assert fetched is not None
        assert waited is not None
        assert comparable(fetched) == comparable(waited)
        results.append(waited.end_reason)
    assert len(set(results)) > 1


async def test_started_calls_counts_every_dial() -> None:
    sim = Simulator(SimulatorConfig(seed=1))
    await asyncio.gather(*(sim.start_call(request(i)) for i in range(25)))
    assert sim.started_calls == 25


# ----------------------------------------------------------------------------- recordings


def read_wav(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()


@pytest.mark.parametrize(("seconds", "expected"), [(0, 1), (3, 3), (600, MAX_RECORDING_SECONDS)])
def test_recordings_are_small_valid_wavs(seconds: int, expected: int) -> None:
    data = simulated_recording("sim-1-2-3-s1", seconds)
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WAVE"
    assert read_wav(data) == (1, 1, 8000, expected * 8000)
    assert simulated_recording("sim-1-2-3-s1", seconds) == data


async def test_simulator_serves_the_recording_of_connected_calls() -> None:
    answered = only(R.CALL_TRANSFERRED)
    call_id = (await answered.start_call(request(1))).provider_call_id
    data = answered.recording(call_id)
    assert data is not None
    assert read_wav(data)[:3] == (1, 1, 8000)

    missed = only(R.NO_ANSWER)
    call_id = (await missed.start_call(request(1))).provider_call_id
    assert missed.recording(call_id) is None


# ----------------------------------------------------------------------------- messages


async def test_messages_are_delivered_deterministically() -> None:
    sim = Simulator(SimulatorConfig(seed=9, sms_failure_rate=0.2, email_failure_rate=0.0))
    sms = [
        await sim.send(MessageRequest(attempt_id=i, channel="sms", to="+12125550123", body="Hi"))
        for i in range(1000)
    ]
    again = await Simulator(SimulatorConfig(seed=9, sms_failure_rate=0.2)).send(
        MessageRequest(attempt_id=3, channel="sms", to="+12125550123", body="Hi")
    )
    assert again == sms[3]
    failed = [r for r in sms if r.end_reason is R.UNDELIVERED]
    assert 0.16 < len(failed) / 1000 < 0.24
    assert all(r.error for r in failed)
    assert all(r.error is None for r in sms if r.end_reason is R.DELIVERED)

    email = await sim.send(
        MessageRequest(
            attempt_id=1, channel="email", to="ann@example.com", subject="Quote", body="Hello"
        )
    )
    assert email.end_reason is R.DELIVERED
    assert email.provider_message_id.startswith("sim-email-1-")
    assert sim.sent_messages == 1001


@pytest.mark.parametrize(
    ("channel", "to", "body", "error"),
    [
        ("sms", "", "Hi", "no phone number"),
        ("email", "ann.example.com", "Hi", "not an email address"),
        ("sms", "+12125550123", "   ", "empty"),
    ],
)
async def test_undeliverable_messages(channel: str, to: str, body: str, error: str) -> None:
    sim = Simulator(SimulatorConfig(seed=1, sms_failure_rate=0, email_failure_rate=0))
    result = await sim.send(
        MessageRequest(attempt_id=1, channel=channel, to=to, body=body)  # type: ignore[arg-type]
    )
    assert result.end_reason is R.UNDELIVERED
    assert result.error is not None
    assert error in result.error


async def test_message_time_scale() -> None:
    sim = Simulator(SimulatorConfig(seed=1, time_scale=0.05))  # 0.5-3 s -> 25-150 ms
    began = time.perf_counter()
    await sim.send(MessageRequest(attempt_id=1, channel="sms", to="+12125550123", body="Hi"))
    assert 0.02 <= time.perf_counter() - began < 0.5
