C     Newton's iteration for the square root of A, MINPACK-style status codes:
C       INFO = 0  improper input (A < 0, TOL <= 0 or MAXIT < 1)
C       INFO = 1  converged: |X*X - A| <= TOL
C       INFO = 2  converged: the step is below TOL * |X| (relative)
C       INFO = 3  converged: A = 0, X = 0 exactly
C       INFO = 4  MAXIT iterations done, X is the last iterate (usable, not converged)
C       INFO = 5  X = 0 reached: no further step is possible
C     X is the starting guess on entry and the root on exit; NIT the iterations used.
      SUBROUTINE NEWTON(A, X, TOL, MAXIT, NIT, INFO)
      DOUBLE PRECISION A, X, TOL, STEP
      INTEGER MAXIT, NIT, INFO
      NIT = 0
      IF (A .LT. 0D0 .OR. TOL .LE. 0D0 .OR. MAXIT .LT. 1) THEN
         INFO = 0
         RETURN
      END IF
      IF (A .EQ. 0D0) THEN
         X = 0D0
         INFO = 3
         RETURN
      END IF
   10 CONTINUE
      IF (X .EQ. 0D0) THEN
         INFO = 5
         RETURN
      END IF
      IF (ABS(X*X - A) .LE. TOL) THEN
         INFO = 1
         RETURN
      END IF
      IF (NIT .GE. MAXIT) THEN
         INFO = 4
         RETURN
      END IF
      STEP = (X*X - A) / (2D0*X)
      X = X - STEP
      NIT = NIT + 1
      IF (ABS(STEP) .LE. TOL*ABS(X) .AND. ABS(X*X - A) .GT. TOL) THEN
         INFO = 2
         RETURN
      END IF
      GO TO 10
      END

C     Scale N 1-byte and N 2-byte integers in place by K (small-integer Fortran arrays).
      SUBROUTINE SCALE12(N, B, H, K)
      INTEGER N, K, I
      INTEGER*1 B(N)
      INTEGER*2 H(N)
      DO 20 I = 1, N
         B(I) = B(I) * K
         H(I) = H(I) * K
   20 CONTINUE
      END
