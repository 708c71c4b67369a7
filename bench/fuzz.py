"""Hostile blueprints through `sos validate`: no crash (exit 3), no hang, every error located.

Each input is a seed blueprint (the starters, and small files that extend a starter, a local parent
or name rules) with 1 to 4 mutations: YAML tags, anchors, aliases and alias bombs, deep nesting in
YAML and in expressions, lone surrogates, control characters, escapes beyond Unicode, `extends`
entries naming folders, pipes, symlink loops, /proc/self/environ, names over 255 bytes or NULs, and
plain damage (cut, repeated or re-indented lines, random characters). Input N is drawn from
random.Random(N), so a run is the same every time.

Each input runs in this process through click's CliRunner, under a 10 s alarm and a 2 GB address-space
limit. Figures: inputs, exit 0/1/3 counts, inputs over 2 s, exit-1 results with an error headline
that names no file:line:col, and where the failing inputs were written. SOS_FUZZ_INPUTS sets the count.
"""

from __future__ import annotations

import os
import random
import re
import resource
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from sos.cli import cli
from sos.resources import starter_names, starters_dir

INPUTS = int(os.environ.get("SOS_FUZZ_INPUTS", "10000"))
SLOW = 2.0  # seconds: an input slower than this counts as a hang
ALARM = 10  # seconds: an input still running then is stopped
MEMORY = 2 * 1024**3  # bytes of address space for the whole run
HEADLINE = re.compile(r"^(?:(?P<where>.+?:\d+:\d+): )?error: .*\[[A-Za-z0-9-]+\]$")

SMALL = {
    "child.yaml": "sos: 1\nname: acme\nextends: [starter:smb-bant, parent.yaml]\nfields:\n  lead:\n"
                  "    tier: {type: picklist, values: [A, B], label: Tier}\n",
    "rules.yaml": "sos: 1\nname: acme\nextends: parent.yaml\nrules:\n  big:\n    object: opportunity\n"
                  "    when: stage.is_open and amount > 1000\n    require: not is_blank(next_step)\n"
                  "    message: Big deals need a next step.\n",
}
PARENT = "sos: 1\nname: parent\nfields:\n  opportunity:\n    budget: {type: currency, label: Budget}\n"
# Files beside the input that `extends` entries may name.
NEIGHBOURS = {"parent.yaml": PARENT, "anchors.yaml": "sos: 1\nname: x\ndescription: &d text\nx: *d\n"}

EXTENDS = [
    "../../../../../../../../proc/self/environ", "environ.yaml", "/dev/zero", "../outside.yaml", "folder.yaml",
    "pipe.yaml", "loop.yaml", "x" * 300 + ".yaml", '"a\\0b.yaml"', '"\\ud800.yaml"', ".", "..", "", "''",
    "parent.yaml", "anchors.yaml", "starter:nope", "starter:smb-bant", "child.yaml", "[]", "{}", "~",
    "notes.txt", "../" * 40 + "etc/passwd", "PARENT.YAML", "parent.yaml/", "./././parent.yaml",
]
PIECES = [
    "!foo ", "!!int ", "!!python/name:os.system ", "!!python/object/apply:os.system ['true'] ", "!!binary ",
    "!!set ", "!!str ", "!!float ", "!!timestamp ", "!!omap ", "! ", "!<tag:x> ", "&a ", "*a", "*nope", "&a [*a] ",
    "<<: *a\n", '"\\ud800"', '"\\udfff x"', '"\\x01"', '"\\x1b[31m"', '"\\x7f"', '"\\x85"', '"\\U0011ffff"',
    '"\\U0010ffff"', '"\\U80000000"', '"\\UFFFFFFFF"', '"\\uffff"', '"\\0"', '"\\e"', "\x01", "\x00", "\t",
    "\r", "\u2028", "\ufeff", "é", "\\",
    "'", '"', "#", ": ", "- ", "? ", "|", ">", "{", "}", "[", "]", ",", "%YAML 1.1\n", "---\n", "...\n",
    "2024-13-45", "0x1F", "1e999", "-.inf", ".nan", "0o777", "Yes", "~", "null", "9" * 30,
]


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _nest(rng: random.Random) -> str:
    depth = rng.choice([20, 60, 200, 1000, 5000])
    kind = rng.randrange(4)
    if kind == 0:
        return "[" * depth + "]" * depth
    if kind == 1:
        return "{a: " * depth + "1" + "}" * depth
    if kind == 2:
        return "\n" + "".join(f"{' ' * i}k:\n" for i in range(1, min(depth, 300)))
    return "'" + rng.choice(["not ", "-", "(", "f("]) * depth + "x" + ")" * (depth if kind == 3 else 0) + "'"


def _expression(rng: random.Random) -> str:
    depth = rng.choice([50, 101, 1000, 3000])
    return rng.choice(["not " * depth + "true", "(" * depth + "amount > 0" + ")" * depth, "-" * depth + "amount",
                       "is_blank(" * depth + "x" + ")" * depth, "[" * depth + "]" * depth, "'\\u0000'",
                       "amount > " + "9" * 5000, "a" + ".b" * depth])


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines) + 1)
        kind = rng.randrange(10)
        if kind == 0:
            lines.insert(at, f"extends: [{rng.choice(EXTENDS)}]" if rng.random() < 0.7
                         else f"extends: {rng.choice(EXTENDS)}")
        elif kind == 1:
            lines.insert(at, rng.choice(["x: ", "description: ", "  ", "- "]) + _nest(rng))
        elif kind == 2:
            lines.insert(at, _bomb(rng.choice([3, 6, 9, 12])))
        elif kind == 3:
            lines.insert(at, f"rules:\n  r:\n    object: opportunity\n    require: \"{_expression(rng)}\"\n"
                             "    message: m")
        elif kind in (4, 5) and lines:
            line = lines[at % len(lines)]
            cut = rng.randrange(len(line) + 1)
            lines[at % len(lines)] = line[:cut] + rng.choice(PIECES) + line[cut + rng.choice([0, 0, 1, 3]):]
        elif kind == 6 and lines:
            del lines[at % len(lines) : at % len(lines) + rng.randint(1, 5)]
        elif kind == 7 and lines:
            lines[at:at] = lines[at % len(lines) : at % len(lines) + rng.randint(1, 5)] * rng.choice([1, 2, 50])
        elif kind == 8 and lines:
            lines[at % len(lines)] = " " * rng.choice([1, 2, 4, 8]) + lines[at % len(lines)]
        else:
            lines.insert(at, "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0x3000)]))
                                     for _ in range(rng.randint(1, 30))))
    return "\n".join(lines)


class _Stopped(BaseException):
    """An input ran past the alarm (BaseException: neither sos nor click catches it)."""


def _alarm(signum: int, frame: object) -> None:
    raise _Stopped


def _prepare(folder: Path) -> None:
    for name, text in {**NEIGHBOURS, **SMALL}.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder.parent / "outside.yaml").write_text(PARENT, encoding="utf-8")
    (folder / "environ.yaml").symlink_to("/proc/self/environ")
    (folder / "folder.yaml").mkdir()
    os.mkfifo(folder / "pipe.yaml")
    (folder / "loop.yaml").symlink_to("loop2.yaml")
    (folder / "loop2.yaml").symlink_to("loop.yaml")
    (folder / "notes.txt").write_text("SECRET=1\n", encoding="utf-8")


def unlocated(stderr: str) -> list[str]:
    """The error headlines of an exit-1 result that name no file:line:col (all of them if there is none)."""
    headlines = [found for line in stderr.splitlines() if (found := HEADLINE.match(line))]
    return [found.string for found in headlines if not found["where"]] or ([] if headlines else ["(none)"])


def run() -> list[tuple[str, str]]:
    seeds = {f"{name}.yaml": (starters_dir() / f"{name}.yaml").read_text(encoding="utf-8")
             for name in starter_names()}
    seeds.update(SMALL)
    names = sorted(seeds)
    exits: Counter[int] = Counter()
    slow, unlocated_results, slowest = 0, 0, 0.0
    kept = Path(tempfile.mkdtemp(prefix="sos-fuzz-failures-"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, hard))
    previous = signal.signal(signal.SIGALRM, _alarm)
    here = Path.cwd()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "client"
            folder.mkdir()
            _prepare(folder)
            os.chdir(folder)
            runner = CliRunner()
            for number in range(INPUTS):
                rng = random.Random(number)
                seed = rng.choice(names)
                text = mutate(seeds[seed], rng)
                Path("input.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
                started = time.perf_counter()
                signal.alarm(ALARM)
                try:
                    result = runner.invoke(cli, ["validate", "input.yaml"])
                    code, stderr = result.exit_code, result.stderr
                except _Stopped:
                    code, stderr = -1, "stopped"
                finally:
                    signal.alarm(0)
                took = time.perf_counter() - started
                slowest = max(slowest, took)
                exits[code] += 1
                failed = code not in (0, 1) or took > SLOW
                slow += took > SLOW
                if code == 1 and unlocated(stderr):
                    unlocated_results += 1
                    failed = True
                if failed:
                    (kept / f"{number}.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
                    (kept / f"{number}.out").write_text(f"exit {code}, {took:.2f} s\n{stderr}", encoding="utf-8")
    finally:
        os.chdir(here)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if not any(kept.iterdir()):
        kept.rmdir()
    return [
        ("inputs", f"{INPUTS:,}"),
        ("exit 0 / 1 / 3", f"{exits[0]:,} / {exits[1]:,} / {exits[3]:,}"),
        ("other exits (-1: stopped at the alarm)", ", ".join(f"{c}: {n}" for c, n in sorted(exits.items())
                                                             if c not in (0, 1, 3)) or "none"),
        (f"inputs over {SLOW:.0f} s", f"{slow} (slowest {slowest:.2f} s)"),
        ("exit-1 results without a located error", str(unlocated_results)),
        ("failing inputs kept in", str(kept) if kept.exists() else "none"),
    ]


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label}: {figure}")
