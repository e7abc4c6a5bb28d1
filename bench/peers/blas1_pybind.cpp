// A hand-written pybind11 binding of legacy/blas1/saxpy.f, written the way people usually do it:
// the peer that bench/wrap_overhead.py compares generated code against.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace py = pybind11;

extern "C" void daxpy1_(int *n, double *a, double *x, double *y);
extern "C" void dadd_(double *a, double *b, double *c);

PYBIND11_MODULE(blas1_hand, m) {
    m.def("daxpy1", [](double a, py::array_t<double, py::array::c_style> x, py::array_t<double, py::array::c_style> y) {
        if (x.ndim() != 1 || y.ndim() != 1 || x.shape(0) != y.shape(0))
            throw py::value_error("x and y must be 1-D arrays of the same length");
        int n = static_cast<int>(x.shape(0));
        double *yp = y.mutable_data();
        double *xp = const_cast<double *>(x.data());
        py::gil_scoped_release nogil;
        daxpy1_(&n, &a, xp, yp);
    });
    m.def("dadd", [](double a, double b) {
        double c;
        dadd_(&a, &b, &c);
        return c;
    });
}
