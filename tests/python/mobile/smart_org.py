"""An organization's SMART Backend Services client (ES384 client assertion,
RFC 7523), written here with `cryptography` only, independent of the server's
code: registers the organization with the operator's `org add` and asks the
token endpoint for access tokens."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SmartOrg:
    """A registered organization (`kind`, `purposes`) with a fresh P-384 key."""

    def __init__(self, server, tmp_path: Path, org_id: str, name: str, kind: str, purposes=("treatment",)):
        self.server = server
        self.org_id = org_id
        self.kid = f"{org_id}-es384"
        self.key = ec.generate_private_key(ec.SECP384R1())
        numbers = self.key.public_key().public_numbers()
        jwk = {
            "kty": "EC", "crv": "P-384", "kid": self.kid, "alg": "ES384", "use": "sig",
            "x": b64u(numbers.x.to_bytes(48, "big")), "y": b64u(numbers.y.to_bytes(48, "big")),
        }
        jwks = tmp_path / f"{org_id}-jwks.json"
        jwks.write_text(json.dumps({"keys": [jwk]}))
        args = ["org", "add", "--id", org_id, "--name", name, "--kind", kind]
        for purpose in purposes:
            args += ["--purpose", purpose]
        server.admin(*args, "--jwks-file", str(jwks))
        config = self.get_json(server.base_url + "/.well-known/smart-configuration")
        self.token_url = config["token_endpoint"]

    @staticmethod
    def get_json(url: str, token: str | None = None) -> dict:
        request = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def token(self, scope: str) -> str:
        header = {"alg": "ES384", "kid": self.kid, "typ": "JWT"}
        claims = {"iss": self.org_id, "sub": self.org_id, "aud": self.token_url, "exp": int(time.time()) + 240,
                  "jti": str(uuid.uuid4())}
        signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA384())))
        assertion = f"{signing_input}.{b64u(r.to_bytes(48, 'big') + s.to_bytes(48, 'big'))}"
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": scope,
        }).encode()
        request = urllib.request.Request(self.token_url, data=form,
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["access_token"]

    def call(self, method: str, path: str, token: str, body: dict | None = None, headers: dict | None = None):
        """A JSON API call: (status, headers, parsed body or None)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw, status, answer_headers = response.read(), response.status, response.headers
        except urllib.error.HTTPError as refused:
            raw, status, answer_headers = refused.read(), refused.code, refused.headers
        return status, answer_headers, (json.loads(raw) if raw else None)
