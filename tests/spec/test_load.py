"""Spec files: valid ones load into a normalised model; every kind of mistake is named with its position."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from wrapgen.spec import SpecError, load_spec, parse_spec
from wrapgen.spec.cli import json_schema

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "services").glob("*.yaml"))

HEADER = """\
name: lib
language: fortran
libraries: [m]
functions:
"""


def problems(body: str, header: str = HEADER) -> list[str]:
    """The issue lines parse_spec reports for a spec made of header + body (file name 's.yaml')."""
    # Bodies are written indented by 8 spaces inside the test functions.
    lines = [line[8:] if line.startswith(" " * 8) else line for line in body.splitlines(keepends=True)]
    with pytest.raises(SpecError) as info:
        parse_spec(header + "".join(lines), "s.yaml")
    return [str(i) for i in info.value.issues]


def test_shipped_specs_are_there_and_valid() -> None:
    assert SPECS, "services/ has no spec files"
    for spec in SPECS:
        lib = load_spec(spec)
        assert lib.functions or lib.classes
        assert lib.base_dir == spec.parent


def test_the_tridiag_spec_is_normalised() -> None:
    lib = load_spec(ROOT / "services" / "tridiag.yaml")
    fn = lib.functions["tridiag"]
    assert list(fn.args) == ["n", "dl", "d", "du", "b", "work", "info"]  # the legacy order is kept
    assert fn.args["b"].order == "F" and fn.args["b"].convert == "error"  # Fortran order, no silent copies
    assert fn.args["d"].convert == "copy"
    assert fn.errors is not None and fn.errors.source == "info"
    assert fn.resources.memory == 64 * 2**20 and fn.resources.timeout == 60.0


def test_the_issue_example_is_reported_exactly() -> None:
    text = textwrap.dedent("""\
        name: heat
        language: fortran
        libraries: [m]
        functions:
          heat_step:
            args:
              u:
                dtype: float64
                shape: [nx]
                intent: inot
              nx: {dtype: int32}
    """)
    with pytest.raises(SpecError) as info:
        parse_spec(text, "services/heat.yaml")
    assert str(info.value) == \
        "services/heat.yaml:10:17: functions.heat_step.args.u.intent: 'inot' is not one of in, out, inout, hide, work"


def test_unknown_keys_at_every_level_name_the_expected_ones() -> None:
    got = problems("""\
          f:
            colour: red
            args:
              a: {dtype: float64, sahpe: [2]}
        extra: 1
    """)
    assert got == [
        "s.yaml:6:5: functions.f.colour: unknown key 'colour'; expected one of symbol, doc, args, result, errors, "
        "callbacks, threadsafe, resources",
        "s.yaml:8:27: functions.f.args.a.sahpe: unknown key 'sahpe'; expected one of dtype, shape, order, intent, "
        "convert, value, limit, default, range, units, doc, ctype",
        "s.yaml:9:1: extra: unknown key 'extra'; expected one of name, language, version, doc, sources, headers, "
        "libraries, library_dirs, include_dirs, flags, functions, classes, exceptions",
    ]


def test_a_comma_in_flow_style_gets_a_hint() -> None:
    got = problems("""\
          f:
            args:
              a: {dtype: float64, doc: first, second}
    """)
    assert got[0].startswith("s.yaml:7:39: functions.f.args.a.second: unknown key 'second'")
    assert "a comma splits the text: quote it" in got[0]


def test_duplicate_keys_are_errors_not_silently_last_wins() -> None:
    got = problems("""\
          f:
            args:
              a: {dtype: float64}
              a: {dtype: int32}
    """)
    assert got == ["s.yaml:8:7: functions.f.args.a: duplicate key (first given at line 7)"]


def test_yaml_syntax_errors_have_positions() -> None:
    got = problems("  f: [unclosed\n")
    assert len(got) == 1 and got[0].startswith("s.yaml:") and "invalid YAML" in got[0]


def test_empty_and_non_mapping_documents() -> None:
    assert problems("", header="") == ["s.yaml:1:1: the file is empty; expected a mapping with name, language, ..."]
    assert problems("- a\n- b\n", header="") == \
        ["s.yaml:1:1: expected a mapping with name, language, functions, ..."]


def test_missing_required_keys_and_wrong_types() -> None:
    got = problems("""\
          f:
            args:
              a: {shape: [2]}
              b: {dtype: float64, shape: 3}
    """, header="name: lib\nlibraries: [m]\nfunctions:\n")
    assert "s.yaml:1:1: language: required key is missing" in got
    assert "s.yaml:6:10: functions.f.args.a.dtype: required key is missing" in got
    assert "s.yaml:7:34: functions.f.args.b.shape: expected a list, got 3" in got


def test_names_must_be_python_identifiers(tmp_path) -> None:
    got = problems("""\
          class: {}
          heat-step: {}
    """)
    assert got == [
        "s.yaml:5:3: functions.class: 'class' cannot be a function name: expected a Python identifier that is "
        "not a keyword",
        "s.yaml:6:3: functions.heat-step: 'heat-step' cannot be a function name: expected a Python identifier "
        "that is not a keyword",
    ]


def test_sources_must_exist_relative_to_the_spec(tmp_path) -> None:
    spec = tmp_path / "lib.yaml"
    spec.write_text("name: lib\nlanguage: c\nsources: [missing.c]\n")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert str(info.value) == f"{spec}:3:11: sources[0]: file not found: {tmp_path / 'missing.c'}"
    spec.write_text("name: lib\nlanguage: c\n")
    with pytest.raises(SpecError, match="nothing to build or link: give sources, libraries or both"):
        load_spec(spec)


def test_unreadable_spec_files(tmp_path) -> None:
    with pytest.raises(SpecError, match="nope.yaml: cannot read spec: No such file or directory"):
        load_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError, match="latin1.yaml: not UTF-8 text: invalid continuation byte at byte 9"):
        load_spec(bad)


def test_shape_expressions_are_checked_against_the_arguments() -> None:
    got = problems("""\
          f:
            args:
              a: {dtype: float64, shape: [m, "q // 2", "n / 2", "foo(n)", "shape(n, 0)", "shape(b)", "2.5"]}
              n: {dtype: int32}
              q: {dtype: float64}
              b: {dtype: float64, shape: [n]}
    """)
    assert got == [
        "s.yaml:7:35: functions.f.args.a.shape[0]: 'm' is not another argument (n, q, b)",
        "s.yaml:7:38: functions.f.args.a.shape[1]: 'q' is not an integer scalar argument",
        "s.yaml:7:48: functions.f.args.a.shape[2]: in 'n / 2': operator Div is not allowed (use // for integer "
        "division)",
        "s.yaml:7:57: functions.f.args.a.shape[3]: in 'foo(n)': unknown function 'foo'; expected one of shape, "
        "size, len, min, max",
        "s.yaml:7:67: functions.f.args.a.shape[4]: 'n' is not an array argument",
        "s.yaml:7:82: functions.f.args.a.shape[5]: in 'shape(b)': expected shape(array, dim)",
        "s.yaml:7:94: functions.f.args.a.shape[6]: in '2.5': only integer literals are allowed, got 2.5",
    ]


def test_outputs_cannot_be_sized_by_other_outputs() -> None:
    got = problems("""\
          f:
            args:
              m: {dtype: int32, intent: out}
              a: {dtype: float64, shape: [m], intent: out}
    """)
    assert got == ["s.yaml:8:35: functions.f.args.a.shape[0]: 'm' is intent out: it is not known before the call"]


def test_intent_rules() -> None:
    got = problems("""\
          f:
            args:
              h: {dtype: int32, intent: hide}
              g: {dtype: float64, intent: hide, value: "1"}
              v: {dtype: int32, value: "2"}
              w: {dtype: float64, intent: work}
              s: {dtype: string, shape: [2]}
              c: {dtype: callback, shape: [2]}
    """)
    assert got == [
        "s.yaml:7:33: functions.f.args.h.intent: intent hide needs 'value', the expression that computes it",
        "s.yaml:8:35: functions.f.args.g.intent: intent hide is for integer scalars (sizes, leading dimensions)",
        "s.yaml:9:32: functions.f.args.v.value: 'value' is only for intent hide (or an inout length), not in",
        "s.yaml:10:35: functions.f.args.w.intent: a work array needs a shape (its size is computed for the caller)",
        "s.yaml:11:33: functions.f.args.s.shape: string arguments are scalars (give no shape)",
        "s.yaml:12:10: functions.f.args.c: a callback argument has no shape and intent in",
        "s.yaml:12:10: functions.f.args.c: dtype callback needs an entry callbacks.c",
    ]


def test_defaults_and_ranges() -> None:
    got = problems("""\
          f:
            args:
              a: {dtype: int32, default: 2.5}
              b: {dtype: float64, default: 5, range: {min: 0, max: 1}}
              d: {dtype: float64, shape: [2], range: {min: 0}}
              e: {dtype: int32, default: 1, intent: out}
    """)
    assert got == [
        "s.yaml:7:34: functions.f.args.a.default: 2.5 is not a valid int32",
        "s.yaml:8:36: functions.f.args.b.default: 5 is outside the range",
        "s.yaml:9:46: functions.f.args.d.range: range applies to integer and real scalars",
        "s.yaml:10:34: functions.f.args.e.default: only scalar inputs (intent in) take a default",
    ]


def test_malformed_ranges_are_reported_while_reading_the_model() -> None:
    got = problems("""\
          f:
            args:
              c: {dtype: float64, range: {min: 3, max: 1}}
              f: {dtype: int32, range: {}}
    """)
    assert got == [
        "s.yaml:7:34: functions.f.args.c.range: min (3) is greater than max (1)",
        "s.yaml:8:32: functions.f.args.f.range: give min, max or both",
    ]


def test_error_tables_are_checked() -> None:
    got = problems("""\
          f:
            args:
              n: {dtype: int32}
              info: {dtype: int32}
            errors:
              from: info
              codes:
                - {code: "<x", exception: "not valid", message: "bad {zz}"}
          g:
            errors:
              from: return
              codes: [{code: 1, message: m}]
          h:
            args:
              n: {dtype: int32}
            errors:
              from: nope
              codes: [{code: "1..3", message: "{n}: {code} and {-code}"}]
    """)
    assert got == [
        "s.yaml:10:13: functions.f.errors.from: 'info' must be an integer scalar with intent out",
        "s.yaml:12:18: functions.f.errors.codes[0].code: cannot read '<x'; expected an integer, a comparison such "
        "as '<0', '>0', '!=0', '>=2', or a range such as '1..5'",
        "s.yaml:12:35: functions.f.errors.codes[0].exception: 'not valid' is not an exception class name",
        "s.yaml:12:57: functions.f.errors.codes[0].message: unknown placeholder {zz}; expected {code}, {-code} or a "
        "scalar argument",
        "s.yaml:15:13: functions.g.errors.from: 'return' needs an integer result",
        "s.yaml:21:13: functions.h.errors.from: 'nope' is not an argument (n) and not 'return'",
    ]


def test_callbacks_are_checked() -> None:
    got = problems("""\
          f:
            args:
              fcn: {dtype: callback}
            callbacks:
              fcn:
                args:
                  x: {dtype: float64}
                abort: {set: iflag, value: -1}
              other: {}
    """)
    assert got == [
        "s.yaml:12:22: functions.f.callbacks.fcn.abort.set: 'set' must name an argument of the callback (x) and "
        "come with 'value'",
        "s.yaml:13:7: functions.f.callbacks.other: no argument 'other' with dtype callback in args",
    ]


def test_resources_read_sizes_and_durations() -> None:
    lib = parse_spec(HEADER + "  f:\n    resources: {memory: 2GiB, walltime: '01:30:00', timeout: 2.5, cores: 2}\n")
    r = lib.functions["f"].resources
    assert (r.memory, r.walltime, r.timeout, r.cores) == (2 * 2**30, 5400.0, 2.5, 2)
    got = problems("  f:\n    resources: {memory: lots, walltime: '1:x', cores: 0}\n")
    assert got == [
        "s.yaml:6:25: functions.f.resources.memory: cannot read 'lots' as a size; expected e.g. 512MiB, 2GB or a "
        "number of bytes",
        "s.yaml:6:41: functions.f.resources.walltime: cannot read '1:x' as a duration; expected seconds or HH:MM:SS",
        "s.yaml:6:55: functions.f.resources.cores: Input should be greater than 0",
    ]


def test_classes_need_cpp() -> None:
    got = problems("classes:\n  System: {}\n", header="name: lib\nlanguage: c\nlibraries: [m]\n")
    assert got == ["s.yaml:5:3: classes.System: classes need language cpp, not c"]


def test_the_schema_accepts_the_shipped_specs_and_rejects_unknown_keys(run_cli) -> None:
    proc = run_cli("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema == json_schema()
    assert schema["additionalProperties"] is False
    for spec in SPECS:
        jsonschema.validate(yaml.safe_load(spec.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "language": "fortran", "colour": 1}, schema)


def test_check_command(run_cli, tmp_path) -> None:
    proc = run_cli("check", *map(str, SPECS))
    assert proc.returncode == 0, proc.stderr
    assert "tridiag.yaml: ok: library tridiag (fortran), 1 functions" in proc.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nlanguage: cobol\nlibraries: [m]\n")
    proc = run_cli("check", str(bad))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"{bad}:2:11: language: 'cobol' is not one of fortran, c, cpp"


def test_hidden_values_must_not_depend_on_each_other_in_a_cycle() -> None:
    got = problems("""\
          f:
            args:
              n: {dtype: int32, intent: hide, value: "m + 1"}
              m: {dtype: int32, intent: hide, value: "n"}
              a: {dtype: float64, shape: [n]}
    """)
    assert got == ["s.yaml:7:46: functions.f.args.n.value: hidden values depend on each other in a cycle: n -> m -> n"]


def test_a_callbacks_hidden_argument_has_no_value() -> None:
    got = problems("""\
          f:
            args:
              fcn: {dtype: callback}
            callbacks:
              fcn:
                args:
                  n: {dtype: int32, intent: hide, value: "3"}
                  x: {dtype: float64, shape: [n]}
    """)
    assert got == ["s.yaml:11:50: functions.f.callbacks.fcn.args.n.value: a callback's hidden argument comes from "
                   "the legacy code: no value"]


def test_cpp_exception_tables_and_object_arguments() -> None:
    got = problems("exceptions:\n  std::runtime_error: 'not a name'\n", header="name: lib\nlanguage: c\nlibraries: [m]\n")
    assert got == [
        "s.yaml:5:3: exceptions.std::runtime_error: exceptions need language cpp, not c",
        "s.yaml:5:23: exceptions.std::runtime_error: 'not a name' is not an exception class name",
    ]
    got = problems("""\
          f:
            args:
              other: {dtype: object}
    """, header="name: lib\nlanguage: cpp\nlibraries: [m]\nfunctions:\n")
    assert got == ["s.yaml:7:22: functions.f.args.other.dtype: dtype object needs ctype, the C++ type "
                   "(e.g. const sim::System &)"]


def test_two_functions_bound_to_one_symbol_are_named() -> None:
    found = problems("""\
          solve: {args: {x: {dtype: float64}}}
          solve_again: {symbol: SOLVE, args: {x: {dtype: float64}}}
          other: {symbol: other_, args: {x: {dtype: float64}}}
        """)
    assert found == ["s.yaml:6:3: functions.solve_again: solve_again and solve (line 5) are both bound to the symbol "
                     "'SOLVE'; give one of them its own symbol (or drop one)"]
    c = problems("""\
          f: {args: {x: {dtype: float64}}}
          g: {symbol: f, args: {x: {dtype: float64}}}
        """, HEADER.replace("fortran", "c"))
    assert len(c) == 1 and "g and f (line 5) are both bound to the symbol 'f'" in c[0]
