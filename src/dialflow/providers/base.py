"""What dialflow asks of a telephony or messaging provider, and the registry that picks one.

A workflow names its provider (``WorkflowDefinition.provider``, ``"simulator"`` by default); the
executor looks it up in a ``ProviderRegistry``.

The voice contract is built so that a dial is never repeated because a worker died:

1. ``start_call`` returns as soon as the provider has *accepted* the call, with the provider's
   call id. The caller saves that id on the attempt (and commits) **before** waiting. Raising
   from ``start_call`` means no call was placed.
2. ``wait_result`` waits (up to a timeout) for the call to end.
3. After a crash, an attempt that has a provider call id is *reconciled*: ``fetch_result`` asks
   the provider how that call ended, and never places a call. ``None`` means it has not ended
   yet (or the provider does not know it); the caller looks again later rather than redialing.

Results use dialflow's vocabulary: a call ends with one of ``CALL_REASONS`` (2X's post-call
``end_reason`` set plus busy/failed/invalid_number/timeout) and carries 2X's post-call fields
(``answered``, ``duration``, ``message_left``, ``question_fields`` as ``collected_fields``,
``transcript`` as ``[{role: "Assistant" | "User", content}]``, ``failure_reason``) plus a
recording URL. A message ends ``delivered`` or ``undelivered`` (``MESSAGE_REASONS``); a provider
that refused or failed to send reports ``undelivered`` with the ``error``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, Protocol, TypeAlias, runtime_checkable

from dialflow.domain.outcomes import CALL_REASONS, MESSAGE_REASONS, EndReason

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
    "UnknownCall",
    "UnknownProvider",
    "VoiceProvider",
]

MessageChannel: TypeAlias = Literal["sms", "email"]
#: The speaker names a transcript uses (2X's post-call ``transcript[].role``).
TRANSCRIPT_ROLES: Final = frozenset({"Assistant", "User"})
_EMPTY: Final[Mapping[str, object]] = MappingProxyType({})
# The same rule WorkflowDefinition.provider follows.
_PROVIDER_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,39}")


class ProviderError(Exception):
    """A provider could not do what was asked."""


class UnknownProvider(ProviderError, LookupError):
    """No provider is registered under the requested name."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        listing = ", ".join(known) if known else "none"
        super().__init__(
            f"unknown {kind} provider {name!r}; registered {kind} providers: {listing}"
        )
        self.kind = kind
        self.name = name
        self.known = known


class UnknownCall(ProviderError, LookupError):
    """The provider has no call with this id (it was not started by this provider)."""


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One call to place, for one attempt.

    ``script`` is already rendered (placeholders filled in); ``variables`` are the record's
    values, for providers whose agent takes variables rather than a finished script.
    """

    attempt_id: int
    to: str
    from_: str | None = None
    script: str | None = None
    variables: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    max_duration_seconds: int = 600

    def __post_init__(self) -> None:
        if not self.to:
            raise ValueError("a call needs a number to call")
        if self.max_duration_seconds < 1:
            raise ValueError("max_duration_seconds must be at least 1")


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The provider accepted the call; save ``provider_call_id`` before waiting on it."""

    provider_call_id: str


@dataclass(frozen=True, slots=True)
class CallResult:
    """How a call ended (the 2X post-call fields, plus the recording)."""

    provider_call_id: str
    end_reason: EndReason
    answered: bool
    duration_seconds: int
    message_left: bool = False
    transcript: list[dict[str, str]] = field(default_factory=list)
    recording_url: str | None = None
    collected_fields: dict[str, object] = field(default_factory=dict)
    failure_reason: str | None = None

    def __post_init__(self) -> None:
        if self.end_reason not in CALL_REASONS:
            raise ValueError(f"{self.end_reason!r} is not a reason a call can end with")
        if self.duration_seconds < 0:
            raise ValueError("duration_seconds must not be negative")
        for turn in self.transcript:
            if turn.get("role") not in TRANSCRIPT_ROLES or "content" not in turn:
                raise ValueError(
                    "transcript turns are {'role': 'Assistant' | 'User', 'content': text}"
                )


@dataclass(frozen=True, slots=True)
class MessageRequest:
    """One SMS or email to send, for one attempt; ``subject`` and ``body`` are rendered."""

    attempt_id: int
    channel: MessageChannel
    to: str
    body: str
    from_: str | None = None
    subject: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in ("sms", "email"):
            raise ValueError(f"channel must be 'sms' or 'email', not {self.channel!r}")


@dataclass(frozen=True, slots=True)
class MessageResult:
    """How a message ended: ``delivered``, or ``undelivered`` with the ``error``."""

    provider_message_id: str
    end_reason: EndReason
    error: str | None = None

    def __post_init__(self) -> None:
        if self.end_reason not in MESSAGE_REASONS:
            raise ValueError(
                f"{self.end_reason!r} is not a reason a message can end with; "
                "use delivered or undelivered (with the error)"
            )


@runtime_checkable
class VoiceProvider(Protocol):
    """Places calls. See the module docstring for the start → save id → wait contract."""

    @property
    def name(self) -> str: ...

    async def start_call(self, request: CallRequest) -> CallStarted:
        """Place the call; return once the provider accepted it (not when it ends).

        Raises ``ProviderError`` when the call was not placed.
        """
        ...

    async def wait_result(self, provider_call_id: str, timeout_seconds: float) -> CallResult | None:
        """The final result once the call ended; ``None`` when ``timeout_seconds`` ran out."""
        ...

    async def fetch_result(self, provider_call_id: str) -> CallResult | None:
        """Reconciliation: the final result if the call ended, else ``None``. Never dials."""
        ...


@runtime_checkable
class MessageProvider(Protocol):
    """Sends SMS and email."""

    @property
    def name(self) -> str: ...

    async def send(self, request: MessageRequest) -> MessageResult:
        """Send one message and report whether it was delivered."""
        ...


class ProviderRegistry:
    """Voice and message providers by name; a workflow's ``provider`` picks one of each."""

    def __init__(self) -> None:
        self._voice: dict[str, VoiceProvider] = {}
        self._message: dict[str, MessageProvider] = {}

    def register_voice(self, provider: VoiceProvider, *, name: str | None = None) -> None:
        """Add ``provider`` under ``name`` (default ``provider.name``); names are unique."""
        key = self._check_name(name or provider.name, self._voice, "voice")
        self._voice[key] = provider

    def register_message(self, provider: MessageProvider, *, name: str | None = None) -> None:
        key = self._check_name(name or provider.name, self._message, "message")
        self._message[key] = provider

    def register(self, provider: VoiceProvider | MessageProvider) -> None:
        """Add ``provider`` as a voice and/or message provider, whichever it implements."""
        registered = False
        if isinstance(provider, VoiceProvider):
            self.register_voice(provider)
            registered = True
        if isinstance(provider, MessageProvider):
            self.register_message(provider)
            registered = True
        if not registered:
            raise TypeError(f"{provider!r} implements neither VoiceProvider nor MessageProvider")

    def get_voice(self, name: str) -> VoiceProvider:
        """The voice provider registered as ``name``; ``UnknownProvider`` lists the known ones."""
        try:
            return self._voice[name]
        except KeyError:
            raise UnknownProvider("voice", name, self.voice_names) from None

    def get_message(self, name: str) -> MessageProvider:
        """The message provider registered as ``name``; ``UnknownProvider`` otherwise."""
        try:
            return self._message[name]
        except KeyError:
            raise UnknownProvider("message", name, self.message_names) from None

    @property
    def voice_names(self) -> list[str]:
        return sorted(self._voice)

    @property
    def message_names(self) -> list[str]:
        return sorted(self._message)

    @staticmethod
    def _check_name(name: str, existing: Mapping[str, object], kind: str) -> str:
        if not _PROVIDER_NAME.fullmatch(name):
            raise ValueError(
                f"provider name {name!r} must be 1-40 lowercase letters, digits, '-' or '_', "
                "starting with a letter"
            )
        if name in existing:
            raise ValueError(f"a {kind} provider named {name!r} is already registered")
        return name
