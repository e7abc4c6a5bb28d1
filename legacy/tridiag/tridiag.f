      SUBROUTINE TRIDIAG(N, DL, D, DU, B, WORK, INFO)
C
C     Solve the tridiagonal system A x = b by the Thomas algorithm
C     (Gaussian elimination without pivoting).
C
C     N      (in)    order of A, N >= 1
C     DL     (in)    sub-diagonal, DL(1..N-1)
C     D      (in)    diagonal, D(1..N)
C     DU     (in)    super-diagonal, DU(1..N-1)
C     B      (inout) right-hand side on entry, solution x on exit
C     WORK   (work)  scratch, WORK(1..N)
C     INFO   (out)   0: success; -I: argument I had an illegal value;
C                    I > 0: zero pivot in row I, nothing solved
C
      INTEGER N, INFO
      DOUBLE PRECISION DL(*), D(*), DU(*), B(*), WORK(*)
      INTEGER I
      DOUBLE PRECISION DENOM
C
      INFO = 0
      IF (N .LT. 1) THEN
         INFO = -1
         RETURN
      END IF
      DENOM = D(1)
      IF (DENOM .EQ. 0.0D0) THEN
         INFO = 1
         RETURN
      END IF
      IF (N .GT. 1) WORK(1) = DU(1) / DENOM
      WORK(N) = B(1) / DENOM
C     WORK(1..N-1) holds the modified super-diagonal; B is used for the
C     modified right-hand side, which needs its own first element:
      B(1) = WORK(N)
      DO 10 I = 2, N
         DENOM = D(I) - DL(I-1) * WORK(I-1)
         IF (DENOM .EQ. 0.0D0) THEN
            INFO = I
            RETURN
         END IF
         IF (I .LT. N) WORK(I) = DU(I) / DENOM
         B(I) = (B(I) - DL(I-1) * B(I-1)) / DENOM
   10 CONTINUE
      DO 20 I = N-1, 1, -1
         B(I) = B(I) - WORK(I) * B(I+1)
   20 CONTINUE
      RETURN
      END
