/* Lennard-Jones forces and potential energy of N particles in 3-D (no cut-off, open boundaries). */
#ifndef LJ_H
#define LJ_H

/* pos and forces are n x 3, row-major. Returns 0 on success, 1 if two particles share a position
   (the force is infinite; forces and energy are then left unspecified), -1 if n < 0. */
int lj_forces(int n, const double *pos, double epsilon, double sigma, double *forces, double *energy);

#endif
