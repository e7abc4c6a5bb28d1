      SUBROUTINE XERBLA(SRNAME, INFO)
C     Replaces reference LAPACK's XERBLA, which prints a message and
C     STOPs the whole process (exit status 0) on an illegal argument.
C     Returning instead lets the routine hand INFO = -I back to the
C     caller, where wrapgen turns it into an exception.
      CHARACTER*(*) SRNAME
      INTEGER INFO
      RETURN
      END
