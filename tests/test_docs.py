"""The README and the guides say only what is true of the CLI and the tree.

Every `genart ...` command shown in a code block of README.md and docs/*.md must
parse with `genart`'s own parser, with every `--flag` spelled as the parser spells
it (argparse would accept an abbreviation). Inline code that starts with `genart `
names a command in prose (`genart train` writes ...): its subcommand and flags must
exist. Every relative link must point to a file (and heading) that exists. Fast:
the parser is built without Keras or TensorFlow.
"""

import argparse
import contextlib
import glob
import io
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from keras_genart.cli import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where commands are checked: the front door and the guides (the serving and
# benchmark READMEs show commands too). CHANGELOG.md tells history, whose flags may
# be gone: its links are checked, not its commands.
COMMAND_DOCS = ["README.md", *sorted(os.path.relpath(p, ROOT) for p in
                                     glob.glob(os.path.join(ROOT, "docs", "*.md"))),
                "serving/README.md", "benchmarks/README.md"]
LINK_DOCS = [*COMMAND_DOCS, "CHANGELOG.md"]
# Code blocks in these languages hold no shell commands.
NOT_SHELL = {"python", "py", "json", "javascript", "js", "yaml", "toml", "protobuf",
             "html", "css"}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
GENART_WORD = re.compile(r"(^|[\s;&|/])genart(\s|$)")
SHELL_OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<", "2>", "(", ")"}


def read(doc):
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        return f.read()


def code_blocks(text):
    """`(language, body)` of every fenced code block."""
    return re.findall(r"^```([\w+-]*)[^\n]*\n(.*?)^```", text, flags=re.M | re.S)


def prose(text):
    """The text without its fenced code blocks."""
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def shell_lines(body):
    """The block's lines with backslash continuations joined."""
    return body.replace("\\\n", " ").splitlines()


def genart_words(line):
    """The words after `genart` in one shell command line, or None if it runs no
    `genart`. Leading VAR=value assignments are skipped; the command ends at a shell
    operator (`&&`, `|`, `>`, `&`, ...) or a comment."""
    if not GENART_WORD.search(line):  # prose in a block (a folder tree) need not split
        return None
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError as error:  # an unclosed quote: show the line
        raise AssertionError(f"cannot split {line!r}: {error}") from None
    commands, current = [], []
    for word in words:
        if word in SHELL_OPERATORS or set(word) <= set("&|;<>()"):
            commands.append(current)
            current = []
        else:
            current.append(word)
    commands.append(current)
    for command in commands:
        while command and ENV_ASSIGNMENT.match(command[0]):
            command = command[1:]
        if command and os.path.basename(command[0]) == "genart":
            return command[1:]
    return None


def documented_commands(doc):
    """`(where, words, whole)` of every genart command the document shows: `whole`
    for a command of a code block, which must parse as it stands; inline ones are
    references to a command and may leave out what it requires."""
    text = read(doc)
    found = []
    for language, body in code_blocks(text):
        if language.lower() in NOT_SHELL:
            continue
        for line in shell_lines(body):
            words = genart_words(line)
            if words is not None:
                found.append((f"{doc}: {line.strip()}", words, True))
    for span in re.findall(r"`(genart [^`]+)`", prose(text).replace("\n", " ")):
        words = genart_words(span)
        if words is not None:
            found.append((f"{doc}: `{span}`", words, False))
    return found


def _subparsers(parser):
    """A parser's subcommands by name (argparse keeps them in a private action)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def command_problems(parser, words, whole=True):
    """What is wrong with `genart WORDS` ([] when nothing): an unknown subcommand, a
    flag the (sub)command does not have, or (when `whole`) arguments that
    `parse_args` refuses."""
    problems, current, path = [], parser, ["genart"]
    for word in words:
        subcommands = _subparsers(current)
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            if flag not in current._option_string_actions:
                problems.append(f"{' '.join(path)} has no option {flag}")
        elif subcommands and not word.startswith("-"):
            if word not in subcommands:
                problems.append(f"{' '.join(path)} has no command {word!r} (it has "
                                f"{', '.join(subcommands)})")
                return problems
            current = subcommands[word]
            path.append(word)
    if problems or not whole or {"-h", "--help", "--version"} & set(words):
        return problems
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(words)
    except SystemExit:
        problems.append(stderr.getvalue().strip().splitlines()[-1])
    return problems


@pytest.fixture(scope="module")
def parser():
    return build_parser()


@pytest.mark.parametrize("doc", COMMAND_DOCS)
def test_every_genart_command_parses(parser, doc):
    problems = [f"{where}\n    {problem}" for where, words, whole in documented_commands(doc)
                for problem in command_problems(parser, words, whole)]
    assert not problems, "commands in the docs that genart refuses:\n" + "\n".join(problems)


def test_the_docs_show_every_command(parser):
    shown = {words[0] for doc in COMMAND_DOCS for _, words, whole in documented_commands(doc)
             if words and whole}
    assert set(_subparsers(parser)) <= shown, set(_subparsers(parser)) - shown


def test_the_check_catches_a_flag_that_does_not_exist(parser):
    assert command_problems(parser, ["sample", "runs/demo", "--n", "4"]) == []
    assert command_problems(parser, ["sample", "runs/demo", "--no-such-flag"])
    assert command_problems(parser, ["sample", "runs/demo", "--trunc", "0.7"])  # abbreviated
    assert command_problems(parser, ["paint", "runs/demo"])
    assert command_problems(parser, ["train", "gan"])  # a wrong value: parse_args refuses it
    assert command_problems(parser, ["train"])  # a code block's command must be whole
    assert command_problems(parser, ["train"], whole=False) == []  # a reference to it
    assert genart_words("KERAS_BACKEND=jax genart train vae --epochs 2 > log.txt") == \
        ["train", "vae", "--epochs", "2"]
    assert genart_words("genart serve exported &") == ["serve", "exported"]
    assert genart_words("curl http://127.0.0.1:8501/v1/models/dcgan") is None


def heading_anchors(text):
    """GitHub's anchors of a Markdown file's headings."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+?)\s*$", prose(text), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
        anchors.add(slug.replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("doc", LINK_DOCS)
def test_relative_links_point_to_files(doc):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose(read(doc))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = os.path.normpath(os.path.join(ROOT, os.path.dirname(doc), path)) if path \
            else os.path.join(ROOT, doc)
        if not os.path.exists(file):
            broken.append(f"{target}: no such file")
        elif anchor and file.endswith(".md"):
            with open(file, encoding="utf-8") as f:
                if anchor not in heading_anchors(f.read()):
                    broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{doc}: broken links:\n" + "\n".join(broken)


def test_the_readme_is_a_users_length():
    text = read("README.md")
    assert len(text.splitlines()) <= 300
    assert not re.search(r"20\d\d-\d\d-\d\d", text), "dates belong in CHANGELOG.md"
    assert "make demo" in text and "make test" in text


def test_building_the_parser_imports_no_keras():
    code = ("import sys; from keras_genart.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_benchmark_results_name_their_cpu_and_commit():
    files = sorted(glob.glob(os.path.join(ROOT, "benchmarks", "results", "*.json")))
    assert files
    for path in files:
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
        assert isinstance(rows, list) and rows, path
        for row in rows:
            where = f"{os.path.basename(path)}: {row.get('benchmark')} {row.get('setting')}"
            assert {"benchmark", "setting", "metrics", "cpu", "commit", "command"} <= set(row), \
                where
            if row["commit"] != "not applicable":  # published figures, for reference
                assert re.fullmatch(r"[0-9a-f]{7,40}", row["commit"]), where
                assert {"model", "avx2", "avx512", "amx"} <= set(row["cpu"]), where
