"""Synthetic worlds with a truth table: the track builder and whole days of traffic
(``world``), and the look-alikes of real AIS (``ports``, ``coverage``, ``identity``,
``calls``, ``dense``). ``python -m ais.synth OUT_DIR`` regenerates the fixtures.
"""
