#!/usr/bin/env python3
"""Writes gather_client/_pb/gather_pb2.py and .pyi from proto/gather/v1/gather.proto with protoc.

The generated files are checked in, so `pip install` needs neither protoc nor the network.
`--check` compares them with what protoc generates now and exits 1 when they differ (the tests
run it, so a proto change without regenerated stubs fails).
"""
import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE = HERE.parent / "gather_client" / "_pb"
PROTO_ROOT = HERE.parent.parent.parent / "proto"
PROTO = "gather/v1/gather.proto"
OUTPUTS = ("gather_pb2.py", "gather_pb2.pyi")


def generate(out_dir: pathlib.Path) -> None:
    protoc = shutil.which("protoc")
    if protoc is None:
        sys.exit("generate_stubs: protoc not found (Debian: apt install protobuf-compiler)")
    subprocess.run([protoc, f"-I{PROTO_ROOT}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
                    str(PROTO_ROOT / PROTO)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="compare the checked-in stubs with protoc's output instead of writing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        generate(out)
        stale = []
        for name in OUTPUTS:
            fresh = (out / "gather" / "v1" / name).read_bytes()
            target = PACKAGE / name
            if args.check:
                if not target.exists() or target.read_bytes() != fresh:
                    stale.append(str(target.relative_to(HERE.parent)))
            else:
                target.write_bytes(fresh)
        if stale:
            print("generate_stubs: out of date with proto/ (run clients/python/tools/generate_stubs.py): "
                  + ", ".join(stale), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
