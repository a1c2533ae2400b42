"""The built-in provider: simulated calls, SMS and email, good enough to demo and to load-test.

* **Repeatable.** With a ``seed``, how a call ends (reason, duration, fields) is a pure function
  of ``(seed, attempt_id)`` (drawn from a stream seeded by a digest of them: stable across
  processes and platforms).
  Without one, each call draws a random token instead. A message's delivery likewise depends on
  ``(seed, channel, attempt_id)``.
* **Nothing to lose in a crash.** The call id, ``sim-{attempt}-{started_ms}-{max_duration}-
  {token}``, holds everything the outcome depends on, so ``fetch_result`` in a fresh process
  answers exactly as ``wait_result`` would have: ``None`` while the call is still "running",
  then the result. The one exception is the transcript's opening turn, the rendered script,
  which is kept in memory (the last ``_REMEMBERED_CALLS`` calls); a fresh process opens with a
  generic greeting instead.
* **Time scale.** A call "lasts" its duration (its ring time when unanswered) times
  ``time_scale`` seconds of wall time: 0 ends at once, 1.0 is real time, 0.01 is 100x faster.
* **Unanswered calls** (no_answer, busy, failed) have ``answered=False``, duration 0 and no
  transcript or recording. **Voicemail** is connected but not answered by a person: the agent
  leaves a message (``message_left=True``), with a recording. Every connected call has a
  recording at ``{recording_base_url}/{provider_call_id}.wav``; ``Simulator.recording`` (or
  ``simulated_recording``) makes its bytes, so dialflow can serve a real file there.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import io
import itertools
import math
import random
import re
import secrets
import time
import wave
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final

from dialflow.domain.outcomes import CALL_REASONS, EndReason
from dialflow.providers.base import (
    CallRequest,
    CallResult,
    CallStarted,
    MessageRequest,
    MessageResult,
    UnknownCall,
)

__all__ = [
    "DEFAULT_OUTCOME_WEIGHTS",
    "DEFAULT_RECORDING_BASE_URL",
    "MAX_RECORDING_SECONDS",
    "SimulatedCall",
    "Simulator",
    "SimulatorConfig",
    "parse_call_id",
    "simulated_recording",
]

R = EndReason
#: A plausible outbound mix over 2X's end reasons plus busy and failed (sums to 1).
DEFAULT_OUTCOME_WEIGHTS: Final[Mapping[EndReason, float]] = MappingProxyType(
    {
        R.NO_ANSWER: 0.30,
        R.VOICEMAIL_DETECTED: 0.15,
        R.NOT_INTERESTED: 0.15,
        R.CALL_TRANSFERRED: 0.12,
        R.HUNG_UP: 0.08,
        R.SCHEDULE_CALL_BACK: 0.06,
        R.BUSY: 0.05,
        R.END_CALL: 0.04,
        R.WRONG_NUMBER: 0.02,
        R.DO_NOT_CALL: 0.02,
        R.FAILED: 0.01,
    }
)
DEFAULT_RECORDING_BASE_URL: Final = "http://127.0.0.1:8000/v1/recordings"
#: Simulated recordings are cut to this many seconds (8 kHz, 8-bit: 8 KB a second).
MAX_RECORDING_SECONDS: Final = 5
_SAMPLE_RATE: Final = 8000
_REMEMBERED_CALLS: Final = 10_000

_UNANSWERED: Final = frozenset({R.NO_ANSWER, R.BUSY, R.FAILED, R.INVALID_NUMBER, R.TIMEOUT})
#: Ring time in seconds before an unanswered call gives up: (low, high).
_RING_SECONDS: Final[Mapping[EndReason, tuple[int, int]]] = {
    R.NO_ANSWER: (25, 45),
    R.BUSY: (1, 5),
    R.FAILED: (0, 3),
    R.INVALID_NUMBER: (0, 2),
    R.TIMEOUT: (60, 90),
}
#: Where a conversation's length falls between the configured min and max: (low, high) share.
_TALK_SPAN: Final[Mapping[EndReason, tuple[float, float]]] = {
    R.CALL_TRANSFERRED: (0.4, 1.0),
    R.SCHEDULE_CALL_BACK: (0.3, 0.8),
    R.END_CALL: (0.3, 1.0),
    R.NOT_INTERESTED: (0.0, 0.4),
    R.DO_NOT_CALL: (0.0, 0.3),
    R.WRONG_NUMBER: (0.0, 0.2),
}
_VOICEMAIL_SECONDS: Final = (15, 40)
_HANG_UP_SECONDS: Final = (2, 20)

#: (User, Assistant) turns after the opening, per reason; the User speaks first.
_DIALOGUE: Final[Mapping[EndReason, tuple[str, ...]]] = {
    R.CALL_TRANSFERRED: (
        "Yes, that sounds interesting. Can I talk to someone about it?",
        "Of course. I'll transfer you to a specialist now.",
        "Sure, transfer me.",
    ),
    R.SCHEDULE_CALL_BACK: (
        "I can't talk right now. Can you call me back tomorrow?",
        "No problem, I'll call you back then. Have a good day.",
    ),
    R.NOT_INTERESTED: (
        "I'm not interested, thanks.",
        "I understand. Thank you for your time. Goodbye.",
    ),
    R.DO_NOT_CALL: (
        "Please don't call me again.",
        "I'm sorry for the trouble. We won't call you again. Goodbye.",
    ),
    R.WRONG_NUMBER: (
        "I think you have the wrong number.",
        "My apologies for the confusion. Goodbye.",
    ),
    R.END_CALL: (
        "Okay, thanks for letting me know.",
        "You're welcome. Thank you for your time. Goodbye.",
    ),
    R.HUNG_UP: ("Who is this?",),
}
_VOICEMAIL_CLOSING: Final = "Sorry I missed you. Please call us back when you have a moment."
_FAILURE_REASONS: Final[Mapping[EndReason, str]] = {
    R.FAILED: "simulated carrier error: call could not be connected",
    R.INVALID_NUMBER: "simulated carrier error: number not in service",
    R.TIMEOUT: "simulated provider timeout",
}

_CALL_ID: Final = re.compile(r"sim-(-?\d+)-(\d+)-(\d+)-([sr]-?[0-9a-f]+)")


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulator behaves; the defaults suit a demo."""

    seed: int | None = None
    outcome_weights: Mapping[EndReason, float] = field(
        default_factory=lambda: DEFAULT_OUTCOME_WEIGHTS
    )
    #: Length of a conversation (answered calls); unanswered calls report 0.
    min_duration_seconds: int = 20
    max_duration_seconds: int = 300
    #: Wall-clock seconds per simulated second; 0 = results at once.
    time_scale: float = 0.0
    recording_base_url: str = DEFAULT_RECORDING_BASE_URL
    sms_failure_rate: float = 0.02
    email_failure_rate: float = 0.03

    def __post_init__(self) -> None:
        weights: dict[EndReason, float] = {}
        for key, weight in self.outcome_weights.items():
            try:
                reason = EndReason(key)
            except ValueError:
                raise ValueError(f"outcome_weights: {key!r} is not an end reason") from None
            if reason not in CALL_REASONS:
                raise ValueError(f"outcome_weights: {reason} is not a reason a call can end with")
            if not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"outcome_weights: {reason} needs a finite weight >= 0")
            weights[reason] = float(weight)
        if sum(weights.values()) <= 0:
            raise ValueError("outcome_weights: at least one weight must be positive")
        object.__setattr__(self, "outcome_weights", MappingProxyType(weights))
        if not 1 <= self.min_duration_seconds <= self.max_duration_seconds:
            raise ValueError("durations: need 1 <= min_duration_seconds <= max_duration_seconds")
        if not (math.isfinite(self.time_scale) and self.time_scale >= 0):
            raise ValueError("time_scale must be a finite number >= 0")
        for name in ("sms_failure_rate", "email_failure_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        object.__setattr__(self, "recording_base_url", self.recording_base_url.rstrip("/"))


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    """What a simulator call id says about the call."""

    attempt_id: int
    started_ms: int
    max_duration_seconds: int
    token: str


def parse_call_id(provider_call_id: str) -> SimulatedCall | None:
    """The parts of a simulator call id; ``None`` when it is not one."""
    match = _CALL_ID.fullmatch(provider_call_id)
    if match is None:
        return None
    attempt, started, max_duration, token = match.groups()
    return SimulatedCall(int(attempt), int(started), int(max_duration), token)


@dataclass(frozen=True, slots=True)
class _Outcome:
    end_reason: EndReason
    duration_seconds: int
    #: Simulated seconds from start to end (ring time for unanswered calls).
    elapsed_seconds: int
    collected_fields: dict[str, object]

    @property
    def connected(self) -> bool:
        """Someone or something (a voicemail box) picked up."""
        return self.end_reason not in _UNANSWERED

    @property
    def answered(self) -> bool:
        """A person picked up."""
        return self.connected and self.end_reason is not R.VOICEMAIL_DETECTED


class Simulator:
    """A ``VoiceProvider`` and ``MessageProvider`` that fakes calls and messages."""

    name = "simulator"

    def __init__(
        self, config: SimulatorConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config or SimulatorConfig()
        self._clock = clock
        reasons = [reason for reason in EndReason if reason in self.config.outcome_weights]
        self._reasons = reasons
        # Cumulative once, for the bisection of every draw.
        self._cum_weights = list(
            itertools.accumulate(self.config.outcome_weights[reason] for reason in reasons)
        )
        self._requests: OrderedDict[str, CallRequest] = OrderedDict()
        self._outcomes: OrderedDict[tuple[str, int, int], _Outcome] = OrderedDict()
        self._started_calls = 0
        self._sent_messages = 0

    @property
    def started_calls(self) -> int:
        """How many calls ``start_call`` placed (tests use it to prove nothing is dialed twice)."""
        return self._started_calls

    @property
    def sent_messages(self) -> int:
        return self._sent_messages

    # ----------------------------------------------------------------------- voice

    async def start_call(self, request: CallRequest) -> CallStarted:
        token = (
            f"s{self.config.seed:x}" if self.config.seed is not None else f"r{secrets.token_hex(6)}"
        )
        started_ms = int(self._clock() * 1000)
        call_id = f"sim-{request.attempt_id}-{started_ms}-{request.max_duration_seconds}-{token}"
        self._started_calls += 1
        self._requests[call_id] = request
        self._requests.move_to_end(call_id)
        while len(self._requests) > _REMEMBERED_CALLS:
            self._requests.popitem(last=False)
        return CallStarted(provider_call_id=call_id)

    async def wait_result(self, provider_call_id: str, timeout_seconds: float) -> CallResult | None:
        call = parse_call_id(provider_call_id)
        if call is None:
            raise UnknownCall(f"{provider_call_id!r} is not a simulator call id")
        remaining = self._ends_at(call) - self._clock()
        if remaining > timeout_seconds:
            await asyncio.sleep(max(timeout_seconds, 0.0))
            return None
        if remaining > 0:
            await asyncio.sleep(remaining)
        return self._result(provider_call_id, call)

    async def fetch_result(self, provider_call_id: str) -> CallResult | None:
        call = parse_call_id(provider_call_id)
        if call is None or self._ends_at(call) > self._clock():
            return None
        return self._result(provider_call_id, call)

    def recording(self, provider_call_id: str) -> bytes | None:
        """The WAV served at a call's recording URL; ``None`` for calls that never connected."""
        call = parse_call_id(provider_call_id)
        if call is None:
            return None
        outcome = self._outcome(call)
        if not outcome.connected:
            return None
        return simulated_recording(provider_call_id, outcome.duration_seconds)

    def _ends_at(self, call: SimulatedCall) -> float:
        return call.started_ms / 1000 + self._outcome(call).elapsed_seconds * self.config.time_scale

    def _outcome(self, call: SimulatedCall) -> _Outcome:
        """The call's outcome, drawn once per call (seeding a generator is the costly part)."""
        key = (call.token, call.attempt_id, call.max_duration_seconds)
        outcome = self._outcomes.get(key)
        if outcome is None:
            outcome = self._outcomes[key] = self._draw(call)
            while len(self._outcomes) > _REMEMBERED_CALLS:
                self._outcomes.popitem(last=False)
        return outcome

    def _draw(self, call: SimulatedCall) -> _Outcome:
        rng = _Draws(f"{call.token}:{call.attempt_id}")
        # What rng.choices(cum_weights=...) does, without its checks on every draw.
        cum = self._cum_weights
        reason = self._reasons[bisect.bisect(cum, rng.random() * cum[-1], 0, len(cum) - 1)]
        cap = call.max_duration_seconds
        if reason in _UNANSWERED:
            low, high = _RING_SECONDS[reason]
            return _Outcome(reason, 0, min(rng.randint(low, high), cap), {})
        if reason is R.VOICEMAIL_DETECTED:
            seconds = min(rng.randint(*_VOICEMAIL_SECONDS), cap)
            return _Outcome(reason, seconds, seconds, {})
        if reason is R.HUNG_UP:
            seconds = min(rng.randint(*_HANG_UP_SECONDS), cap)
            return _Outcome(reason, seconds, seconds, {})
        config = self.config
        span = config.max_duration_seconds - config.min_duration_seconds
        low_share, high_share = _TALK_SPAN.get(reason, (0.0, 1.0))
        low = config.min_duration_seconds + round(span * low_share)
        high = config.min_duration_seconds + round(span * high_share)
        seconds = min(rng.randint(low, high), cap)
        return _Outcome(reason, seconds, seconds, _fields(reason, rng, call))

    def _result(self, provider_call_id: str, call: SimulatedCall) -> CallResult:
        outcome = self._outcome(call)
        recording_url = (
            f"{self.config.recording_base_url}/{provider_call_id}.wav"
            if outcome.connected
            else None
        )
        request = self._requests.get(provider_call_id)
        return CallResult(
            provider_call_id=provider_call_id,
            end_reason=outcome.end_reason,
            answered=outcome.answered,
            duration_seconds=outcome.duration_seconds,
            message_left=outcome.end_reason is R.VOICEMAIL_DETECTED,
            transcript=_transcript(outcome, request),
            recording_url=recording_url,
            collected_fields=dict(outcome.collected_fields),
            failure_reason=_FAILURE_REASONS.get(outcome.end_reason),
        )

    # ----------------------------------------------------------------------- messages

    async def send(self, request: MessageRequest) -> MessageResult:
        seed = self.config.seed if self.config.seed is not None else secrets.token_hex(6)
        rng = _Draws(f"{seed}:{request.channel}:{request.attempt_id}")
        message_id = f"sim-{request.channel}-{request.attempt_id}-{rng.getrandbits(48):012x}"
        failure_rate = (
            self.config.sms_failure_rate
            if request.channel == "sms"
            else self.config.email_failure_rate
        )
        delay = rng.uniform(0.5, 3.0) * self.config.time_scale
        failed = rng.random() < failure_rate
        self._sent_messages += 1
        if delay > 0:
            await asyncio.sleep(delay)
        error = _message_problem(request)
        if error is None and failed:
            error = (
                "simulated carrier rejection"
                if request.channel == "sms"
                else "simulated bounce: mailbox unavailable"
            )
        if error is not None:
            return MessageResult(message_id, R.UNDELIVERED, error)
        return MessageResult(message_id, R.DELIVERED, None)


def _message_problem(request: MessageRequest) -> str | None:
    if not request.to.strip():
        return f"no {'phone number' if request.channel == 'sms' else 'email address'} to send to"
    if not request.body.strip():
        return "the message is empty"
    if request.channel == "email" and "@" not in request.to:
        return f"{request.to!r} is not an email address"
    return None


_MASK_64 = (1 << 64) - 1


class _Draws(random.Random):
    """A ``random.Random`` drawing from SplitMix64 seeded with a BLAKE2b digest of the seed's
    text: the same stream on every run and platform, and seeded in a fraction of the time the
    Mersenne Twister takes (it seeds per call here, so that is what a draw costs). Not crypto."""

    _state: int

    # Random.__init__ calls seed(); typeshed gives the C base a narrower signature.
    def seed(  # type: ignore[override]
        self,
        a: int | float | str | bytes | bytearray | None = None,
        version: int = 2,  # noqa: ARG002 (Random's signature; there is one version)
    ) -> None:
        digest = hashlib.blake2b(str(a).encode(), digest_size=8).digest()
        self._state = int.from_bytes(digest, "big")

    def _next(self) -> int:
        self._state = z = (self._state + 0x9E3779B97F4A7C15) & _MASK_64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK_64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK_64
        return z ^ (z >> 31)

    def random(self) -> float:
        return (self._next() >> 11) * (1.0 / (1 << 53))

    def getrandbits(self, k: int) -> int:
        bits, have = 0, 0
        while have < k:
            bits, have = (bits << 64) | self._next(), have + 64
        return bits >> (have - k)


def _fields(reason: EndReason, rng: random.Random, call: SimulatedCall) -> dict[str, object]:
    if reason is R.CALL_TRANSFERRED:
        return {"interest": "high"}
    if reason is R.SCHEDULE_CALL_BACK:
        started = datetime.fromtimestamp(call.started_ms / 1000, UTC)
        day = (started + timedelta(days=rng.randint(1, 3))).replace(
            hour=rng.randint(14, 22), minute=rng.choice((0, 30)), second=0, microsecond=0
        )
        return {"interest": "medium", "callback_time": day.isoformat()}
    if reason in (R.NOT_INTERESTED, R.END_CALL):
        return {"interest": "low"}
    if reason is R.DO_NOT_CALL:
        return {"interest": "none"}
    return {}


def _opening(request: CallRequest | None) -> str:
    if request is not None and request.script and request.script.strip():
        return request.script.strip()
    first_name = request.variables.get("first_name") if request is not None else None
    if isinstance(first_name, str) and first_name.strip():
        return f"Hello {first_name.strip()}, this is an automated call. Do you have a minute?"
    return "Hello, this is an automated call. Do you have a minute?"


def _transcript(outcome: _Outcome, request: CallRequest | None) -> list[dict[str, str]]:
    if not outcome.connected:
        return []
    opening = _opening(request)
    if outcome.end_reason is R.VOICEMAIL_DETECTED:
        return [{"role": "Assistant", "content": f"{opening} {_VOICEMAIL_CLOSING}"}]
    turns = [{"role": "Assistant", "content": opening}]
    for index, line in enumerate(_DIALOGUE.get(outcome.end_reason, ())):
        turns.append({"role": "User" if index % 2 == 0 else "Assistant", "content": line})
    return turns


def simulated_recording(provider_call_id: str, seconds: int) -> bytes:
    """A small valid WAV (8 kHz, mono, 8-bit) standing in for a call's recording.

    A quiet tone, pitched by the call id, of ``seconds`` cut to 1..``MAX_RECORDING_SECONDS``.
    """
    length = min(max(seconds, 1), MAX_RECORDING_SECONDS) * _SAMPLE_RATE
    pitch = 300 + random.Random(provider_call_id).randrange(0, 400)  # noqa: S311 (not crypto)
    step = 2 * math.pi * pitch / _SAMPLE_RATE
    fade = _SAMPLE_RATE // 50  # 20 ms fade in and out, so the tone does not click
    frames = bytearray(length)
    for i in range(length):
        envelope = min(1.0, i / fade, (length - 1 - i) / fade)
        frames[i] = 128 + round(24 * envelope * math.sin(step * i))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(_SAMPLE_RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()
