"""A panic in the core surfaces as an exception and the interpreter goes on."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pouw_netops
from pouw_netops import _native


def test_panic_becomes_an_exception_and_the_module_keeps_working():
    with pytest.raises(pouw_netops.PanicException) as info:
        _native._trigger_panic()
    assert "deliberate panic" in str(info.value)
    # Not an ordinary error: it derives from BaseException only, like pyo3's.
    assert not isinstance(info.value, pouw_netops.NetOpsError)
    m = pouw_netops.CrashRecoveryManager("me")
    m.heartbeat("a", now=1.0)
    assert len(m) == 1


def test_interpreter_survives_and_exits_normally():
    code = (
        "import pouw_netops\n"
        "try:\n"
        "    pouw_netops._native._trigger_panic()\n"
        "except pouw_netops.PanicException:\n"
        "    print('caught')\n"
        "print('alive')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["caught", "alive"]
