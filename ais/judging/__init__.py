"""Judging candidates: the waits that are not anomalies, the isolation forests and rule scores,
the reasons analysts read, and the evaluation against a truth table.
"""
