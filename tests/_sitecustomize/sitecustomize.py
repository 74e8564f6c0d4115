"""Loaded by the child processes of tests whose PYTHONPATH starts with this folder: when
AXONAL_TEST_OFFLINE names a generated data directory, they read it and cannot reach the network
(see tests/_offline.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
try:
    import _offline
finally:
    sys.path.pop(0)
_offline.install_from_env()
