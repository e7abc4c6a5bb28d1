#include <complex>
#include <vector>
inline std::complex<double> rotate(std::complex<double> z, double deg) { return z * std::polar(1.0, deg * 3.141592653589793 / 180); }
inline void conj_all(int n, std::complex<float> *z) { for (int i = 0; i < n; ++i) z[i] = std::conj(z[i]); }
