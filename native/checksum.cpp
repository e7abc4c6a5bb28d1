#include "checksum.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "adler32.hpp"
#include "crc32c.hpp"

namespace wrapgen {
namespace {

std::string normalise(const std::string &name) {
    std::string out;
    for (char c : name)
        if (c != '-' && c != '_') out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return out;
}

std::string be32(uint32_t v) {
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
    return out;
}

// OpenSSL 3 "fetches" are slow; fetch each digest once and keep it for the process.
const EVP_MD *fetch_md(const char *openssl_name) {
    struct Cache {
        const EVP_MD *md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
        const EVP_MD *sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
        const EVP_MD *sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        const EVP_MD *sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
    };
    static const Cache cache;
    const EVP_MD *md = nullptr;
    if (!std::strcmp(openssl_name, "MD5")) md = cache.md5;
    else if (!std::strcmp(openssl_name, "SHA1")) md = cache.sha1;
    else if (!std::strcmp(openssl_name, "SHA256")) md = cache.sha256;
    else if (!std::strcmp(openssl_name, "SHA512")) md = cache.sha512;
    if (!md) throw std::runtime_error(std::string("OpenSSL does not provide ") + openssl_name +
                                      " (FIPS-only provider?)");
    return md;
}

class EvpHasher final : public Hasher {
public:
    EvpHasher(const std::string &name, const EVP_MD *md) : Hasher(name), md_(md), ctx_(EVP_MD_CTX_new()) {
        if (!ctx_) throw std::bad_alloc();
        reset();
    }
    EvpHasher(const EvpHasher &other) : Hasher(other.name_), md_(other.md_), ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || !EVP_MD_CTX_copy_ex(ctx_, other.ctx_)) throw std::runtime_error("EVP_MD_CTX_copy_ex failed");
    }
    ~EvpHasher() override { EVP_MD_CTX_free(ctx_); }
    void update(const void *data, size_t len) override {
        if (len && !EVP_DigestUpdate(ctx_, data, len)) throw std::runtime_error("EVP_DigestUpdate failed");
    }
    std::string digest() const override {
        // Finalising consumes a context, so finalise a copy: digest() stays repeatable.
        EvpHasher copy(*this);
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!EVP_DigestFinal_ex(copy.ctx_, out, &n)) throw std::runtime_error("EVP_DigestFinal_ex failed");
        return std::string(reinterpret_cast<char *>(out), n);
    }
    std::unique_ptr<Hasher> clone() const override { return std::make_unique<EvpHasher>(*this); }
    void reset() override {
        if (!EVP_DigestInit_ex(ctx_, md_, nullptr)) throw std::runtime_error("EVP_DigestInit_ex failed");
    }
    size_t digest_size() const override { return static_cast<size_t>(EVP_MD_get_size(md_)); }

private:
    const EVP_MD *md_;
    EVP_MD_CTX *ctx_;
};

template <uint32_t (*Fn)(uint32_t, const void *, size_t) noexcept, uint32_t Init>
class Sum32Hasher final : public Hasher {
public:
    explicit Sum32Hasher(const std::string &name) : Hasher(name) {}
    void update(const void *data, size_t len) override { value_ = Fn(value_, data, len); }
    std::string digest() const override { return be32(value_); }
    std::unique_ptr<Hasher> clone() const override { return std::make_unique<Sum32Hasher>(*this); }
    void reset() override { value_ = Init; }
    size_t digest_size() const override { return 4; }

private:
    uint32_t value_ = Init;
};

struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

[[noreturn]] void throw_file_error(int err, const std::string &path, const std::string &what) {
    throw FileError(err, path, what);
}

}  // namespace

const std::vector<std::string> &algorithm_names() {
    static const std::vector<std::string> names{"MD5", "ADLER32", "SHA1", "SHA256", "SHA512", "CRC32C"};
    return names;
}

std::unique_ptr<Hasher> make_hasher(const std::string &algorithm) {
    const std::string key = normalise(algorithm);
    if (key == "MD5" || key == "SHA1" || key == "SHA256" || key == "SHA512")
        return std::make_unique<EvpHasher>(key, fetch_md(key.c_str()));
    if (key == "ADLER32") return std::make_unique<Sum32Hasher<adler32, 1>>(key);
    if (key == "CRC32C") return std::make_unique<Sum32Hasher<crc32c, 0>>(key);
    std::string known;
    for (const auto &n : algorithm_names()) known += (known.empty() ? "" : ", ") + n;
    throw ChecksumArgumentError("unknown checksum algorithm '" + algorithm + "'; expected one of " + known);
}

std::string to_hex(const std::string &bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

std::string file_checksum(const std::string &algorithm, const std::string &path, int64_t offset,
                          int64_t length, size_t buffer_size) {
    auto hasher = make_hasher(algorithm);
    if (offset < 0) throw ChecksumArgumentError("offset must be >= 0, got " + std::to_string(offset));
    if (length < -1)
        throw ChecksumArgumentError("length must be >= 0, or -1 for 'to the end', got " + std::to_string(length));
    if (buffer_size == 0) throw ChecksumArgumentError("buffer_size must be > 0");

    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) throw_file_error(errno, path, "cannot open");
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw_file_error(errno, path, "cannot stat");
    if (S_ISDIR(st.st_mode)) throw_file_error(EISDIR, path, "cannot checksum");
    const bool regular = S_ISREG(st.st_mode);
    if (regular && offset > st.st_size)
        throw ChecksumArgumentError(path + ": offset " + std::to_string(offset) + " is past the end of the file (" +
                                    std::to_string(st.st_size) + " bytes)");
    if (regular && length >= 0 && offset + length > st.st_size)
        throw ChecksumArgumentError(path + ": range " + std::to_string(offset) + "+" + std::to_string(length) +
                                    " is past the end of the file (" + std::to_string(st.st_size) + " bytes)");
    if (regular) ::posix_fadvise(f.fd, offset, length < 0 ? 0 : length, POSIX_FADV_SEQUENTIAL);

    // Pipes and character devices cannot pread: read them in order, skipping to offset.
    auto read_at = [&](unsigned char *dst, size_t want, int64_t at) -> ssize_t {
        for (;;) {
            ssize_t got = regular ? ::pread(f.fd, dst, want, at) : ::read(f.fd, dst, want);
            if (got >= 0 || errno != EINTR) return got;
        }
    };
    std::vector<unsigned char> buf(buffer_size);
    for (int64_t skipped = 0; !regular && skipped < offset;) {
        size_t want = static_cast<size_t>(std::min<int64_t>(offset - skipped, static_cast<int64_t>(buffer_size)));
        ssize_t got = read_at(buf.data(), want, skipped);
        if (got < 0) throw_file_error(errno, path, "read failed at offset " + std::to_string(skipped));
        if (got == 0)
            throw ChecksumArgumentError(path + ": offset " + std::to_string(offset) +
                                        " is past the end of the data (" + std::to_string(skipped) + " bytes)");
        skipped += got;
    }
    int64_t pos = offset;
    int64_t remaining = length;  // -1: until EOF
    while (remaining != 0) {
        size_t want = buffer_size;
        if (remaining > 0 && static_cast<uint64_t>(remaining) < want) want = static_cast<size_t>(remaining);
        ssize_t got = read_at(buf.data(), want, pos);
        if (got < 0) throw_file_error(errno, path, "read failed at offset " + std::to_string(pos));
        if (got == 0) {
            if (remaining > 0)
                throw ChecksumArgumentError(path + ": data ended at byte " + std::to_string(pos) +
                                            ", before the end of range " + std::to_string(offset) + "+" +
                                            std::to_string(length) + " (did the file shrink while being read?)");
            break;
        }
        hasher->update(buf.data(), static_cast<size_t>(got));
        pos += got;
        if (remaining > 0) remaining -= got;
    }
    return to_hex(hasher->digest());
}

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace wrapgen
