#ifndef TALLY_H
#define TALLY_H
double tally(int i, double x, int ms);
int scale(int n, const double *a, double factor, double *out);
#endif
