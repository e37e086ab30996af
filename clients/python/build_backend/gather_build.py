"""A PEP 517 build backend for gather_client, using only the standard library.

pip builds a package in an isolated environment and installs its build requirements from the
network. With this backend there are none (requires = []), so the package installs offline.
Metadata comes from pyproject.toml's [project] table; the wheel holds the packages listed under
[tool.gather_build] with their .py files and the package data patterns.
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import os
import pathlib
import tarfile
import zipfile

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _project():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if tomllib is None:
        raise RuntimeError("building gather_client needs Python 3.11 (tomllib)")
    data = tomllib.loads(text)
    return data["project"], data["tool"]["gather_build"]


def _dist_name(project):
    return project["name"].replace("-", "_")


def _metadata(project) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}",
             f"Version: {project['version']}", f"Summary: {project['description']}",
             f"License: {project['license']['text']}",
             f"Requires-Python: {project['requires-python']}"]
    lines += [f"Requires-Dist: {d}" for d in project.get("dependencies", [])]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {d}; extra == "{extra}"' for d in deps]
    lines.append("Description-Content-Type: text/markdown")
    readme = (ROOT / project["readme"]).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n\n" + readme


def _files(tool):
    for package in tool["packages"]:
        directory = ROOT / package.replace(".", "/")
        for path in sorted(directory.iterdir()):
            if path.is_file() and (path.suffix == ".py" or any(
                    fnmatch.fnmatch(path.name, p) for p in tool.get("package-data", []))):
                yield path.relative_to(ROOT).as_posix(), path.read_bytes()


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project, tool = _project()
    name = f"{_dist_name(project)}-{project['version']}"
    wheel_name = f"{name}-py3-none-any.whl"
    info = f"{name}.dist-info"
    entries = list(_files(tool))
    entries.append((f"{info}/METADATA", _metadata(project).encode("utf-8")))
    entries.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: gather_build\n"
                                     b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    entries.append((f"{info}/top_level.txt", b"gather_client\n"))
    record = [_record_line(n, d) for n, d in entries] + [f"{info}/RECORD,,"]
    entries.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    path = os.path.join(wheel_directory, wheel_name)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for entry_name, data in entries:
            wheel.writestr(zipfile.ZipInfo(entry_name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    project, tool = _project()
    name = f"{_dist_name(project)}-{project['version']}"
    path = os.path.join(sdist_directory, f"{name}.tar.gz")
    extra = ["pyproject.toml", project["readme"], "build_backend/gather_build.py"]
    with tarfile.open(path, "w:gz") as sdist:
        def add(arcname: str, data: bytes) -> None:
            member = tarfile.TarInfo(f"{name}/{arcname}")
            member.size = len(data)
            sdist.addfile(member, io.BytesIO(data))
        for file_name, data in _files(tool):
            add(file_name, data)
        for file_name in extra:
            add(file_name, (ROOT / file_name).read_bytes())
        add("PKG-INFO", _metadata(project).encode("utf-8"))
    return os.path.basename(path)
