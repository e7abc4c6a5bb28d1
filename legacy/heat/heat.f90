! Explicit finite-difference steps of the 2-D heat equation u_t = alpha * (u_xx + u_yy)
! on a grid with fixed (Dirichlet) boundary values. Fortran 90 module, assumed-shape array.
module heat
  implicit none
  integer, parameter :: dp = kind(1.0d0)
contains

  ! Advance u by nsteps steps of length dt on a grid of spacing dx, in place.
  ! info = 0: done; 1: unstable (alpha*dt/dx**2 > 1/4), nothing done; 2: grid smaller than 3x3.
  subroutine heat_step(u, alpha, dt, dx, nsteps, info)
    real(dp), intent(inout) :: u(:, :)
    real(dp), intent(in) :: alpha, dt, dx
    integer, intent(in) :: nsteps
    integer, intent(out) :: info
    real(dp), allocatable :: old(:, :)
    real(dp) :: r
    integer :: nx, ny, s, i, j

    info = 0
    nx = size(u, 1)
    ny = size(u, 2)
    r = alpha * dt / dx**2
    if (r > 0.25_dp) then
      info = 1
      return
    end if
    if (nx < 3 .or. ny < 3) then
      info = 2
      return
    end if
    allocate(old(nx, ny))
    do s = 1, nsteps
      old = u
      do j = 2, ny - 1
        do i = 2, nx - 1
          u(i, j) = old(i, j) + r * (old(i+1, j) + old(i-1, j) + old(i, j+1) + old(i, j-1) - 4.0_dp * old(i, j))
        end do
      end do
    end do
    deallocate(old)
  end subroutine heat_step

end module heat
