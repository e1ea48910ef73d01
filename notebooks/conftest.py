"""nbval run on the notebooks alone (``pytest --nbval notebooks/...``): pin device="auto" to the CPU.

tests/conftest.py does the same when the whole suite runs; this file covers the case where
pytest is pointed at notebooks/ only and never imports tests/. Kernels inherit the variable.
"""

import os

os.environ.setdefault("PROMPTLAB_DEVICE", "cpu")
