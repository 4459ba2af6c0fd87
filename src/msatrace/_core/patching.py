"""The patch registry: every wrapt patch msatrace applies is recorded here and can be undone.

``wrap(owner, "send", wrapper)`` patches once (a second call is a no-op) and ``unpatch_all()``
restores exactly the attribute that was there. ``when_imported("httpx", hook)`` runs the hook now
if the module is already imported, otherwise from a post-import hook; hooks cannot be removed, so
each one first checks that patching is still enabled and runs under ``guard()``.
``call_when_loaded("msatrace.httpx", "patch")`` is what such a hook runs: it also works when the
adapter is the one importing the library (``init()`` then ``import msatrace.httpx``), by waiting
for the adapter to call ``loaded(__name__)`` at its end.

Imports: the standard library, wrapt and ``msatrace._core``.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import wrapt

from msatrace._core.safety import guard

_lock = threading.RLock()
_patches: dict[tuple[int, str], tuple[Any, str, Any]] = {}
_undo: dict[str, Callable[[], None]] = {}
_enabled = False
_hooked: set[str] = set()
_pending: dict[str, list[Callable[[ModuleType], None]]] = {}
_deferred: dict[str, list[str]] = {}  # adapter still being imported -> entry points to call


def enable() -> None:
    """Allow patching (``init()``)."""
    global _enabled
    _enabled = True


def enabled() -> bool:
    """Whether patches may be applied now."""
    return _enabled


def wrap(owner: Any, attr: str, wrapper: Callable[..., Any]) -> None:
    """Patch ``owner.attr`` with a wrapt function wrapper, once."""
    key = (id(owner), attr)
    with _lock:
        if key in _patches:
            return
        original = vars(owner)[attr] if attr in vars(owner) else getattr(owner, attr)
        wrapt.wrap_function_wrapper(owner, attr, wrapper)
        _patches[key] = (owner, attr, original)


def wrap_each(patches: Iterable[tuple[Any, str, Callable[..., Any]]]) -> None:
    """:func:`wrap` each ``(owner, attr, wrapper)``: an adapter's ``patch()``."""
    for owner, attr, wrapper in patches:
        wrap(owner, attr, wrapper)


def unwrap_each(patches: Iterable[tuple[Any, str, Callable[..., Any]]]) -> None:
    """:func:`unwrap` each ``(owner, attr, wrapper)``: an adapter's ``unpatch()``."""
    for owner, attr, _ in patches:
        unwrap(owner, attr)


def record(key: str, undo: Callable[[], None]) -> bool:
    """Record a change that is not a wrapt patch (a signal receiver), once, with its undo.

    Returns ``False`` if ``key`` is already recorded (nothing to do); ``unpatch_all()`` calls
    ``undo``.
    """
    with _lock:
        if key in _undo:
            return False
        _undo[key] = undo
        return True


def unwrap(owner: Any, attr: str) -> None:
    """Restore one attribute patched by :func:`wrap` (an adapter's ``unpatch()``)."""
    with _lock:
        entry = _patches.pop((id(owner), attr), None)
        if entry is not None:
            setattr(owner, attr, entry[2])


def is_patched(owner: Any, attr: str) -> bool:
    """Whether ``owner.attr`` is currently patched by msatrace."""
    return (id(owner), attr) in _patches


def unpatch_all() -> None:
    """Restore every patched attribute and disable pending post-import hooks."""
    global _enabled
    with _lock:
        _enabled = False
        for owner, attr, original in reversed(list(_patches.values())):
            setattr(owner, attr, original)
        _patches.clear()
        _pending.clear()
        _deferred.clear()
        for undo in reversed(list(_undo.values())):
            with guard("patch.undo"):
                undo()
        _undo.clear()


def when_imported(module: str, hook: Callable[[ModuleType], None]) -> None:
    """Run ``hook(module)`` now if imported, else when it is imported (if still enabled then)."""
    if module in sys.modules:
        _run(module, hook, sys.modules[module])
        return
    with _lock:
        _pending.setdefault(module, []).append(hook)
        if module in _hooked:
            return
        _hooked.add(module)
    wrapt.register_post_import_hook(_on_import, module)


def _on_import(mod: ModuleType) -> None:
    with _lock:
        hooks = _pending.pop(mod.__name__, [])
    for hook in hooks:
        _run(mod.__name__, hook, mod)


def _run(name: str, hook: Callable[[ModuleType], None], mod: ModuleType) -> None:
    if not _enabled:
        return
    with guard(f"patch.{name}"):
        hook(mod)


def call_when_loaded(adapter: str, entry: str) -> None:
    """Call ``adapter.entry()`` (importing the adapter), or when the adapter has finished loading.

    A library's import hook runs this. When the adapter itself is what imported the library
    (``init()``, then ``import msatrace.httpx``, whose first line is ``import httpx``), the hook
    runs inside the adapter's import: the module is in ``sys.modules`` but its body has not
    defined ``entry`` yet. The call then waits for the adapter's closing ``loaded(__name__)``.
    """
    module = sys.modules.get(adapter)
    if module is not None and not hasattr(module, entry):
        with _lock:
            _deferred.setdefault(adapter, []).append(entry)
        return
    getattr(importlib.import_module(adapter), entry)()


def loaded(adapter: str) -> None:
    """The last line of a client adapter: run what ``call_when_loaded`` deferred for it."""
    with _lock:
        entries = _deferred.pop(adapter, [])
    for entry in entries:
        _run(adapter, functools.partial(_call, entry=entry), sys.modules[adapter])


def _call(module: ModuleType, entry: str) -> None:
    getattr(module, entry)()
