"""A parsed request checked against the attribute table and its values read: substitutions resolved, `#` joined,
each attribute's value typed as its Type says. Sans-IO; errors carry GRAM's failure codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RSLError
from .ast import Boolean, Concat, Literal, Relation, Sequence, Value, Variable
from .attributes import SUBMIT, Attribute, AttributeTable, table as base_table

Evaluated = Any  # str, or a list of Evaluated for a parenthesized sequence


def evaluate(tree: Boolean, predefined: Mapping[str, str] | None = None, attributes: AttributeTable | None = None,
             when: str = SUBMIT) -> dict[str, Any]:
    """{attribute name (the table's spelling): typed value} for a single request.

    predefined: the job manager's substitutions (HOME, LOGNAME, SCRATCH_DIRECTORY, ...); None keeps every
    $(NAME) it does not define (rsl_substitution's are always applied) in the text, for the manager to resolve.
    """
    attributes = attributes or base_table()
    if tree.op != "&":
        what = "a multi-request ('+')" if tree.op == "+" else "a disjunction ('|')"
        raise RSLError(f"{tree.pos}: {what} is parsed but not run: a job manager runs one '&' request per "
                       "submission; submit each request on its own", code=48, line=tree.pos.line,
                       column=tree.pos.column)
    seen: dict[str, Relation] = {}
    for node in tree.operands:
        if isinstance(node, Boolean):
            raise RSLError(f"{node.pos}: a nested request is not a job attribute; write the relations of one "
                           "request side by side: &(a=1)(b=2)", code=48, line=node.pos.line, column=node.pos.column)
        attr = attributes.get(node.attribute)
        if attr is None:
            raise RSLError(f"{node.pos}: {node.attribute!r} is not a supported RSL attribute (GRAM error 1: one of "
                           "the RSL parameters is not supported)", code=1, line=node.pos.line, column=node.pos.column)
        if when not in attr.valid_when:
            raise RSLError(f"{node.pos}: {attr.name} is not valid for a job submission", code=138,
                           line=node.pos.line, column=node.pos.column)
        if attr.name in seen:
            first = seen[attr.name].pos
            raise RSLError(f"{node.pos}: {attr.name} is given twice (first at {first})", code=attr.code,
                           line=node.pos.line, column=node.pos.column)
        if node.op != "=":
            raise RSLError(f"{node.pos}: ({node.attribute} {node.op} ...): a job attribute takes '=', not "
                           f"{node.op!r}", code=attr.code, line=node.pos.line, column=node.pos.column)
        seen[attr.name] = node
    variables: dict[str, str] = dict(predefined or {})
    keep = predefined is None
    out: dict[str, Any] = {}
    if "rsl_substitution" in seen:
        pairs = []
        for item in seen["rsl_substitution"].values:
            name, value = _pair(item, attributes.get("rsl_substitution"), seen["rsl_substitution"])
            text = _resolve(value, variables, keep)
            variables[_resolve(name, variables, keep)] = text
            pairs.append((_resolve(name, variables, keep), text))
        out["rsl_substitution"] = pairs
    for name, rel in seen.items():
        if name == "rsl_substitution":
            continue
        attr = attributes.get(name)
        assert attr is not None
        out[attr.name] = _typed(attr, rel, [_deep(v, variables, keep) for v in rel.values])
    for attr in attributes:
        if attr.required and attr.name not in out and when == SUBMIT:
            raise RSLError(f"the RSL has no {attr.name} (GRAM error 148: a required RSL attribute was not defined)",
                           code=148)
    return out


def _deep(v: Value, variables: Mapping[str, str], keep: bool) -> Evaluated:
    if isinstance(v, Sequence):
        return [_deep(i, variables, keep) for i in v.items]
    return _resolve(v, variables, keep)


def _resolve(v: Value, variables: Mapping[str, str], keep: bool) -> str:
    if isinstance(v, Literal):
        return v.text
    if isinstance(v, Concat):
        return "".join(_resolve(p, variables, keep) for p in v.parts)
    if isinstance(v, Variable):
        if v.name in variables:
            return variables[v.name]
        if keep:
            return f"$({v.name})"
        raise RSLError(f"{v.pos}: $({v.name}) is not defined (GRAM error 39: the RSL includes variables that could "
                       "not be identified)", code=39, line=v.pos.line, column=v.pos.column)
    raise RSLError(f"{v.pos}: a parenthesized list cannot be joined with '#' or used as a name", code=48,
                   line=v.pos.line, column=v.pos.column)


def _pair(item: Value, attr: Attribute | None, rel: Relation) -> tuple[Value, Value]:
    if not isinstance(item, Sequence) or len(item.items) != 2 or any(isinstance(i, Sequence) for i in item.items):
        name = attr.name if attr else rel.attribute
        raise RSLError(f"{item.pos}: {name} takes pairs like (NAME value); got {_show(item)}",
                       code=attr.code if attr else 48, line=item.pos.line, column=item.pos.column)
    return item.items[0], item.items[1]


def _show(v: Value) -> str:
    from .unparse import unparse

    return unparse(v)


def _typed(attr: Attribute, rel: Relation, values: list[Evaluated]) -> Any:
    def bad(expected: str) -> RSLError:
        from .unparse import unparse

        shown = " ".join(unparse(v) for v in rel.values)
        return RSLError(f"{rel.pos}: {attr.name} = {shown}: expected {expected}", code=attr.code,
                        line=rel.pos.line, column=rel.pos.column)

    kind = attr.type
    if kind in ("string", "int", "yesno"):
        if len(values) != 1 or not isinstance(values[0], str):
            raise bad("one value")
        text = values[0]
        if attr.values and text.lower() not in attr.values:
            raise bad(f"one of {', '.join(attr.values)}")
        if kind == "int":
            if "$(" in text:
                return text  # resolved by the job manager
            try:
                n = int(text)
            except ValueError:
                raise bad("a whole number") from None
            if n < 0:
                raise bad("a whole number, 0 or more")
            return n
        if kind == "yesno":
            return text.lower() in ("yes", "true")
        return text
    if kind == "strings":
        if any(not isinstance(v, str) for v in values):
            raise bad("plain values, not parenthesized lists")
        return list(values)
    # pairs, stagein, stageout: (a b) (c d) ...
    if any(not isinstance(v, list) or len(v) != 2 or not all(isinstance(x, str) for x in v) for v in values):
        what = {"pairs": "(NAME value)", "stagein": "(source-URL destination-path)",
                "stageout": "(source-path destination-URL)"}[kind]
        raise bad(f"a list of pairs {what} {what} ...")
    return [(a, b) for a, b in values]
