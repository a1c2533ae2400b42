"""Pure domain logic: no I/O, time is always passed in."""
