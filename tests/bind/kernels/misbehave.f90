! Kernels that misbehave on purpose, to test isolated calls.
subroutine add_one(x)
  double precision, intent(inout) :: x(:)
  x = x + 1.0d0
end subroutine add_one

subroutine do_stop(code)
  integer, intent(in) :: code
  if (code == 0) stop
  stop 3
end subroutine do_stop

subroutine do_segv(x)
  use iso_c_binding, only: c_int
  interface
    integer(c_int) function c_raise(sig) bind(C, name="raise")
      import :: c_int
      integer(c_int), value :: sig
    end function c_raise
  end interface
  double precision, intent(inout) :: x(:)
  integer(c_int) :: ignored
  x = -1.0d0
  ignored = c_raise(11_c_int)
end subroutine do_segv

subroutine spin(x)
  double precision, intent(inout) :: x
  do while (x >= 0.0d0)
    x = x + 1.0d0
  end do
end subroutine spin

subroutine hog(mib, total)
  integer, intent(in) :: mib
  double precision, intent(out) :: total
  double precision, allocatable :: a(:)
  allocate(a(int(mib, 8) * 131072_8))
  a = 1.0d0
  total = sum(a)
end subroutine hog

subroutine do_abort()
  interface
    subroutine c_abort() bind(C, name="abort")
    end subroutine c_abort
  end interface
  call c_abort()
end subroutine do_abort
