"""GT2 RSL, as GRAM5 reads it: a lexer and parser with positions, the attribute table as data (.rvf), evaluation
(substitutions, '#', typed values, GRAM's failure codes) and an unparser. All sans-IO."""

from __future__ import annotations

from .ast import Boolean, Concat, Literal, Relation, Sequence, Variable, canonical
from .evaluate import evaluate
from .parser import parse
from .unparse import quote, unparse

__all__ = ["Boolean", "Concat", "Literal", "Relation", "Sequence", "Variable", "canonical", "evaluate", "parse",
           "quote", "unparse"]
