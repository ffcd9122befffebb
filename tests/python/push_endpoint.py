"""A local Web Push service endpoint for the e2e tests, written against the standards with
code no one in this project wrote: it decrypts each message with Mozilla's http_ece
(RFC 8188 / RFC 8291 `aes128gcm`) and verifies the VAPID token (RFC 8292) with PyJWT.

It makes a subscription's keys (a P-256 key pair and a 16-byte auth secret), listens on a
free loopback port and prints one JSON line:
  {"endpoint": ..., "gone_endpoint": ..., "p256dh": ..., "auth": ...}
then one JSON line per push received:
  {"path", "ttl", "urgency", "encoding", "plaintext" | "decrypt_error", "vapid" (claims) | "vapid_error", "vapid_k"}
A push to the gone endpoint is answered 410 (the subscription has expired).

Run by tests/tests/emergency_card_e2e.rs when PHR_PUSH_PYTHON names a Python with the pinned
packages of tests/python/requirements-ci.txt (.ci/run sets it).
"""

import base64
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
AUTH = os.urandom(16)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        out = {
            "path": self.path,
            "ttl": self.headers.get("TTL"),
            "urgency": self.headers.get("Urgency"),
            "encoding": self.headers.get("Content-Encoding"),
        }
        try:
            out["plaintext"] = http_ece.decrypt(body, private_key=KEY, auth_secret=AUTH, version="aes128gcm").decode()
        except Exception as e:  # reported to the test, which fails on it
            out["decrypt_error"] = repr(e)
        authz = self.headers.get("Authorization", "")
        try:
            assert authz.startswith("vapid "), "not a vapid Authorization"
            params = dict(p.strip().split("=", 1) for p in authz[len("vapid "):].split(","))
            signer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(params["k"]))
            origin = f"http://127.0.0.1:{self.server.server_port}"
            out["vapid"] = jwt.decode(params["t"], key=signer, algorithms=["ES256"], audience=origin)
            out["vapid_k"] = params["k"]
        except Exception as e:
            out["vapid_error"] = repr(e)
        print(json.dumps(out), flush=True)
        self.send_response(410 if self.path.startswith("/push/gone") else 201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    server = HTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_port
    print(json.dumps({
        "endpoint": f"http://127.0.0.1:{port}/push/phone-1",
        "gone_endpoint": f"http://127.0.0.1:{port}/push/gone",
        "p256dh": b64u(PUBLIC),
        "auth": b64u(AUTH),
    }), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
