// Small file helpers: atomic writes (temporary file + fsync + rename, so a
// reader never sees a half-written file) and exact number formatting.
#pragma once

#include <string>
#include <string_view>

namespace tsgd {

// Writes `content` to `path` atomically; throws std::runtime_error naming the
// path on any failure (unwritable directory, disk full), leaving `path` as it was.
void write_file_atomic(const std::string& path, const std::string& content);

// A file written atomically in pieces, for result files too large to hold in
// memory: appended to NAME.tmpPID (the temporary name of write_file_atomic,
// which remove_interrupted_writes knows), renamed into place by commit().
// Destroyed without commit, it removes the temporary file and PATH stays as it was.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void write(const std::string& data);
  AtomicFileWriter& operator<<(const std::string& data) {
    write(data);
    return *this;
  }
  void commit();

 private:
  void flush();
  std::string path_, temporary_;
  int fd_ = -1;
  std::string buffer_;
};

// The temporary name of an atomic write of PATH in this process.
std::string temporary_path(const std::string& path);
// Makes TEMPORARY (complete, closed) durable and renames it to PATH; throws
// naming PATH, removing TEMPORARY.
void rename_into_place(const std::string& temporary, const std::string& path);

// Reads a whole file; throws std::runtime_error naming the path.
std::string read_file(const std::string& path);

bool file_exists(const std::string& path);

// Creates a directory and its parents; throws naming the path.
void make_directories(const std::string& path);

// Shortest decimal form that reads back to the same double ("nan", "inf",
// "-inf" for non-finite values, as pandas reads them).
std::string format_double(double x);

// BYTES for messages, three significant digits: "12.3 GB" from 1e9 bytes on,
// else "45.6 MB".
std::string format_bytes(double bytes);
// A duration for messages: "0.52 s", "45 s", "12 min", "5.2 h", "44 days".
std::string format_duration(double seconds);

// S as one word for /bin/sh: in single quotes, each ' written as '\''.
std::string shell_quote(const std::string& s);

// This machine's host name ("unknown" when it cannot be read).
std::string host_name();

// FNV-1a 64-bit hash of a string, as 16 hex digits (file checksums).
std::string fnv1a_hex(std::string_view data);
// The same of a file's bytes, read in pieces (memory bounded whatever its size);
// throws naming PATH when it cannot be read.
std::string fnv1a_file_hex(const std::string& path);

}  // namespace tsgd
