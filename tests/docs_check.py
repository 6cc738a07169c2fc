#!/usr/bin/env python3
"""The CLI's own account of itself against the man page and README (called by tests/install.sh).

usage: docs_check.py NBENCH RENDERED_PAGE README

- every command's --help: each option listed once, with a description; every option its usage lines name
  is one it lists;
- the rendered page (man -l, MANWIDTH fixed): per command section of COMMANDS, the options its items name
  are exactly those the --help of the commands it covers lists (both ways); no markup left over (an escaped
  '_' before an underlined word renders as "__"), no word or option broken at the end of a line, and each
  synopsis of SYNOPSIS a paragraph of its own (two once rendered on one line: "... [test options] nbench
  plot FILE.json");
- README's synopses: an option shown with a value in brackets, [--trial 2], shows its default, as --help
  says it ("[default: 2]").

Prints "FAIL: ..." per problem and "ok: ..." per check passed; exits 1 on any failure.
"""
import re
import subprocess
import sys

nbench, page_file, readme_file = sys.argv[1:4]
fails = 0


def bad(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)


def ok(msg):
    print("ok: " + msg)


# An option as it is written: -H, --host (not "--" alone, not a word with a dash inside such as nb-NAME).
OPT = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[A-Za-z])(?![\w-])")
# A --help option line: "  -H, --host HOST        text" or "      --json             text".
ROW = re.compile(r"^  (?:(-[A-Za-z]), |    )(--[a-z][a-z0-9-]*)(.*)$")


def run(*args):
    p = subprocess.run([nbench, *args], capture_output=True, text=True)
    if p.returncode and "--help" in args:
        bad(f"nbench {' '.join(args)} exits {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def help_of(cmd):
    """The options cmd's --help lists ({"-H", "--host", ...}), after checking the help itself; None when
    cmd has no usage at all (version, help)."""
    text = run(cmd, "--help")
    lines = text.split("\n")
    if cmd in ("version", "help"):
        return None  # no options of their own
    if not text.startswith(f"usage: nbench {cmd}"):
        bad(f"nbench {cmd} --help does not start with its usage: {text[:60]!r}")
        return set()
    if "options:" not in lines:
        bad(f"nbench {cmd} --help has no 'options:' section (a line per option)")
        return set()
    start = lines.index("options:")
    usage = []
    for line in lines:
        if not line.strip():
            break
        usage.append(line)
    opts, seen = set(), []
    for i, line in enumerate(lines[start + 1:], start + 1):
        m = ROW.match(line)
        if not m:
            continue
        short, long_, _ = m.groups()
        seen.append(long_)
        opts.add(long_)
        if short:
            opts.add(short)
        # the text starts in column 25, or on the next line when the flag is longer than its column
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if not line[25:].strip() and not (nxt.startswith(" " * 25) and nxt.strip()):
            bad(f"nbench {cmd} --help: {long_} has no description")
    for o in sorted({o for o in seen if seen.count(o) > 1}):
        bad(f"nbench {cmd} --help lists {o} {seen.count(o)} times")
    for o in sorted(set(OPT.findall("\n".join(usage))) - opts):
        bad(f"nbench {cmd} --help: its usage names {o}, which it does not describe")
    return opts


cmds = [line.split()[0] for line in run("help").split("\n") if re.match(r"^  [a-z]", line)]
helps = {c: help_of(c) for c in cmds}
helps = {c: h for c, h in helps.items() if h is not None}
ok(f"{len(helps)} commands' --help: each option once, described, and every option of the usage listed")

# ---- the rendered page ------------------------------------------------------------------------------------
page = open(page_file).read().split("\n")


def section(name):
    """The lines of top-level section name (SYNOPSIS, COMMANDS...)."""
    out, inside = [], False
    for line in page:
        if re.match(r"^[A-Z]", line):
            inside = line.strip() == name
            continue
        if inside:
            out.append(line)
    return out


def indent(line):
    return len(line) - len(line.lstrip(" "))


# COMMANDS, cut at its subsection headings (3 spaces in): each item's tag is the block of lines at the text's
# indent that follows a blank line and is followed by a line further in (its description).
cmd_lines = section("COMMANDS")
sections, cur = [], None
for line in cmd_lines:
    if line.strip() and indent(line) == 3:
        cur = {"title": line.strip(), "lines": []}
        sections.append(cur)
    elif cur is not None:
        cur["lines"].append(line)
checked = 0
for sec in sections:
    covers = [c for c in re.findall(r"nbench (\w+)", sec["title"]) if c in helps]
    if not covers:
        continue
    lines, tags, i = sec["lines"], [], 0
    while i < len(lines):
        if lines[i].strip() and indent(lines[i]) == 7 and (i == 0 or not lines[i - 1].strip()):
            j = i
            while j < len(lines) and lines[j].strip() and indent(lines[j]) == 7:
                j += 1
            if j < len(lines) and lines[j].strip() and indent(lines[j]) > 7:
                tags.extend(lines[i:j])
            i = j
        else:
            i += 1
    in_page = set(OPT.findall("\n".join(tags)))
    in_help = set().union(*(helps[c] for c in covers))
    for o in sorted(in_help - in_page):
        bad(f"the page's '{sec['title']}' has no item for {o} (in nbench {'/'.join(covers)} --help)")
    for o in sorted(in_page - in_help):
        bad(f"the page's '{sec['title']}' has an item for {o}, which no nbench {'/'.join(covers)} --help lists")
    checked += 1
missing = [c for c in helps if not any(c in re.findall(r"nbench (\w+)", s["title"]) for s in sections)]
for c in missing:
    bad(f"the page has no COMMANDS section for nbench {c}")
ok(f"{checked} command sections of the page against --help, both ways")

# left-over markup and broken words, over the whole page
for n, line in enumerate(page, 1):
    if "__" in line or re.search(r"\*\w|\w\*(?!\*)", line):
        bad(f"page line {n} has scdoc markup left in it: {line.strip()}")
    if re.search(r"[\w]-$|\u2010$", line):
        bad(f"page line {n} breaks a word or an option at its end: {line.strip()}")
# SYNOPSIS: one synopsis per paragraph
paras, p = [], []
for line in section("SYNOPSIS") + [""]:
    if line.strip():
        p.append(line.strip())
    elif p:
        paras.append(" ".join(p))
        p = []
for para in paras:
    if not para.startswith("nbench") or re.search(r"[^|] nbench ", para):
        bad(f"SYNOPSIS: two synopses in one paragraph: {para}")
ok(f"{len(paras)} synopses, each its own paragraph; no markup left, no word broken")

# ---- README's synopses ------------------------------------------------------------------------------------
# the default of each option of each command: "[default: X]" at the end of its row (or on a line of its own)
defaults = {}
for c in helps:
    last = None
    for line in run(c, "--help").split("\n"):
        last = ROW.match(line) or last
        d = re.search(r"\[default: ([^\]]+)\]$", line)
        if d and last:
            for o in last.group(1, 2):
                if o:
                    defaults[(c, o)] = d.group(1)

PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_,.]*$|\|")
seen = 0
cont = None  # the command a synopsis that goes on to the next line is of ("       [--ci ...]", "common: [...]")
for n, line in enumerate(open(readme_file).read().split("\n"), 1):
    spans = []
    for m in re.finditer(r"nbench (\w+)", line):
        nxt = re.search(r"nbench \w+", line[m.end():])
        spans.append((m.group(1), line[m.end():m.end() + nxt.start()] if nxt else line[m.end():]))
    if not spans and cont and re.match(r"^\s*(common:\s*)?\[", line):
        spans = [(cont, line)]
    cont = spans[-1][0] if spans else None
    for c, rest in spans:
        if c not in helps:
            continue
        rest = rest.split("#")[0]
        for b in re.finditer(r"\[((?:-[A-Za-z]\|)?(--?[a-z][a-z0-9-]*)) ([^\]\[]+)\]", rest):
            opt, value = b.group(2), b.group(3).strip()
            if PLACEHOLDER.search(value):
                continue
            seen += 1
            want = defaults.get((c, opt))
            # the default itself, or one of its alternatives ("tcp 128K, udp 1472" shows 128K)
            if want is None:
                bad(f"README line {n}: nbench {c} [{b.group(1)} {value}]: --help gives {opt} no default")
            elif value != want and ("," in value or value not in re.split(r"[\s,;]+", want)):
                bad(f"README line {n}: nbench {c} [{b.group(1)} {value}], but its default is {want}")
ok(f"{seen} option values in README's synopses, each the option's default")

# every subcommand a usage names (nbench topo spawn ...) is in README too
readme = open(readme_file).read()
subs = set()
for c in helps:
    for line in run(c, "--help").split("\n"):
        m = re.match(r"^(?:usage:)?\s+nbench (\w+) ([a-z]+)\b", line) or re.match(r"^usage: nbench (\w+) ([a-z]+)\b", line)
        if m and m.group(1) == c:
            subs.add(f"nbench {c} {m.group(2)}")
for sub in sorted(subs):
    if sub not in readme:
        bad(f"README never shows {sub}")
ok(f"{len(subs)} subcommands, each shown in README")
sys.exit(1 if fails else 0)
