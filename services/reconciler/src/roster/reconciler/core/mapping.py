"""Attribute mapping: Confluence username, display name and email from CEL expressions.

Compiled once per directory (`ruleset`); a bad expression raises `ConfigurationError`
naming directory and attribute. Evaluation is side-effect free (CEL plus the helpers
below); its errors name directory, attribute and user, and `desired` turns them into a
skipped user, so one odd account never stops a run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import cel

from roster.shared.errors import ConfigurationError
from roster.shared.messages.directory import IdpUser
from roster.shared.settings.rules import AttributeMapping, AttributeRule, WhenEmpty

Attribute = Literal["username", "display_name", "email"]
ATTRIBUTES: tuple[Attribute, ...] = ("username", "display_name", "email")
_GUEST = re.compile(r"^(?P<local>.+)_(?P<domain>[^_#]+)#EXT#@", re.IGNORECASE)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return next((_text(v) for v in value if _text(v)), "")
    return str(value)


def _lower(value: Any) -> str:
    return _text(value).lower()


def _regex_replace(value: Any, pattern: str, replacement: str) -> str:
    return re.sub(pattern, replacement, _text(value))


def _strip_domain(value: Any) -> str:
    return _text(value).split("@", 1)[0]


def guest_address(value: Any) -> str:
    """Entra B2B guest UPN `jane_example.com#EXT#@tenant.onmicrosoft.com` → jane@example.com;
    any other value unchanged."""
    text = _text(value)
    found = _GUEST.match(text)
    if found is None:
        return text
    return f"{found['local']}@{found['domain']}"


def _first_non_empty(values: Any) -> str:
    items = values if isinstance(values, list) else [values]
    return next((t for t in (_text(v).strip() for v in items) if t), "")


def _join(values: Any, separator: str = " ") -> str:
    items = values if isinstance(values, list) else [values]
    return separator.join(t for t in (_text(v).strip() for v in items) if t)


HELPERS: Mapping[str, Callable[..., str]] = {
    "lower": _lower,
    "regex_replace": _regex_replace,
    "strip_domain": _strip_domain,
    "guest_email": guest_address,
    "first_non_empty": _first_non_empty,
    "join": _join,
    "trim": lambda value: _text(value).strip(),
}


def variables_of(user: IdpUser) -> dict[str, Any]:
    """What an expression sees: the normalised fields ('' when missing) and `attributes`."""
    return {
        "subject": user.subject,
        "login": user.login,
        "email": user.email or "",
        "given_name": user.given_name or "",
        "family_name": user.family_name or "",
        "display_name": user.display_name or "",
        "active": user.active,
        "attributes": dict(user.attributes),
    }


_SAMPLE = IdpUser(subject="sample", login="sample", email="sample@example.com")


class MappingError(ValueError):
    def __init__(self, directory: str, attribute: str, user: str, detail: str) -> None:
        self.attribute = attribute
        super().__init__(
            f"mapping of '{attribute}' failed in directory '{directory}' "
            f"for user '{user}': {detail}"
        )


@dataclass(frozen=True)
class CompiledRule:
    attribute: Attribute
    source: str
    program: Any
    """A `cel.Program` (the binding ships no stub for its class attribute)."""
    when_empty: WhenEmpty


@dataclass(frozen=True)
class CompiledMapping:
    directory: str
    rules: Mapping[str, CompiledRule]

    def rule(self, attribute: Attribute) -> CompiledRule | None:
        return self.rules.get(attribute)

    def context(self, user: IdpUser) -> Any:
        """One evaluation context per user, shared by its attributes (building one costs
        more than evaluating an expression)."""
        return cel.Context(variables=variables_of(user), functions=dict(HELPERS))

    def evaluate(self, attribute: Attribute, user: IdpUser, context: Any = None) -> str | None:
        """The attribute's value ('' when the expression gave nothing), or None when no
        expression is configured for it."""
        rule = self.rules.get(attribute)
        if rule is None:
            return None
        context = context if context is not None else self.context(user)
        try:
            value = rule.program.execute(context)
        except (RuntimeError, ValueError, TypeError, KeyError) as exc:
            raise MappingError(self.directory, attribute, user.login, str(exc)) from exc
        if isinstance(value, dict | bytes):
            detail = f"expression gave a {type(value).__name__}, not a string"
            raise MappingError(self.directory, attribute, user.login, detail)
        return _text(value).strip()


def _compile_rule(directory: str, attribute: Attribute, rule: AttributeRule) -> CompiledRule:
    where = f"directories[{directory}].attributes.{attribute}"
    try:
        program = cel.compile(rule.expr)
    except (ValueError, RuntimeError) as exc:
        raise ConfigurationError(f"{where}: invalid CEL expression: {exc}") from exc
    # a trial run on a sample user finds misspelt variables and helpers at start
    context = cel.Context(variables=variables_of(_SAMPLE), functions=dict(HELPERS))
    try:
        program.execute(context)
    except RuntimeError as exc:
        if "Undefined variable or function" in str(exc):
            raise ConfigurationError(f"{where}: {exc}") from exc
    except (ValueError, TypeError, KeyError):
        pass  # depends on the user's data: reported per user at evaluation
    return CompiledRule(attribute, rule.expr, program, rule.when_empty)


def compile_mapping(directory: str, mapping: AttributeMapping) -> CompiledMapping:
    rules: dict[str, CompiledRule] = {}
    for attribute in ATTRIBUTES:
        rule = getattr(mapping, attribute)
        if rule is not None:
            rules[attribute] = _compile_rule(directory, attribute, rule)
    return CompiledMapping(directory, rules)
