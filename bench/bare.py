"""The machine's floor for ingress: a bare Starlette + uvicorn endpoint that reads each signed
inbox POST, checks its Digest and verifies its RSA signature, and answers 202 — no storage, no
queue, no middleware, no key fetch (the keys are given). `bench ingress` sends it the same
requests as Solo, in the same run, and reports Solo's rate as a fraction of this one.

    python -m bench.bare CONFIG.json PORT     (CONFIG: {"keys": {keyId: public PEM}})
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import summary


def _params(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        out[name] = value.strip('"')
    return out


def make_app(keys: dict[str, rsa.RSAPublicKey]) -> Starlette:
    async def inbox(request: Request) -> Response:
        body = await request.body()
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        if request.headers.get("digest") != digest:
            return Response("bad digest", status_code=401)
        params = _params(request.headers.get("signature", ""))
        key = keys.get(params.get("keyId", ""))
        if key is None:
            return Response("unknown key", status_code=401)
        lines = []
        for name in params.get("headers", "date").split():
            if name == "(request-target)":
                lines.append(f"(request-target): post {request.url.path}")
            else:
                lines.append(f"{name}: {request.headers.get(name, '')}")
        try:
            key.verify(
                base64.b64decode(params.get("signature", "")),
                "\n".join(lines).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return Response("bad signature", status_code=401)
        return Response(status_code=202)

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    keys = {}
    for key_id, pem in config["keys"].items():
        key = serialization.load_pem_public_key(pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        keys[key_id] = key
    # The same server settings as `solo serve` where they cost something per request, on the
    # event loop Solo runs on (`--loop`; uvicorn's own choice would be uvloop when installed).
    uvicorn.run(
        make_app(keys),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        access_log=False,
        log_level="warning",
        loop=summary.event_loop(),
    )


if __name__ == "__main__":
    main()
