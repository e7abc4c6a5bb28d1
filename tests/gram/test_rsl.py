"""GT2 RSL as GRAM5 reads it (issue 13): syntax, substitutions, the attribute table, GRAM's failure codes, and the
JobDescription that RSL and JSON both say, round trips included (property tests)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from wrapgen.gram.description import JobDescription
from wrapgen.gram.errors import RSLError
from wrapgen.gram.rsl import evaluate, parse, unparse
from wrapgen.gram.rsl.attributes import parse_rvf, table


def test_a_full_request() -> None:
    text = """& (* a kernel job *)
      (executable = "/usr/bin/env")
      (arguments = -0 "two words" 'it''s' ^|a||b| x#$(HOME)#/y $(X))
      (environment = (OMP_NUM_THREADS 2) (NOTE "a ""quoted"" word"))
      (rsl_substitution = (X first) (Y $(X)#-second))
      (directory = $(Y))
      (maxWallTime = 10) (COUNT = 2) (job_type = single)
      (file_stage_in = (gsiftp://h:2811/in.dat in.dat) (http://w/a a))
      (file_stage_out = (out.dat gsiftp://h/out.dat))
      (file_clean_up = in.dat)"""
    v = evaluate(parse(text), {"HOME": "/home/u"})
    assert v["arguments"] == ["-0", "two words", "it's", "a|b", "x/home/u/y", "first"]
    assert v["environment"] == [("OMP_NUM_THREADS", "2"), ("NOTE", 'a "quoted" word')]
    assert v["directory"] == "first-second" and v["max_wall_time"] == 10 and v["count"] == 2
    assert v["file_stage_in"] == [("gsiftp://h:2811/in.dat", "in.dat"), ("http://w/a", "a")]
    j = JobDescription.from_rsl(text, {"HOME": "/home/u"})
    assert j.arguments[1] == "two words" and j.job_type == "single" and j.file_clean_up == ["in.dat"]
    # without the manager's substitutions, $(HOME) stays a reference and survives the round trip
    deferred = JobDescription.from_rsl(text)
    assert deferred.arguments[4] == "x$(HOME)/y" and "$(HOME)" in deferred.to_rsl()
    assert JobDescription.from_rsl(deferred.to_rsl()) == deferred


@pytest.mark.parametrize("text, code, where, words", [
    ("", 42, None, "the RSL is empty"),
    ("&(executable=/bin/true", 48, (1, 23), "expected ')' to close the relation 'executable'"),
    ("&(executable /bin/true)", 48, (1, 14), "expected a relation operator"),
    ("&(executable=)", 48, (1, 14), "expected a value for 'executable'"),
    ('&(executable="/bin/true)', 48, (1, 14), "the string opened by \" is never closed"),
    ("&(executable=/bin/true)\n  (* note", 48, (2, 3), "comment '(*' is never closed"),
    ("&(executable=a)(arguments=$x)", 48, (1, 27), "'$' must start a substitution"),
    ("&(executable=a)(arguments=a#)", 48, (1, 29), "expected a value after '#'"),
    ("&(executable=a) extra", 48, (1, 17), "expected the end of the RSL"),
    ("&", 48, (1, 2), "expected a relation"),
    ("&(executable=a)(x ! 1)", 48, (1, 19), "'!' is only an operator as '!='"),
    ("&(executable=a)(bogus_attr=1)", 1, (1, 17), "'bogus_attr' is not a supported RSL attribute"),
    ("&(arguments=a)", 148, None, "the RSL has no executable"),
    ("&(executable=a)(count=two)", 51, (1, 17), "count = two: expected a whole number"),
    ("&(executable=a)(count=-1)", 51, (1, 17), "expected a whole number, 0 or more"),
    ("&(executable=a)(job_type=huge)", 57, (1, 17), "expected one of single, multiple, mpi, condor"),
    ("&(executable=a)(environment=A)", 54, (1, 17), "expected a list of pairs (NAME value)"),
    ("&(executable=a)(file_stage_in=(u))", 141, (1, 17), "(source-URL destination-path)"),
    ("&(executable=a)(count>=2)", 51, (1, 17), "a job attribute takes '=', not '>='"),
    ("&(executable=a)(executable=b)", 55, (1, 17), "executable is given twice (first at line 1, column 3)"),
    ("&(executable=$(NOPE))", 39, (1, 14), "$(NOPE) is not defined"),
    ("+(&(executable=a))(&(executable=b))", 48, (1, 1), "a multi-request ('+') is parsed but not run"),
    ("&(executable=a)(&(count=1))", 48, (1, 17), "a nested request is not a job attribute"),
    ("&(executable=a)(restart=x)", 1, (1, 17), "'restart' is not a supported RSL attribute"),
])
def test_bad_rsl_names_where_and_what_with_grams_code(text, code, where, words) -> None:
    with pytest.raises(RSLError) as e:
        JobDescription.from_rsl(text, {"HOME": "/h"})
    assert e.value.code == code and words in str(e.value), str(e.value)
    if where is not None:
        assert (e.value.line, e.value.column) == where, str(e.value)


def test_multi_requests_parse_and_print() -> None:
    tree = parse("+(&(executable=a)(count=1))(&(executable=b))")
    assert tree.op == "+" and len(tree.operands) == 2
    assert unparse(tree) == "+(&(executable = a)(count = 1))(&(executable = b))"
    assert unparse(parse(unparse(tree))) == unparse(tree)


def test_names_are_case_and_underscore_insensitive_like_gram5() -> None:
    a = JobDescription.from_rsl("&(EXECUTABLE=/bin/true)(maxWallTime=5)(Max_Memory=64)(fileStageIn=(file:///a a))")
    assert (a.max_wall_time, a.max_memory, a.file_stage_in) == (5, 64, [("file:///a", "a")])


def test_the_attribute_table_is_data() -> None:
    t = table()
    assert t.get("executable").required and t.get("directory").default == "$(HOME)"
    assert t.get("job_type").values == ("single", "multiple", "mpi", "condor")
    assert t.get("max_wall_time").code == 101
    rows = parse_rvf('Attribute: a\nDescription: "two\n   lines"\nType: int\nCode: 7\n\nAttribute: b\n')
    assert [(r.name, r.type, r.code, r.description) for r in rows] == [("a", "int", 7, "two lines"),
                                                                       ("b", "string", 1, "")]
    with pytest.raises(RSLError, match=r"x.rvf:1: expected 'Key: value'"):
        parse_rvf("no colon here", "x.rvf")
    with pytest.raises(RSLError, match="Type 'float'"):
        parse_rvf("Attribute: a\nType: float\n")


def test_huge_and_deep_input_is_refused_cleanly() -> None:
    with pytest.raises(RSLError, match="at most 64 nested parentheses"):
        parse("&(executable=a)(arguments=" + "(" * 200 + "x" + ")" * 200 + ")")
    with pytest.raises(RSLError) as e:
        parse("&(executable=" + "a" * (1 << 21) + ")")
    assert e.value.code == 2


def test_description_errors_name_the_field() -> None:
    with pytest.raises(RSLError, match="environment"):
        JobDescription.from_rsl("&(executable=a)(environment=(1BAD x))")
    with pytest.raises(ValueError, match="NUL"):
        JobDescription(executable="a", arguments=["x\0y"])


# --- round trips -------------------------------------------------------------------------------------------------
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12)
_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_path = st.from_regex(r"[a-z0-9_./-]{1,12}", fullmatch=True)
_url = st.builds(lambda h, p: f"gsiftp://{h}:2811/{p}", st.from_regex(r"[a-z]{1,8}", fullmatch=True), _path)

descriptions = st.builds(
    JobDescription,
    executable=_path,
    arguments=st.lists(_text.filter(lambda s: "$(" not in s), max_size=5),
    directory=st.none() | _path,
    environment=st.dictionaries(_name, _text.filter(lambda s: "$(" not in s), max_size=3),
    stdout=st.none() | _path | _url,
    count=st.integers(1, 64),
    job_type=st.sampled_from(["single", "multiple", "mpi", "condor"]),
    max_wall_time=st.none() | st.integers(0, 10 ** 6),
    max_memory=st.none() | st.integers(0, 10 ** 6),
    queue=st.none() | _name,
    file_stage_in=st.lists(st.tuples(_url, _path), max_size=3),
    file_stage_out=st.lists(st.tuples(_path, _url), max_size=3),
    file_clean_up=st.lists(_path, max_size=3),
    two_phase=st.none() | st.integers(0, 3600),
    dry_run=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(descriptions)
def test_description_rsl_json_round_trips(j: JobDescription) -> None:
    rsl = j.to_rsl()
    assert JobDescription.from_rsl(rsl) == j, rsl
    assert JobDescription.model_validate_json(j.model_dump_json()) == j
    assert JobDescription.model_validate(json.loads(json.dumps(j.model_dump(mode="json")))) == j


@settings(max_examples=300, deadline=None)
@given(st.lists(_text, min_size=1, max_size=6))
def test_any_literal_survives_quoting(values: list[str]) -> None:
    from wrapgen.gram.rsl import quote

    rsl = "&(executable=x)(arguments=" + " ".join(quote(v) for v in values) + ")"
    assert evaluate(parse(rsl))["arguments"] == values  # a quoted "$(X)" is text, not a reference
