// Helpers for the pybind11 code wrapgen generates (C and C++ kernels).
#pragma once
#include <complex>
#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <limits>
#include <string>
#include <type_traits>

namespace wg {
namespace py = pybind11;

// An array argument that must already have the right dtype, order and writability: it is used
// in place and never copied. A mismatch raises; the Python layer then explains it in full.
template <typename T>
py::array_t<T> strict(py::handle h, const char *name, bool writeable, char order) {
    if (!py::isinstance<py::array_t<T>>(h))  // an ndarray with an equivalent dtype
        throw py::type_error(std::string("argument '") + name + "' must be an ndarray of the declared dtype");
    auto a = py::reinterpret_borrow<py::array>(h);
    const int need = order == 'F' ? py::array::f_style : py::array::c_style;
    if (!(a.flags() & need))
        throw py::type_error(std::string("argument '") + name + "' is not contiguous in the declared order");
    if (writeable && !a.writeable())
        throw py::value_error(std::string("argument '") + name + "' is read-only");
    return py::reinterpret_borrow<py::array_t<T>>(a);
}

// bytes and bytearray arguments of uint8 arrays, taken without a numpy call: a 1-D view of their memory.
inline bool is_bytes(py::handle h) { return PyBytes_CheckExact(h.ptr()) || PyByteArray_CheckExact(h.ptr()); }

// The view keeps the object alive (its base) and `lock` holds a buffer export until the call returns, so the
// memory cannot move (a bytearray refuses to resize while exported). bytes are read-only: refused for output.
template <typename A = py::array_t<uint8_t>>
A bytes_view(py::handle h, py::buffer_info &lock, bool writeable) {
    if (writeable && PyBytes_CheckExact(h.ptr()))
        throw py::value_error("the array is read-only");
    lock = py::reinterpret_borrow<py::buffer>(h).request(writeable);
    return A({lock.size}, {py::ssize_t{1}}, static_cast<uint8_t *>(lock.ptr), h);
}

// Extent i of an array, 1 past its rank (as in spec expressions).
inline long long extent(const py::array &a, int i) { return i < a.ndim() ? static_cast<long long>(a.shape(i)) : 1; }

inline long long size(const py::array &a) { return static_cast<long long>(a.size()); }

// Whether v converts to To without changing (r: the converted value): the round trip and the sign must both
// survive, which also holds for unsigned types wider than the source's range.
template <typename To, typename From>
bool fits(From v, To &r) {
    static_assert(std::is_arithmetic_v<To> && std::is_arithmetic_v<From>, "fits is for numbers");
    r = static_cast<To>(v);
    return static_cast<From>(r) == v && ((v < From{}) == (r < To{}));
}

// A computed size must fit the kernel's integer type.
template <typename To>
To narrow(long long v, const char *name) {
    To r;
    if (!fits(v, r))
        throw py::value_error(std::string("computed '") + name + "' = " + std::to_string(v) +
                              " does not fit the kernel's integer type");
    return r;
}

inline void check_shape(const py::array &a, const char *name, std::initializer_list<long long> want) {
    bool ok = static_cast<size_t>(a.ndim()) == want.size();
    int i = 0;
    for (long long w : want) {
        if (!ok) break;
        ok = w < 0 || static_cast<long long>(a.shape(i)) == w;  // w < 0: any extent
        ++i;
    }
    if (!ok) throw py::value_error(std::string("argument '") + name + "' has the wrong shape");
}

// A data pointer handed to a C prototype whatever element type it declares: std::complex<double> *
// and C99's double _Complex * have the same layout, but C++ will not convert between them.
struct any_ptr {
    void *p;
    template <typename T>
    operator T *() const {
        return static_cast<T *>(p);
    }
};

// A complex scalar passed by value to a C99 prototype (GNU C++ knows _Complex as an extension).
inline __complex__ double c_complex(std::complex<double> v) {
    __complex__ double r;
    __real__ r = v.real();
    __imag__ r = v.imag();
    return r;
}
inline __complex__ float c_complex(std::complex<float> v) {
    __complex__ float r;
    __real__ r = v.real();
    __imag__ r = v.imag();
    return r;
}

// The type a pointer argument points to (`size_t *` -> size_t, `uLongf *` -> uLongf), for a scalar the kernel
// takes by address in its own type.
template <typename P>
using pointee = std::remove_cv_t<std::remove_pointer_t<P>>;

// An integer moved between the dtype and the kernel's own type only if its value survives the trip.
template <typename To, typename From>
To fit(From v, const char *name) {
    To r;
    if (!fits(v, r))
        throw py::value_error(std::string("argument '") + name + "' = " + std::to_string(v) +
                              " does not fit the kernel's type");
    return r;
}

// An array's data as the pointer type the kernel's header declares (`const unsigned char *`, `Bytef *`, a
// typedef'd pointer): the same bytes, so the element sizes must agree (checked when the code compiles).
template <typename P, typename T>
P as(T *p) {
    static_assert(std::is_pointer_v<P>, "the ctype of an array argument must be a pointer type");
    using E = pointee<P>;
    static_assert(std::is_void_v<E> || sizeof(E) == sizeof(T),
                  "the ctype of an array argument points to elements of another size than its dtype");
    return (P)(p);  // a C cast: adds or drops const and changes the pointee type, as the header wants
}
template <typename P, typename T>
P as(const T *p) {
    return as<P>(const_cast<T *>(p));
}

// A method's length larger than the room the spec ties it to: refused by the same rule and words as a function's
// (wrapgen.bind.runtime.check_limit), called only when it fails.
inline void check_limit(const char *fn, const char *name, long long value, long long limit, const char *text) {
    if (value <= limit) return;
    py::module_::import("wrapgen.bind.runtime").attr("check_limit")(fn, name, value, limit, text);
}

// An input array for a method (no generated Python layer): converted only when no value changes, by the same
// rule as functions (wrapgen.bind.runtime.exact), which raises naming the argument otherwise.
template <typename T>
py::object exact(py::handle h, const char *fn, const char *name, const char *dtype) {
    if (py::isinstance<py::array_t<T>>(h)) return py::reinterpret_borrow<py::object>(h);
    // Kept for the life of the process (released, so no destructor runs after the interpreter is gone).
    static py::handle rule = py::object(py::module_::import("wrapgen.bind.runtime").attr("exact")).release();
    return rule(fn, name, h, dtype);
}

}  // namespace wg
