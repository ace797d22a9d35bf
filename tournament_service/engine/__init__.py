"""Match engines: pure functions over plain values, no Flask and no I/O."""
