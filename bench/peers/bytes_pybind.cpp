// A hand-written pybind11 binding of legacy/bytes/bytes.h's rle_encode, the way people usually write one for a
// byte-buffer C API: py::buffer in, a writable buffer out, the length passed back through the pointer returned.
// The peer that bench/wrap_overhead.py compares generated code against.
#include <pybind11/pybind11.h>

extern "C" {
#include "bytes.h"
}

namespace py = pybind11;

PYBIND11_MODULE(bytes_hand, m) {
    m.def("rle_encode", [](py::buffer dst, py::buffer src) {
        py::buffer_info d = dst.request(true), s = src.request();
        if (d.itemsize != 1 || s.itemsize != 1) throw py::type_error("byte buffers expected");
        ulen dstlen = static_cast<ulen>(d.size);
        int rc;
        {
            py::gil_scoped_release nogil;
            rc = rle_encode(static_cast<bytebuf>(d.ptr), &dstlen, static_cast<const Byte *>(s.ptr),
                            static_cast<ulen>(s.size));
        }
        if (rc == BYTES_BUF_ERROR) throw std::runtime_error("dst is too small");
        return dstlen;
    });
}
