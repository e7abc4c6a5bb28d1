#include "cscale.h"
double cscale(int n, double complex *x, double alpha) {
    double s = 0;
    for (int i = 0; i < n; ++i) { x[i] *= alpha; s += creal(x[i] * conj(x[i])); }
    return s;
}
