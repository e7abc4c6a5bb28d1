"""Hostile spec files (issue 11, items 4, 5, 17, 25): spec text is data, never code; the loader refuses what
would exhaust it, with file:line messages and no traceback."""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import pytest

from wrapgen.bind.loader import load
from wrapgen.bind.pybind import _doc
from wrapgen.spec import load_spec
from wrapgen.spec.errors import SpecError

KERNELS = Path(__file__).resolve().parents[1] / "bind" / "kernels"
FORTRAN = KERNELS / "zscale.f"

NASTY = [
    '""" + __import__("os").system("touch PWNED") + """',
    "ends with a backslash \\",
    "'''\\x00\\n\\r\\t\\\\N{BULLET} ??= ??/ {braces} %s \"quotes\" \\u2028 é ✓",
    "*/ #include <stdlib.h> /* \" ); system(\"touch PWNED\"); (\"",
]


def spec_text(doc: str, name: str = "doccy", exception: str = "ValueError") -> str:
    import json

    d = json.dumps(doc)  # a YAML double-quoted scalar is JSON-compatible
    return f"""\
name: {name}
language: c
doc: {d}
sources: [cscale.c]
headers: [cscale.h]
functions:
  cscale:
    doc: {d}
    args:
      n: {{dtype: int32, intent: hide, value: "len(x)", doc: {d}}}
      x: {{dtype: complex128, shape: [n], intent: inout, doc: {d}}}
      alpha: {{dtype: float64, doc: {d}}}
    result: {{dtype: float64}}
"""


@pytest.fixture
def work(tmp_path, monkeypatch):
    for f in ("cscale.c", "cscale.h"):
        shutil.copy(KERNELS / f, tmp_path / f)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_docs_are_data_in_every_generated_file(work) -> None:
    """Each nasty doc builds, imports without running anything and reads back as written."""
    import numpy as np

    doc = "\n".join(NASTY)
    (work / "s.yaml").write_text(spec_text(doc))
    mod = load(work / "s.yaml", cache=work / "cache")
    assert not (work / "PWNED").exists()
    assert doc in mod.__doc__ and doc in mod.cscale.__doc__
    x = np.array([1 + 1j], dtype=complex)
    assert mod.cscale(x, 2.0) == pytest.approx(8.0)


def test_cpp_string_literals_survive_any_text() -> None:
    """The C++ literal writer, fuzzed: compiled by the real compiler, each literal gives back its bytes."""
    import subprocess
    import tempfile

    rng = random.Random(11)
    alphabet = ['"', "\\", "?", "\n", "\r", "\0", "\t", "a", "7", "x", "é", "✓", "\u2028", "??=", "*/", "\x7f"]
    texts = NASTY + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(60)]
    body = "\n".join(f'    show(std::string({_doc(t)}, {len(t.encode())}));' for t in texts)
    src = ('#include <cstdio>\n#include <string>\n'
           'static void show(const std::string &s) { for (unsigned char c : s) std::printf("%02x", c); std::printf("\\n"); }\n'
           f"int main() {{\n{body}\n}}\n")
    with tempfile.TemporaryDirectory() as d:
        Path(d, "t.cpp").write_text(src)
        subprocess.run(["g++", "-std=c++17", "-o", f"{d}/t", f"{d}/t.cpp"], check=True, capture_output=True)
        out = subprocess.run([f"{d}/t"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == [t.encode().hex() for t in texts]


@pytest.mark.parametrize("name,why", [
    ("os.system", "not from 'os'"),
    ("subprocess.Popen", "not from 'subprocess'"),
    ("eval", "is a builtin but not an exception class"),
    ("numpy.linalg.norm", "is not an exception class"),
    ("numpy.linalg.NoSuchThing", "does not exist"),
    ("1bad", "is not an exception class name"),
])
def test_exception_names_resolve_only_to_exception_classes(work, name, why) -> None:
    text = spec_text("x").replace("    result: {dtype: float64}\n",
                                  f"    result: {{dtype: int32}}\n    errors:\n      from: return\n      codes:\n"
                                  f"        - {{code: '<0', exception: {name}, message: bad}}\n")
    (work / "s.yaml").write_text(text)
    before = set(sys.modules)
    with pytest.raises(SpecError) as e:
        load_spec(work / "s.yaml")
    assert "errors.codes[0].exception" in str(e.value) and why in str(e.value)
    assert "subprocess" not in set(sys.modules) - before


def test_allowed_exception_names(work) -> None:
    for name in ("ValueError", "NewError", "numpy.linalg.LinAlgError", "wrapgen.bind.runtime.KernelError"):
        text = spec_text("x").replace("    result: {dtype: float64}\n",
                                      f"    result: {{dtype: int32}}\n    errors:\n      from: return\n"
                                      f"      codes:\n        - {{code: '<0', exception: {name}, message: bad}}\n")
        (work / "s.yaml").write_text(text)
        load_spec(work / "s.yaml")


def test_the_runtime_refuses_what_the_loader_refuses() -> None:
    from wrapgen.bind.runtime import resolve_exception
    from wrapgen.errors import WrapgenError

    assert resolve_exception("ZeroDivisionError", {}) is ZeroDivisionError
    for bad in ("os.system", "eval", "print"):
        with pytest.raises(WrapgenError):
            resolve_exception(bad, {})
    with pytest.raises(WrapgenError):
        resolve_exception("Thing", {"Thing": print})  # a module global that is not an exception class


def test_a_yaml_alias_bomb_is_refused_at_once(work) -> None:
    lines = ["name: t", "language: c", "sources: [cscale.c]", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    lines.append("doc: *a9")
    (work / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(SpecError, match=r"bomb.yaml:\d+:\d+: .*aliases expand to more than"):
        load_spec(work / "bomb.yaml")


def test_python_tags_and_deep_expressions_are_clear_errors(work, run_cli) -> None:
    (work / "tag.yaml").write_text(spec_text("x").replace('doc: "x"\nsources', "doc: !!python/name:os.system\nsources", 1))
    deep = spec_text("x").replace('value: "len(x)"', 'value: "' + "-" * 2000 + 'len(x)"')
    (work / "deep.yaml").write_text(deep)
    nested = spec_text("x").replace('value: "len(x)"', 'value: "' + "(" * 240 + "len(x)" + ")" * 240 + '"')
    (work / "nested.yaml").write_text(nested)
    for f, message in (("tag.yaml", "tag.yaml:3:6: doc: the YAML tag 'tag:yaml.org,2002:python/name:os.system' "
                                    "is not allowed"),
                       ("deep.yaml", "at most 500 are allowed")):
        r = run_cli("check", str(work / f))
        assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = run_cli("check", str(work / "nested.yaml"))
    assert "Traceback" not in r.stderr, r.stderr


def test_a_spec_named_like_a_standard_module_is_refused(work) -> None:
    import json

    (work / "json.yaml").write_text(spec_text("x", name="json"))
    with pytest.raises(SpecError, match="'json' is the name of a standard or required module"):
        load_spec(work / "json.yaml")
    assert sys.modules["json"] is json
