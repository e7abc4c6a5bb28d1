      SUBROUTINE ZSCALE(N, ALPHA, X)
      INTEGER N
      DOUBLE COMPLEX ALPHA, X(N)
      INTEGER I
      DO 10 I = 1, N
         X(I) = ALPHA * X(I)
   10 CONTINUE
      END
