#include <complex.h>
/* x[i] *= alpha; returns the sum of |x[i]|^2 after scaling. */
double cscale(int n, double complex *x, double alpha);
