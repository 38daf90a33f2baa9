"""Field rules Confluence applies when a user is created or edited (DC docs v940, admin-user).

userName: non-blank, no whitespace, none of `\\ , + < > ' "`, no upper-case, not `anonymous`;
fullName: non-blank, no `< >`, not `anonymous`; email: non-blank and well formed.
Pure functions raising `InvalidError`, shared by the REST and JSON-RPC front ends.
"""

from __future__ import annotations

import re

from roster.simulators.confluence.errors import InvalidError

_FORBIDDEN_IN_USERNAME = ("\\", ",", "+", "<", ">", "'", '"')
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]+$")
_RESERVED = "anonymous"


def validate_username(username: object) -> str:
    if not isinstance(username, str) or not username.strip():
        raise InvalidError("userName", "Username must not be blank")
    if any(ch.isspace() for ch in username):
        raise InvalidError("userName", "Username must not contain whitespace")
    for ch in _FORBIDDEN_IN_USERNAME:
        if ch in username:
            raise InvalidError("userName", f"Username must not contain the character {ch}")
    if username != username.lower():
        raise InvalidError("userName", "Username must not contain upper-case letters")
    if username == _RESERVED:
        raise InvalidError("userName", "Username 'anonymous' is reserved by Confluence")
    return username


def validate_full_name(full_name: object) -> str:
    if not isinstance(full_name, str) or not full_name.strip():
        raise InvalidError("fullName", "Full name must not be blank")
    if "<" in full_name or ">" in full_name:
        raise InvalidError("fullName", "Full name must not contain < or >")
    if full_name.strip().lower() == _RESERVED:
        raise InvalidError("fullName", "Full name 'anonymous' is reserved by Confluence")
    return full_name


def validate_email(email: object) -> str:
    if not isinstance(email, str) or not email.strip():
        raise InvalidError("email", "Email must not be blank")
    if _EMAIL.match(email) is None:
        raise InvalidError("email", f"Email {email!r} is not a valid email address")
    return email


def validate_group_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidError("name", "Group name must not be blank")
    if "/" in name or "\\" in name:
        raise InvalidError("name", "Group name must not contain / or \\")
    return name.lower()
