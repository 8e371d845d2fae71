"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) for test/integration/openapi-fuzz.test.ts.

With `--workers 2` (threads), Hypothesis describes strategies with `ast.parse` from two threads at
once, and CPython 3.11 before 3.11.8 can then raise "SystemError: AST constructor recursion depth
mismatch" (python/cpython#106905): a schemathesis runtime error, not a finding about the API.
Parsing one at a time avoids it.
"""

import ast
import threading

_lock = threading.RLock()
_parse = ast.parse


def _serialized_parse(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse
