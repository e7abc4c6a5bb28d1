"""The checked edits to f2py's output: they apply exactly or the build stops."""

from __future__ import annotations

import pytest

from wrapgen.bind import BindError
from wrapgen.bind.f2py_patches import callbacks_take_the_gil, strip_threadsafe

MODULE = """\
static void other(void) { }
static double cb_g_in_x (double *t,int *n) {
    const char *s = "a } brace in a string";
    if (*n) { return *t; }
    return 0.0;
}
static void cb_f_in_x (int *n_cb_capi,double *y) {
    y[0] = 1.0;
}
int main(void) { return 0; }
"""


def test_each_callback_is_wrapped_to_take_the_gil() -> None:
    out = callbacks_take_the_gil(MODULE, expected=2)
    assert "static double cb_g_in_x_holding_gil (double *t,int *n) {" in out
    assert ("static double cb_g_in_x (double *t,int *n) {\n    PyGILState_STATE wg_gil = PyGILState_Ensure();\n"
            "    double wg_result = cb_g_in_x_holding_gil(t, n);\n    PyGILState_Release(wg_gil);\n"
            "    return wg_result;\n}") in out
    assert ("static void cb_f_in_x (int *n_cb_capi,double *y) {\n    PyGILState_STATE wg_gil = PyGILState_Ensure();\n"
            "    cb_f_in_x_holding_gil(n_cb_capi, y);\n    PyGILState_Release(wg_gil);\n}") in out
    # the wrapper comes right after the original body, whose string literal held a brace
    assert out.index('"a } brace in a string"') < out.index("static double cb_g_in_x (double")
    assert out.endswith("int main(void) { return 0; }\n")


def test_an_unexpected_number_of_callbacks_stops_the_build() -> None:
    with pytest.raises(BindError, match="expected 3 callback functions in f2py's output, found 2"):
        callbacks_take_the_gil(MODULE, expected=3)


def test_threadsafe_is_stripped_from_fortran_only_as_a_whole_line() -> None:
    assert strip_threadsafe("  interface\n    threadsafe \n    x = threadsafe_flag\n") == \
        "  interface\n    x = threadsafe_flag\n"
