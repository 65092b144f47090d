"""Wait for the moto servers started by moto.sh, prepare the signature-checking one, and write
servers.json.

The auth server accepts four unsigned actions (INITIAL_NO_AUTH_ACTION_COUNT=4); they create an
IAM user, its access key, an inline policy allowing all of S3, and the bucket. Waiting uses plain
TCP connects so that no action is spent on it."""
import argparse
import json
import socket
import time
from urllib.parse import urlsplit

import boto3

AUTH_BUCKET = "rke-auth"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
)


def wait_tcp(url, deadline):
    u = urlsplit(url)
    while True:
        try:
            socket.create_connection((u.hostname, u.port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline:
                raise SystemExit(f"{url} did not start listening")
            time.sleep(0.2)


def prepare_auth(endpoint):
    common = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam = boto3.client("iam", **common)
    iam.create_user(UserName="rke")
    key = iam.create_access_key(UserName="rke")["AccessKey"]
    iam.put_user_policy(UserName="rke", PolicyName="s3", PolicyDocument=POLICY)
    boto3.client("s3", **common).create_bucket(Bucket=AUTH_BUCKET)
    return {
        "endpoint": endpoint,
        "access_key": key["AccessKeyId"],
        "secret_key": key["SecretAccessKey"],
        "bucket": AUTH_BUCKET,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--http", required=True)
    p.add_argument("--https", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--auth", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    deadline = time.time() + 60
    for url in (a.http, a.https, a.auth):
        wait_tcp(url, deadline)
    servers = {
        "moto_version": a.version,
        "http": a.http,
        "https": a.https,
        "ca": a.ca,
        "auth": prepare_auth(a.auth),
    }
    with open(a.out, "w") as f:
        json.dump(servers, f, indent=2)


main()
