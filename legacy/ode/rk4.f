      SUBROUTINE RK4(F, N, Y, T0, T1, NSTEPS, WORK, IFLAG)
C
C     Integrate dy/dt = f(t, y) from T0 to T1 in NSTEPS classical
C     fourth-order Runge-Kutta steps; Y holds y(T0) on entry and y(T1)
C     on exit.
C
C     F      (in)    SUBROUTINE F(N, T, Y, DYDT, IFLAG): set DYDT = f(t, y);
C                    setting IFLAG < 0 stops the integration
C     WORK   (work)  scratch, WORK(N, 5)
C     IFLAG  (out)   0: done; < 0: stopped by F with that value, Y holds the
C                    last completed step; 1: NSTEPS < 1
C
      EXTERNAL F
      INTEGER N, NSTEPS, IFLAG
      DOUBLE PRECISION Y(N), T0, T1, WORK(N, 5)
      INTEGER I, S
      DOUBLE PRECISION H, T
C
      IFLAG = 0
      IF (NSTEPS .LT. 1) THEN
         IFLAG = 1
         RETURN
      END IF
      H = (T1 - T0) / NSTEPS
      DO 50 S = 0, NSTEPS - 1
         T = T0 + S * H
         CALL F(N, T, Y, WORK(1, 1), IFLAG)
         IF (IFLAG .LT. 0) RETURN
         DO 10 I = 1, N
            WORK(I, 5) = Y(I) + 0.5D0 * H * WORK(I, 1)
   10    CONTINUE
         CALL F(N, T + 0.5D0 * H, WORK(1, 5), WORK(1, 2), IFLAG)
         IF (IFLAG .LT. 0) RETURN
         DO 20 I = 1, N
            WORK(I, 5) = Y(I) + 0.5D0 * H * WORK(I, 2)
   20    CONTINUE
         CALL F(N, T + 0.5D0 * H, WORK(1, 5), WORK(1, 3), IFLAG)
         IF (IFLAG .LT. 0) RETURN
         DO 30 I = 1, N
            WORK(I, 5) = Y(I) + H * WORK(I, 3)
   30    CONTINUE
         CALL F(N, T + H, WORK(1, 5), WORK(1, 4), IFLAG)
         IF (IFLAG .LT. 0) RETURN
         DO 40 I = 1, N
            Y(I) = Y(I) + H / 6.0D0 * (WORK(I, 1) + 2.0D0 * WORK(I, 2)
     &             + 2.0D0 * WORK(I, 3) + WORK(I, 4))
   40    CONTINUE
   50 CONTINUE
      RETURN
      END
