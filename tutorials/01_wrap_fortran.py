"""From a Fortran file to `import`: wrap a legacy routine with one spec file.

Run it with `python tutorials/01_wrap_fortran.py` (or `make demo`). It needs gfortran and cmake,
which `make demo` installs. Everything happens in a temporary directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

import wrapgen

work = Path(tempfile.mkdtemp(prefix="wrapgen-tutorial-"))

# 1. The legacy code, as you have it: Fortran 77, a status code, arrays passed by reference.
(work / "scale.f").write_text(textwrap.dedent("""\
          SUBROUTINE SCALE(N, ALPHA, X, STATUS)
    C     X := ALPHA * X, refusing a zero factor.
          INTEGER N, STATUS
          DOUBLE PRECISION ALPHA, X(N)
          INTEGER I
          STATUS = 0
          IF (ALPHA .EQ. 0.0D0) THEN
             STATUS = 2
             RETURN
          END IF
          DO 10 I = 1, N
             X(I) = ALPHA * X(I)
       10 CONTINUE
          END
"""))

# 2. The spec: which arguments Python passes, which are computed, and what a status means.
spec = work / "scale.yaml"
spec.write_text(textwrap.dedent("""\
    name: scale
    language: fortran
    sources: [scale.f]
    functions:
      scale:
        doc: Multiply x by alpha in place.
        args:
          n: {dtype: int32, intent: hide, value: "len(x)"}
          alpha: {dtype: float64, default: 2.0, range: {min: -1000, max: 1000}, units: "1"}
          x: {dtype: float64, shape: [n], intent: inout}
          status: {dtype: int32, intent: out}
        errors:
          from: status
          codes:
            - {code: 2, exception: ZeroFactorError, message: "alpha must not be zero"}
"""))

# 3. Check the spec: every mistake would be reported as file:line:column: field: message.
print(subprocess.run([sys.executable, "-m", "wrapgen", "check", str(spec)], capture_output=True, text=True,
                     check=True).stdout.strip())

# 4. Build and import in one call (cached: the second time takes a fraction of a second).
scale = wrapgen.load(spec)
print(scale.scale.__doc__.splitlines()[0])

# Python's signature is scale(x, alpha=2.0): arguments with defaults come last, as in f2py.
x = np.arange(5.0)
scale.scale(x, 3.0)  # in place: x itself now holds the result, no copy was made
assert x.tolist() == [0.0, 3.0, 6.0, 9.0, 12.0]
scale.scale(x=x)  # alpha defaults to 2.0
assert x.tolist() == [0.0, 6.0, 12.0, 18.0, 24.0]
print("x =", x)

# 5. What goes wrong is said clearly, and the caller's data is never silently copied.
try:
    scale.scale(x.astype(np.float32), 2.0)
except TypeError as exc:
    print("TypeError:", exc)
try:
    scale.scale(x, 0.0)
except scale.ZeroFactorError as exc:
    print(f"{type(exc).__name__} (status {exc.code}):", exc)
try:
    scale.scale(x, 1e6)
except ValueError as exc:
    print("ValueError:", exc)
try:
    scale.scale(x, "3")
except TypeError as exc:
    print("TypeError:", exc)
assert x.tolist() == [0.0, 6.0, 12.0, 18.0, 24.0]  # none of the refused calls touched x

# 6. The same from the shell: `wrapgen build scale.yaml` prints where the module is.
print(subprocess.run([sys.executable, "-m", "wrapgen", "build", str(spec)], capture_output=True, text=True,
                     check=True).stdout.strip())
shutil.rmtree(work)
print("tutorial 01 passed")
