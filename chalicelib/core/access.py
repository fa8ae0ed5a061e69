"""The one access policy: who may do what, decided in one place and in one way.

The kernel holds the mechanism and the rules shared by every capability; each capability
adds its own in its `policy.py`, found and loaded on the first decision (so the kernel
imports no capability):

- a **rule** answers a question that needs data, by name: `require("orgs.role", user,
  org_id, "admin")` returns the caller's access or raises NotFound/Forbidden;
- a **permission** is granted by any of several capabilities: `allows("video.view", user,
  video)` is true when any grant admits the caller (the owner, an org member; next, an
  enrolled learner). Capabilities add grants with `@grant("video.view")`.

Shared rules:
- Platform admins (role "admin") hold every permission: support and moderation must read
  and repair any tenant's data. Rules state what admins get in their own terms.
- What the caller may not see is answered exactly like what does not exist (404), so ids
  cannot be probed; what they may see but not change is 403.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol

from chalicelib.core.roles import PLATFORM_ADMIN


class Principal(Protocol):
    """Who is asking: the signed-in user (chalicelib.identity's User satisfies this)."""

    user_id: str
    role: str
    email: str
    display_name: str


Grant = Callable[[Principal, Any], bool]

_RULES: dict[str, Callable[..., Any]] = {}
_GRANTS: dict[str, list[Grant]] = defaultdict(list)


def rule(name: str) -> Callable:
    """Register `fn(principal, ...)` as the rule `name` ("<capability>.<question>")."""

    def register(fn: Callable) -> Callable:
        if name in _RULES and _RULES[name] is not fn:
            raise ValueError(f"access rule {name!r} is defined twice")
        _RULES[name] = fn
        return fn

    return register


def grant(permission: str) -> Callable[[Grant], Grant]:
    """Register `fn(principal, resource) -> bool` as one way to hold `permission`."""

    def register(fn: Grant) -> Grant:
        if fn not in _GRANTS[permission]:
            _GRANTS[permission].append(fn)
        return fn

    return register


def require(name: str, principal: Principal, *args: Any, **kwargs: Any) -> Any:
    """Apply the rule `name`: its answer, or the NotFound/Forbidden it raises."""
    _load_policies()
    try:
        decide = _RULES[name]
    except KeyError:
        raise LookupError(f"no access rule {name!r}; rules are {sorted(_RULES)}") from None
    return decide(principal, *args, **kwargs)


def allows(permission: str, principal: Principal, resource: Any) -> bool:
    """True when the caller holds `permission` on `resource`."""
    _load_policies()
    if permission not in _GRANTS:
        raise LookupError(f"no grant of {permission!r}; permissions are {sorted(_GRANTS)}")
    if is_platform_admin(principal):
        return True
    return any(admits(principal, resource) for admits in _GRANTS[permission])


def is_platform_admin(principal: Principal) -> bool:
    return principal.role == PLATFORM_ADMIN


def known() -> dict[str, list[str]]:
    """Every rule and permission, for tests and docs: {"rules": [...], "permissions": [...]}."""
    _load_policies()
    return {"rules": sorted(_RULES), "permissions": sorted(_GRANTS)}


@cache
def _load_policies() -> None:
    """Import `chalicelib.<capability>.policy` of every capability that has one."""
    import chalicelib

    for module in pkgutil.iter_modules(chalicelib.__path__):
        name = f"chalicelib.{module.name}.policy"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
