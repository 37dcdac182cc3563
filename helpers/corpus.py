"""An English corpus that needs no download: the standard library's docstrings (introduced in 05).

The docstrings are read from source with :mod:`ast`, so no module is imported
and nothing runs. The module list is fixed and sorted, so every run on the same
Python version reads the same text. Other versions give a slightly different
text.
"""

from __future__ import annotations

import ast
import sysconfig
from collections.abc import Sequence
from pathlib import Path

import torch

# Pure-Python modules present in CPython 3.10 to 3.13 whose docstrings are
# mostly English prose (packages contribute their __init__.py).
STDLIB_MODULES = (
    "argparse", "ast", "base64", "bisect", "calendar", "cmd", "code", "codecs",
    "collections", "configparser", "contextlib", "copy", "csv", "dataclasses",
    "datetime", "difflib", "dis", "doctest", "enum", "filecmp", "fnmatch",
    "fractions", "ftplib", "functools", "getopt", "gettext", "glob", "gzip",
    "heapq", "hmac", "imaplib", "inspect", "ipaddress", "json", "locale",
    "logging", "mailbox", "mimetypes", "numbers", "optparse", "os", "pathlib",
    "pdb", "pickle", "pkgutil", "platform", "plistlib", "poplib", "pprint",
    "pydoc", "queue", "random", "reprlib", "sched", "secrets", "selectors",
    "shlex", "shutil", "smtplib", "socket", "socketserver", "statistics",
    "string", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
    "timeit", "tokenize", "trace", "traceback", "types", "typing", "unittest",
    "uuid", "warnings", "weakref", "zipfile",
)

DOCUMENTED_NODES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def module_source_path(name: str) -> Path:
    """Find the source file of a standard-library module without importing it.

    Looks in the standard library's folder rather than asking the import
    system, because CPython 3.11+ freezes some modules (``os``, ``codecs``)
    and their import specs name no file.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"module name must be a top-level module name such as 'argparse', got {name!r}")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in (stdlib / f"{name}.py", stdlib / name / "__init__.py"):
        if path.is_file():
            return path
    raise ValueError(f"module {name!r} has no Python source file in {stdlib}; pass a pure-Python module")


def stdlib_docstrings(modules: Sequence[str] = STDLIB_MODULES) -> list[str]:
    """Return the docstrings of ``modules`` (module, classes, functions) in source order."""
    if isinstance(modules, str) or not modules:
        raise ValueError(f"modules must be a non-empty sequence of module names, got {modules!r}")
    docstrings = []
    for name in modules:
        tree = ast.parse(module_source_path(name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, DOCUMENTED_NODES):
                docstring = ast.get_docstring(node)
                if docstring:
                    docstrings.append(docstring)
    return docstrings


def pack_sequences(
    documents: Sequence[Sequence[int]], seq_len: int, bos_token_id: int, eos_token_id: int
) -> torch.Tensor:
    """Pack token ids into full blocks of ``seq_len``: ``<s> ... </s>``, documents separated by ``</s>``.

    This is RoBERTa's FULL-SENTENCES input format: contiguous text that may
    cross document boundaries, with no padding. The tail that does not fill a
    block is dropped. Returns a ``(num_blocks, seq_len)`` LongTensor.
    """
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 3:
        raise ValueError(f"seq_len must be an int >= 3 (room for <s>, a token and </s>), got {seq_len!r}")
    stream = []
    for document in documents:
        stream.extend(document)
        stream.append(eos_token_id)
    content = seq_len - 2
    num_blocks = len(stream) // content
    if num_blocks == 0:
        raise ValueError(
            f"the documents hold {len(stream)} tokens, fewer than one block of {content}; "
            "pass more text or a smaller seq_len"
        )
    body = torch.tensor(stream[: num_blocks * content], dtype=torch.long).view(num_blocks, content)
    bos = torch.full((num_blocks, 1), bos_token_id, dtype=torch.long)
    eos = torch.full((num_blocks, 1), eos_token_id, dtype=torch.long)
    return torch.cat([bos, body, eos], dim=1)
