"""Hot calls without a Python frame.

Some of the old API's classes are Python classes over native cores (the
others are native classes themselves). For the calls made thousands of times
a second (``add_message``) the class's method only
forwards its arguments; :func:`bind_native` puts the native bound method on the
instance instead, so a call is one native call. The class keeps the documented
Python method (for ``help``, type checkers and subclasses); a subclass that
overrides a method keeps its override.
"""

from __future__ import annotations

from typing import Any


def bind_native(obj: Any, cls: type, **methods: Any) -> None:
    """Sets ``obj.<name> = native`` for each ``name=native`` that ``type(obj)``
    does not override (relative to ``cls``, whose method it stands for)."""
    t = type(obj)
    for name, native in methods.items():
        if getattr(t, name) is getattr(cls, name):
            obj.__dict__[name] = native
