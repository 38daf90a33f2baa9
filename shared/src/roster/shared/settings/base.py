"""The two building blocks of every configuration section: `Section` and `SecretRef`.

Kept apart from `config` so per-area settings modules (`roster.shared.settings.*`) can
define their sections without importing the whole tree.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from roster.shared.errors import ConfigurationError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class SecretRef(Section):
    """Where a secret lives: an environment variable or a file (Kubernetes secret mount)."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def reveal(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigurationError(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text().strip()
        except OSError as exc:
            raise ConfigurationError(f"cannot read secret file {self.file}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SecretRef(env={self.env!r}, file={self.file!r})"
