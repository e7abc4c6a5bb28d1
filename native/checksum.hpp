// Streaming checksums by GridFTP name (MD5, ADLER32, SHA1, SHA256, SHA512, CRC32C).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wrapgen {

// Raised for a bad algorithm name or byte range; mapped to ValueError.
struct ChecksumArgumentError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// Raised when a file cannot be read; carries errno and the path (mapped to OSError).
struct FileError : std::runtime_error {
    FileError(int err, std::string path_, std::string reason_)
        : std::runtime_error(path_ + ": " + reason_), error(err), path(std::move(path_)), reason(std::move(reason_)) {}
    int error;
    std::string path;
    std::string reason;  // what was being done, such as: cannot open
};

class Hasher {
public:
    virtual ~Hasher() = default;
    virtual void update(const void *data, size_t len) = 0;
    virtual std::string digest() const = 0;  // raw bytes, big-endian for 32-bit sums
    virtual std::unique_ptr<Hasher> clone() const = 0;
    virtual void reset() = 0;
    virtual size_t digest_size() const = 0;
    const std::string &name() const { return name_; }

protected:
    explicit Hasher(std::string name) : name_(std::move(name)) {}
    std::string name_;
};

// Canonical names, in GridFTP's FEAT order then CRC32C.
const std::vector<std::string> &algorithm_names();
// Case-insensitive lookup; also accepts "SHA-256" style spellings.
std::unique_ptr<Hasher> make_hasher(const std::string &algorithm);

std::string to_hex(const std::string &bytes);

// Checksum of length bytes (-1: to the end) of a file from offset, like
// GridFTP's `CKSM alg offset length path`. A range past the end of the file,
// or a file that shrinks while being read, is an error rather than a short sum.
std::string file_checksum(const std::string &algorithm, const std::string &path, int64_t offset,
                          int64_t length, size_t buffer_size);

std::string openssl_version();

}  // namespace wrapgen
