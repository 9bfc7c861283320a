"""``chalice package`` with the stage's tables, queues and KMS key merged into the template.

    python -m infra.package --stage prod --out build/package

Writes the resources (from chalicelib.common.schema) to a file and hands it to ``--merge-template``,
so the SAM template deploys the functions and everything they use in one stack. Prints what every
cold start fetches and unpacks: the deployment package's size and its largest parts (boto3 and
botocore are not among them: the Lambda runtime provides them).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from infra.template import resources

ROOT = Path(__file__).resolve().parent.parent


def package(stage: str, out: Path) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    prefix = config["stages"][stage]["environment_variables"]["DUTYBRIDGE_PREFIX"]
    merge = ROOT / "build" / f"resources-{stage}.json"
    merge.parent.mkdir(parents=True, exist_ok=True)
    merge.write_text(json.dumps(resources(prefix), indent=2))
    env = {"AWS_DEFAULT_REGION": "us-east-1", **os.environ}  # the template is region-neutral
    subprocess.run([str(Path(sys.executable).with_name("chalice")), "package", "--stage", stage,
                    "--merge-template", str(merge), str(out)], cwd=ROOT, check=True, env=env)
    print(size_report(out / "deployment.zip"))


def size_report(archive: Path, largest: int = 6) -> str:
    """``deployment.zip: 6.9 MB (17.2 MB unpacked); largest: Crypto 3.0 MB, …`` (compressed sizes)."""
    with zipfile.ZipFile(archive) as opened:
        entries = opened.infolist()
    parts: collections.Counter[str] = collections.Counter()
    for entry in entries:
        parts[entry.filename.split("/")[0]] += entry.compress_size
    top = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in parts.most_common(largest))
    return (f"{archive.name}: {archive.stat().st_size / 1e6:.1f} MB "
            f"({sum(e.file_size for e in entries) / 1e6:.1f} MB unpacked); largest: {top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", default="build/package", type=Path)
    args = parser.parse_args()
    package(args.stage, args.out if args.out.is_absolute() else ROOT / args.out)


if __name__ == "__main__":
    main()
