"""Installs gather_client: `pip install ./clients/python`.

setup.py only (no pyproject.toml build requirements), so pip builds it with the setuptools that is
already installed and needs no network: on Debian 12, python3-grpcio and python3-protobuf provide
the dependencies (use a venv with --system-site-packages). The protobuf stubs in gather_client/_pb
are generated from proto/ and checked in (tools/generate_stubs.py --check verifies them).
"""
from setuptools import setup

setup(
    name="gather-client",
    version="0.1.0",
    description="Python client of gatherd: concurrent HTTP JSON lookups, fetches and rankings",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=["gather_client", "gather_client._pb"],
    package_data={"gather_client": ["py.typed"], "gather_client._pb": ["*.pyi"]},
    install_requires=["grpcio>=1.51", "protobuf>=3.21"],
    extras_require={"pandas": ["pandas>=1.3"]},
    zip_safe=False,
)
