"""The simulated service account: its RSA key pair, its JSON key file, and JWT verification.

The simulator makes a key pair at start and hands out the key file a Cloud console would
(`type: service_account`, `private_key_id`, PEM `private_key`, `client_email`, `token_uri`);
the token endpoint verifies assertions (RS256) with the public half, as Google does.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class JwtError(ValueError):
    """An assertion that is not a well-formed, correctly signed RS256 JWT."""


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    client_id: str
    private_key_id: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, client_email: str) -> ServiceAccount:
        return cls(
            client_email=client_email,
            client_id=str(100000000000000000000 + secrets.randbelow(10**20)),
            private_key_id=secrets.token_hex(20),
            private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )

    def key_file(self, *, project_id: str, token_uri: str) -> dict[str, Any]:
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": self.private_key_id,
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": (
                "https://www.googleapis.com/robot/v1/metadata/x509/"
                + self.client_email.replace("@", "%40")
            ),
            "universe_domain": "googleapis.com",
        }

    def verify(self, assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(header, claims) of an RS256 JWT signed with this account's key, else `JwtError`."""
        parts = assertion.split(".")
        if len(parts) != 3:
            raise JwtError("Invalid JWT: not three segments")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, json.JSONDecodeError) as exc:
            raise JwtError("Invalid JWT: cannot decode") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise JwtError("Invalid JWT: header or claims not an object")
        if header.get("alg") != "RS256":
            raise JwtError("Invalid JWT: algorithm must be RS256")
        try:
            self.private_key.public_key().verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature as exc:
            raise JwtError("Invalid JWT Signature.") from exc
        return header, claims
