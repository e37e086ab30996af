#!/usr/bin/python3
"""Symbolizes sanitizer reports written with symbolize=0, in place.

scripts/sanitize runs ASan and UBSan with symbolize=0, so a report is complete within
milliseconds of the error, even when a test kills the process right after (in-process
symbolization of a large binary takes seconds and a killed process leaves only the report's
first lines). This rewrites every frame "#N 0xPC  (MODULE+0xOFFSET)" as
"#N 0xPC in FUNCTION FILE:LINE (MODULE+0xOFFSET)" with llvm-symbolizer (or addr2line), one call
per module. Usage: symbolize.py REPORT...
"""
import re
import shutil
import subprocess
import sys

FRAME = re.compile(r"^(\s*#\d+ 0x[0-9a-f]+)\s+\((.+)\+(0x[0-9a-f]+)\)\s*$")


def symbolize(module, offsets):
    """Returns {offset: "function file:line"} for the offsets of one module."""
    tool = shutil.which("llvm-symbolizer")
    out = {}
    try:
        if tool:
            text = subprocess.run(
                [tool, "--obj=" + module, "--demangle", "--inlining=false", "--relative-address"]
                + offsets, capture_output=True, text=True, timeout=120).stdout
            blocks = [b.split("\n") for b in text.strip().split("\n\n")]
        else:
            text = subprocess.run(["addr2line", "-f", "-C", "-e", module] + offsets,
                                  capture_output=True, text=True, timeout=120).stdout
            lines = text.strip().split("\n")
            blocks = [lines[i:i + 2] for i in range(0, len(lines), 2)]
    except (OSError, subprocess.SubprocessError):
        return out
    for offset, block in zip(offsets, blocks):
        if len(block) >= 2 and block[0] not in ("??", ""):
            out[offset] = f"{block[0]} {block[1]}"
    return out


def main(paths):
    for path in paths:
        with open(path, errors="replace") as f:
            lines = f.read().split("\n")
        wanted = {}
        for line in lines:
            m = FRAME.match(line)
            if m:
                wanted.setdefault(m.group(2), set()).add(m.group(3))
        names = {}
        for module, offsets in wanted.items():
            for offset, name in symbolize(module, sorted(offsets)).items():
                names[(module, offset)] = name
        result = []
        for line in lines:
            m = FRAME.match(line)
            name = names.get((m.group(2), m.group(3))) if m else None
            result.append(f"{m.group(1)} in {name} ({m.group(2)}+{m.group(3)})" if name else line)
        with open(path, "w") as f:
            f.write("\n".join(result))


if __name__ == "__main__":
    main(sys.argv[1:])
