#include "modee.hpp"
#include "checksum.hpp"  // FileError: errno kept, so a full disk reaches Python as OSError(ENOSPC)

#include <algorithm>
#include <atomic>
#include <memory>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

namespace wrapgen {
namespace {

std::string sys_error(const char *what) { return std::string(what) + ": " + std::strerror(errno); }

// Read exactly n bytes; false at a clean end of stream before the first byte.
bool read_full(int fd, void *buf, size_t n, bool allow_eof) {
    auto *p = static_cast<uint8_t *>(buf);
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::recv(fd, p + got, n - got, 0);
        if (r == 0) {
            if (got == 0 && allow_eof) return false;
            throw std::runtime_error("data connection closed in the middle of a block");
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            // SO_RCVTIMEO set by the server: a silent data connection ends the transfer
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw std::runtime_error("data connection timed out: nothing received within the data timeout");
            throw std::runtime_error(sys_error("reading the data connection"));
        }
        got += static_cast<size_t>(r);
    }
    return true;
}

void write_full(int fd, const void *buf, size_t n, int flags = 0) {
    auto *p = static_cast<const uint8_t *>(buf);
    size_t done = 0;
    while (done < n) {
        ssize_t r = ::send(fd, p + done, n - done, MSG_NOSIGNAL | flags);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw std::runtime_error("data connection timed out: the peer read nothing within the data timeout");
            throw std::runtime_error(sys_error("writing the data connection"));
        }
        done += static_cast<size_t>(r);
    }
}

void pread_full(int fd, uint8_t *buf, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(off + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(sys_error("reading the file"));
        }
        if (r == 0) throw std::runtime_error("the file became shorter during the transfer");
        got += static_cast<size_t>(r);
    }
}

void pwrite_full(int fd, const uint8_t *buf, size_t n, uint64_t off) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = ::pwrite(fd, buf + done, n - done, static_cast<off_t>(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            throw FileError(errno, "", "writing the file");
        }
        done += static_cast<size_t>(r);
    }
}

uint64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}

void put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<uint8_t>(v & 0xFF);
        v >>= 8;
    }
}

// A per-thread buffer of at least n bytes, allocated once and never zero-filled: allocating (and clearing)
// megabytes per transfer cost more than moving a small file.
uint8_t *scratch(size_t n) {
    thread_local std::unique_ptr<uint8_t[]> buf;
    thread_local size_t size = 0;
    if (size < n) {
        buf.reset(new uint8_t[n]);
        size = n;
    }
    return buf.get();
}

void header(uint8_t *h, uint8_t desc, uint64_t count, uint64_t offset) {
    h[0] = desc;
    put_be64(h + 1, count);
    put_be64(h + 9, offset);
}

}  // namespace

ReceiveResult modee_receive(int sock, int file, uint64_t base, uint64_t max_offset, Progress *progress) {
    ReceiveResult res;
    constexpr size_t kBuf = size_t(4) << 20;
    uint8_t *buf = scratch(kBuf);
    uint8_t h[17];
    while (true) {
        if (!read_full(sock, h, sizeof h, true)) {
            res.closed = true;
            return res;
        }
        const uint8_t desc = h[0];
        const uint64_t count = be64(h + 1);
        const uint64_t offset = be64(h + 9);
        if (desc & kModeEEof) res.eof_expected = static_cast<int64_t>(offset);
        if (desc & kModeERestart) {  // a restart marker travels as data: skip it
            uint64_t left = count;
            while (left) {
                size_t n = static_cast<size_t>(std::min<uint64_t>(left, kBuf));
                read_full(sock, buf, n, false);
                left -= n;
            }
        } else if (count) {
            if (desc & kModeEEof) throw std::runtime_error("an EOF block carries data");
            if (offset > max_offset || count > max_offset - offset)
                throw std::runtime_error("a block's offset and count exceed the allowed file size");
            uint64_t left = count, at = offset;
            while (left) {
                size_t n = static_cast<size_t>(std::min<uint64_t>(left, kBuf));
                read_full(sock, buf, n, false);
                pwrite_full(file, buf, n, base + at);
                at += n;
                left -= n;
                res.bytes += n;
                if (progress) progress->bytes.fetch_add(n, std::memory_order_relaxed);
            }
            if (at > res.end) res.end = at;
        }
        if (desc & kModeEEod) {
            res.eod = true;
            if (desc & kModeEClose) res.closed = true;
            return res;
        }
    }
}

uint64_t modee_send(const std::vector<int> &socks, int file, uint64_t offset, uint64_t length, uint64_t block_size,
                    uint64_t block_offset_base, Progress *progress) {
    if (socks.empty()) throw std::runtime_error("no data connection to send on");
    if (block_size == 0) block_size = uint64_t(1) << 20;
    std::atomic<uint64_t> cursor{0};
    std::atomic<uint64_t> sent{0};
    // sendfile only for one stream: measured with globus-url-copy receiving (bench/gridftp.py), it doubles one
    // stream (4.4 vs 2.5 GB/s) but made -p 4 and -p 8 slower than pread + send (1.2 vs 2.2 GB/s at -p 4): the
    // receiver then spent 2.5 x the CPU per byte, in softirq work under its reads.
    std::atomic<bool> zero_copy{socks.size() == 1};
    std::mutex err_mu;
    std::string error;
    auto worker = [&](size_t index) {
        try {
            uint8_t *buf = scratch(17 + block_size);
            while (true) {
                {
                    std::lock_guard<std::mutex> lock(err_mu);
                    if (!error.empty()) return;
                }
                uint64_t start = cursor.fetch_add(block_size);
                if (start >= length) break;
                uint64_t n = std::min(block_size, length - start);
                if (zero_copy.load(std::memory_order_relaxed)) {
                    // The header (held back by MSG_MORE), then the block straight from the page cache: one copy
                    // less than pread + send, which matters when several streams share few cores.
                    header(buf, 0, n, block_offset_base + start);
                    write_full(socks[index], buf, 17, MSG_MORE);
                    off_t at = static_cast<off_t>(offset + start);
                    uint64_t left = n;
                    bool fallback = false;
                    while (left) {
                        ssize_t r = ::sendfile(socks[index], file, &at, static_cast<size_t>(left));
                        if (r < 0) {
                            if (errno == EINTR) continue;
                            if ((errno == EINVAL || errno == ENOSYS) && left == n) {  // a file sendfile cannot read
                                zero_copy.store(false);
                                fallback = true;
                                break;
                            }
                            throw std::runtime_error(sys_error("sending the file"));
                        }
                        if (r == 0) throw std::runtime_error("the file became shorter during the transfer");
                        left -= static_cast<uint64_t>(r);
                    }
                    if (fallback) {  // the header is out: the block's bytes follow the ordinary way
                        pread_full(file, buf + 17, n, offset + start);
                        write_full(socks[index], buf + 17, n);
                    }
                    sent += n;
                    if (progress) progress->bytes.fetch_add(n, std::memory_order_relaxed);
                    continue;
                }
                pread_full(file, buf + 17, n, offset + start);
                header(buf, 0, n, block_offset_base + start);
                write_full(socks[index], buf, 17 + n);
                sent += n;
                if (progress) progress->bytes.fetch_add(n, std::memory_order_relaxed);
            }
            uint8_t h[17];
            if (index == 0)
                header(h, kModeEEof | kModeEEod, 0, socks.size());
            else
                header(h, kModeEEod, 0, 0);
            write_full(socks[index], h, sizeof h);
        } catch (const std::exception &e) {
            std::lock_guard<std::mutex> lock(err_mu);
            if (error.empty()) error = e.what();
        }
    };
    std::vector<std::thread> threads;
    for (size_t i = 1; i < socks.size(); ++i) threads.emplace_back(worker, i);
    worker(0);
    for (auto &t : threads) t.join();
    if (!error.empty()) throw std::runtime_error(error);
    return sent.load();
}

}  // namespace wrapgen
