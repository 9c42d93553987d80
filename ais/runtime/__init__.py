"""How a batch command runs as a process: memory tuning, signals that stop a scan, and the
operator's log and progress bar.
"""
