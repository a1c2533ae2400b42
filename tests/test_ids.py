"""Time-ordered ids: ``take(n)`` draws exactly what ``n`` calls of ``next_id`` draw."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialflow.ids import IdGenerator

NODE_MASK = ((1 << 10) - 1) << 12


class FrozenClock:
    """A clock in nanoseconds that moves only when told to."""

    def __init__(self) -> None:
        self.ns = 1_800_000_000_000 * 1_000_000

    def __call__(self) -> int:
        return self.ns


# Steps: ("take", n) or ("one", 0), each maybe after the clock moves on.
steps = st.lists(
    st.tuples(
        st.sampled_from(["take", "one"]), st.integers(0, 9_000), st.sampled_from([0, 0, 1, 3])
    ),
    max_size=12,
)


@given(steps=steps)
def test_take_draws_what_next_id_draws(steps: list[tuple[str, int, int]]) -> None:
    clock = FrozenClock()
    bulk, single = IdGenerator(node=517, clock=clock), IdGenerator(node=517, clock=clock)
    drawn: list[int] = []
    for kind, count, ticks in steps:
        clock.ns += ticks * 1_000_000
        if kind == "take":
            taken = bulk.take(count)
            assert len(taken) == count
            assert taken == [single.next_id() for _ in range(count)]
            drawn += taken
        else:
            drawn.append(bulk.next_id())
            assert single.next_id() == drawn[-1]
    assert drawn == sorted(set(drawn))  # unique and increasing
    assert {i & NODE_MASK for i in drawn} <= {517 << 12}


def test_more_ids_than_a_millisecond_holds_borrow_the_next() -> None:
    generator = IdGenerator(node=1, clock=FrozenClock())
    taken = generator.take(10_000)  # 4,096 per millisecond
    assert len(set(taken)) == 10_000
    assert len({i >> 22 for i in taken}) == 3
    assert generator.next_id() > taken[-1]
