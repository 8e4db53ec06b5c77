"""Media in an S3-compatible bucket (AWS, MinIO, Garage…), through boto3.

boto3 is an optional dependency (`pip install 'solo[s3]'`) and costs ~30 MB and a noticeable
start-up time, so it is imported only when an `S3Storage` is made, i.e. when
media_storage = "s3". Its calls block: each runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from solo.config import Settings
from solo.errors import SetupError
from solo.media.keys import check_key

# Our files never change under a key (see solo.media.serve).
CACHE_CONTROL = "public, max-age=31536000, immutable"


class S3Storage:
    def __init__(self, settings: Settings) -> None:
        try:
            # Imported here, not at the top: see the module docstring.
            import boto3
            from botocore.config import Config
        except ImportError:
            raise SetupError(
                "media_storage is s3 but boto3 is not installed: pip install 'solo[s3]'"
            ) from None
        self.bucket = settings.s3_bucket
        # Explicit credentials and region: boto3 then never looks at ~/.aws, the environment or
        # an instance metadata service.
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=10,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        self._missing: tuple[type[Exception], ...] = (self._client.exceptions.NoSuchKey,)

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=check_key(key),
            Body=data,
            ContentType=media_type,
            CacheControl=CACHE_CONTROL,
        )

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, check_key(key))

    async def delete(self, key: str) -> None:
        # S3 answers a delete of a missing key with success.
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=check_key(key))

    async def aclose(self) -> None:
        self._client.close()

    def _get(self, key: str) -> bytes | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except self._missing:
            return None
        body = answer["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()
