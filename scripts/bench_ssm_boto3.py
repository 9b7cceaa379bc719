"""Helper for scripts/bench-ssm.

  bench_ssm_boto3.py generate COUNT FILE     write a dotenv file with COUNT variables
  bench_ssm_boto3.py put URL PREFIX FILE     put them with a plain sequential boto3 loop,
                                             print the elapsed seconds
  bench_ssm_boto3.py warmup URL              one put with tags of each type, then delete
                                             (moto's first PutParameter takes about a second)
"""

import sys
import time


def generate(count, path):
    with open(path, "w") as f:
        for i in range(count):
            # One in ten names looks secret, so migrate writes it as a SecureString.
            key = f"API_TOKEN_{i:05d}" if i % 10 == 0 else f"SETTING_{i:05d}"
            f.write(f"{key}=value-{i:05d}-0123456789abcdef0123456789abcdef\n")


def put(url, prefix, path):
    import boto3

    client = boto3.client("ssm", endpoint_url=url, region_name="us-east-1")
    items = []
    with open(path) as f:
        for line in f:
            key, value = line.rstrip("\n").split("=", 1)
            items.append((key, value))
    start = time.monotonic()
    for key, value in items:
        kind = "SecureString" if key.startswith("API_TOKEN_") else "String"
        client.put_parameter(Name=prefix + key, Value=value, Type=kind, Overwrite=False)
    elapsed = time.monotonic() - start
    found = 0
    for page in client.get_paginator("get_parameters_by_path").paginate(Path=prefix.rstrip("/")):
        found += len(page["Parameters"])
    if found != len(items):
        sys.exit(f"boto3 loop stored {found} of {len(items)}")
    print(f"{elapsed:.3f}")


def warmup(url):
    import boto3

    client = boto3.client("ssm", endpoint_url=url, region_name="us-east-1")
    names = ["/warmup/plain", "/warmup/secret"]
    for name, kind in zip(names, ["String", "SecureString"]):
        client.put_parameter(Name=name, Value="x", Type=kind, Tags=[{"Key": "k", "Value": "v"}])
        client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
    client.get_parameters_by_path(Path="/warmup", WithDecryption=True)
    client.delete_parameters(Names=names)


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "warmup":
        warmup(sys.argv[2])
    elif sys.argv[1] == "put":
        put(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
