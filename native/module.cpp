// wrapgen._core: the native parts of wrapgen, bound with pybind11.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <unistd.h>
#include <mutex>

#include "adler32.hpp"
#include "checksum.hpp"
#include "crc32c.hpp"
#include "modee.hpp"

namespace py = pybind11;
using namespace wrapgen;

namespace {

// Below this size releasing the GIL costs more than the hashing it frees up.
constexpr size_t kReleaseGilAbove = 4096;

// A contiguous read-only view of any buffer-protocol object (bytes, bytearray,
// memoryview, contiguous numpy arrays); non-contiguous input is refused by
// Python itself with BufferError, never silently copied.
class Bytes {
public:
    explicit Bytes(const py::handle &obj) {
        if (PyUnicode_Check(obj.ptr()))
            throw py::type_error("strings must be encoded before hashing (got str, expected a bytes-like object)");
        if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_SIMPLE) != 0) {
            py::error_already_set why;  // fetches and clears the exporter's own error
            throw py::buffer_error(std::string("data: expected a contiguous bytes-like object, got ") +
                                   Py_TYPE(obj.ptr())->tp_name + " (" + why.what() + ")");
        }
    }
    ~Bytes() { PyBuffer_Release(&view_); }
    Bytes(const Bytes &) = delete;
    Bytes &operator=(const Bytes &) = delete;
    const void *data() const { return view_.buf; }
    size_t size() const { return static_cast<size_t>(view_.len); }

private:
    Py_buffer view_{};
};

class PyChecksum {
public:
    explicit PyChecksum(const std::string &algorithm) : h_(make_hasher(algorithm)) {}
    explicit PyChecksum(std::unique_ptr<Hasher> h) : h_(std::move(h)) {}

    void update(const py::handle &data) {
        Bytes b(data);
        if (b.size() >= kReleaseGilAbove) {
            py::gil_scoped_release nogil;
            std::lock_guard<std::mutex> lock(mu_);
            h_->update(b.data(), b.size());
        } else {
            std::lock_guard<std::mutex> lock(mu_);
            h_->update(b.data(), b.size());
        }
    }
    // Add `length` bytes of an open file from `offset` (pread: the descriptor's position is not used).
    // The caller loops over pieces, so a long checksum can be abandoned between them.
    uint64_t update_file(int fd, uint64_t offset, uint64_t length, size_t buffer_size) {
        if (buffer_size == 0) throw ChecksumArgumentError("buffer_size must be > 0");
        py::gil_scoped_release nogil;
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<unsigned char> buf(std::min<uint64_t>(buffer_size, std::max<uint64_t>(length, 1)));
        uint64_t done = 0;
        while (done < length) {
            size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - done));
            ssize_t got = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
            if (got < 0) {
                if (errno == EINTR) continue;
                throw FileError(errno, "", "read failed at offset " + std::to_string(offset + done));
            }
            if (got == 0)
                throw ChecksumArgumentError("data ended at byte " + std::to_string(offset + done) +
                                            ", before the end of the range (did the file shrink while being read?)");
            h_->update(buf.data(), static_cast<size_t>(got));
            done += static_cast<uint64_t>(got);
        }
        return done;
    }
    py::bytes digest() {
        std::lock_guard<std::mutex> lock(mu_);
        return py::bytes(h_->digest());
    }
    std::string hexdigest() {
        std::lock_guard<std::mutex> lock(mu_);
        return to_hex(h_->digest());
    }
    std::unique_ptr<PyChecksum> copy() {
        std::lock_guard<std::mutex> lock(mu_);
        return std::make_unique<PyChecksum>(h_->clone());
    }
    void reset() {
        std::lock_guard<std::mutex> lock(mu_);
        h_->reset();
    }
    const std::string &name() const { return h_->name(); }
    size_t digest_size() const { return h_->digest_size(); }

private:
    std::unique_ptr<Hasher> h_;
    std::mutex mu_;  // updates run without the GIL, so two threads may share one object
};

template <uint32_t (*Fn)(uint32_t, const void *, size_t) noexcept>
uint32_t sum32(const py::handle &data, uint32_t value) {
    Bytes b(data);
    if (b.size() >= kReleaseGilAbove) {
        py::gil_scoped_release nogil;
        return Fn(value, b.data(), b.size());
    }
    return Fn(value, b.data(), b.size());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "wrapgen's native core: streaming checksums (more to come: the GridFTP data channel).";

    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const FileError &e) {
            // OSError(errno, strerror, filename) picks the right subclass (FileNotFoundError, ...).
            py::object err = py::reinterpret_borrow<py::object>(PyExc_OSError)(
                e.error, e.reason + ": " + std::strerror(e.error), py::bytes(e.path).attr("decode")("utf-8", "surrogateescape"));
            PyErr_SetObject(PyExc_OSError, err.ptr());
        }
    });

    py::class_<PyChecksum>(m, "Checksum", "An incremental checksum: update() with bytes-like data, then digest().")
        .def(py::init<const std::string &>(), py::arg("algorithm"),
             "Start a checksum; algorithm is one of algorithms(), case-insensitive.")
        .def("update", &PyChecksum::update, py::arg("data"),
             "Add a contiguous bytes-like object (the GIL is released for large buffers).")
        .def("update_file", &PyChecksum::update_file, py::arg("fd"), py::arg("offset"), py::arg("length"),
             py::arg("buffer_size") = size_t(256) << 10,
             "Add length bytes of the open file fd from offset (pread, GIL released); returns the bytes added.")
        .def("digest", &PyChecksum::digest, "The checksum so far as bytes (big-endian for 32-bit sums).")
        .def("hexdigest", &PyChecksum::hexdigest, "The checksum so far as lowercase hex, as GridFTP's CKSM prints it.")
        .def("copy", &PyChecksum::copy, "An independent copy of the current state.")
        .def("reset", &PyChecksum::reset, "Start over as if new.")
        .def_property_readonly("name", &PyChecksum::name, "Canonical algorithm name, e.g. 'SHA256'.")
        .def_property_readonly("digest_size", &PyChecksum::digest_size, "Digest length in bytes.");

    m.def(
        "file_checksum",
        [](const std::string &algorithm, const py::bytes &path, int64_t offset, int64_t length, size_t buffer_size) {
            std::string p = path;
            py::gil_scoped_release nogil;
            return file_checksum(algorithm, p, offset, length, buffer_size);
        },
        py::arg("algorithm"), py::arg("path"), py::arg("offset") = 0, py::arg("length") = -1,
        py::arg("buffer_size") = size_t(256) << 10,
        "Hex checksum of a file's byte range (length -1: to the end), like GridFTP's CKSM; path is bytes.");

    m.def(
        "checksum",
        [](const std::string &algorithm, const py::handle &data) {
            auto h = make_hasher(algorithm);
            Bytes b(data);
            py::gil_scoped_release nogil;
            h->update(b.data(), b.size());
            return to_hex(h->digest());
        },
        py::arg("algorithm"), py::arg("data"), "Hex checksum of a bytes-like object.");

    m.def("adler32", &sum32<adler32>, py::arg("data"), py::arg("value") = 1,
          "Adler-32 continuing from value, like zlib.adler32.");
    m.def("crc32c", &sum32<crc32c>, py::arg("data"), py::arg("value") = 0, "CRC-32C continuing from value.");
    m.def("_adler32_scalar", &sum32<adler32_scalar>, py::arg("data"), py::arg("value") = 1);
    m.def("_crc32c_table", &sum32<crc32c_table>, py::arg("data"), py::arg("value") = 0);

    m.def(
        "modee_receive",
        [](int sock, int file, uint64_t base, uint64_t max_offset, Progress *progress) {
            ReceiveResult r;
            {
                py::gil_scoped_release nogil;
                r = modee_receive(sock, file, base, max_offset, progress);
            }
            return py::make_tuple(r.bytes, r.eod, r.eof_expected, r.closed, r.end);
        },
        py::arg("sock"), py::arg("file"), py::arg("base") = 0, py::arg("max_offset") = uint64_t(1) << 62,
        py::arg("progress") = nullptr,
        "Receive MODE E blocks on one data connection until EOD or close, writing them into file (pwrite); "
        "returns (bytes, eod, eof_expected or -1, closed, end offset).");
    m.def(
        "modee_send",
        [](const std::vector<int> &socks, int file, uint64_t offset, uint64_t length, uint64_t block_size,
           uint64_t block_offset_base, Progress *progress) {
            py::gil_scoped_release nogil;
            return modee_send(socks, file, offset, length, block_size, block_offset_base, progress);
        },
        py::arg("socks"), py::arg("file"), py::arg("offset"), py::arg("length"), py::arg("block_size") = uint64_t(1) << 20,
        py::arg("block_offset_base") = 0, py::arg("progress") = nullptr,
        "Send a file range as MODE E blocks over the connections (one thread each), then EOD on each and "
        "EOF|EOD with the connection count on the first; returns the data bytes sent.");
    py::class_<Progress>(m, "Progress", "A transfer's byte counter, updated by the native data path as it goes.")
        .def(py::init<>())
        .def_property_readonly("bytes", [](const Progress &p) { return p.bytes.load(std::memory_order_relaxed); },
                               "Data bytes moved so far.");
    m.def("algorithms", &algorithm_names, "Checksum algorithm names, in GridFTP's FEAT order.");
    m.def("openssl_version", &openssl_version, "Version of the OpenSSL libcrypto the core is linked with.");
    m.def(
        "cpu_features",
        []() {
            py::dict d;
            d["crc32c_sse42"] = crc32c_hardware_available();
            d["adler32_ssse3"] = adler32_simd_available();
            return d;
        },
        "Which accelerated paths this CPU uses.");
#ifdef WRAPGEN_VERSION
    m.attr("__version__") = WRAPGEN_VERSION;
#endif
}
