      SUBROUTINE DAXPY1(N, A, X, Y)
C     Y := A*X + Y, unit strides (the BLAS level-1 kernel without INCX/INCY).
      INTEGER N
      DOUBLE PRECISION A, X(N), Y(N)
      INTEGER I
      DO 10 I = 1, N
         Y(I) = Y(I) + A * X(I)
   10 CONTINUE
      END

      SUBROUTINE DADD(A, B, C)
C     C := A + B, the smallest possible kernel: measures pure call overhead.
      DOUBLE PRECISION A, B, C
      C = A + B
      END
