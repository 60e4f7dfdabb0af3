"""An S3 bucket on a local moto server, for the tests that store into S3 through django-storages."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3


@contextmanager
def moto_bucket(bucket: str) -> Iterator[str]:
    """Start a moto server on 127.0.0.1 with ``bucket`` made; yield its endpoint URL, stop it after."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                     aws_secret_access_key="test").create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.stop()
