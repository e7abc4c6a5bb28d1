// GridFTP extended block mode (MODE E, GFD.020): the data channel's block framing and I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace wrapgen {

// Descriptor bits of a MODE E block header (1 byte descriptor, 8 byte count, 8 byte offset, big-endian).
constexpr uint8_t kModeEEof = 64;
constexpr uint8_t kModeESuspect = 32;
constexpr uint8_t kModeERestart = 16;
constexpr uint8_t kModeEEod = 8;
constexpr uint8_t kModeEClose = 4;

struct ReceiveResult {
    uint64_t bytes = 0;        // data bytes written to the file
    bool eod = false;          // the connection ended its part with EOD (it may be reused)
    int64_t eof_expected = -1; // from an EOF block: how many EODs the whole transfer has; -1 if none here
    bool closed = false;       // the peer closed the connection (no more transfers on it)
    uint64_t end = 0;          // highest file offset written + 1
};

// Bytes moved so far by a transfer's connections, read by another thread for performance markers (112).
struct Progress {
    std::atomic<uint64_t> bytes{0};
};

// Read blocks from one data connection until EOD or close, writing data at base + block offset with pwrite.
// Throws std::runtime_error with a message on a malformed header or an I/O error.
ReceiveResult modee_receive(int sock, int file, uint64_t base, uint64_t max_offset, Progress *progress = nullptr);

// Send [offset, offset + length) of file over the connections, blocks of block_size taken from a shared
// cursor by one thread per connection; each connection then sends EOD, the first one EOF|EOD carrying the
// number of connections. Returns the data bytes sent. Throws std::runtime_error on an I/O error.
uint64_t modee_send(const std::vector<int> &socks, int file, uint64_t offset, uint64_t length, uint64_t block_size,
                    uint64_t block_offset_base, Progress *progress = nullptr);

}  // namespace wrapgen
