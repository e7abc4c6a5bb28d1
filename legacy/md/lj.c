#include "lj.h"

int lj_forces(int n, const double *pos, double epsilon, double sigma, double *forces, double *energy)
{
    int i, j, k;
    double e = 0.0, s2 = sigma * sigma;
    if (n < 0)
        return -1;
    for (i = 0; i < 3 * n; ++i)
        forces[i] = 0.0;
    for (i = 0; i < n; ++i) {
        for (j = i + 1; j < n; ++j) {
            double d[3], r2 = 0.0, sr2, sr6, sr12, f;
            for (k = 0; k < 3; ++k) {
                d[k] = pos[3 * i + k] - pos[3 * j + k];
                r2 += d[k] * d[k];
            }
            if (r2 == 0.0)
                return 1;
            sr2 = s2 / r2;
            sr6 = sr2 * sr2 * sr2;
            sr12 = sr6 * sr6;
            e += 4.0 * epsilon * (sr12 - sr6);
            f = 24.0 * epsilon * (2.0 * sr12 - sr6) / r2; /* |F| / r */
            for (k = 0; k < 3; ++k) {
                forces[3 * i + k] += f * d[k];
                forces[3 * j + k] -= f * d[k];
            }
        }
    }
    *energy = e;
    return 0;
}
