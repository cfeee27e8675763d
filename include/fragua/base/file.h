// File access through a small interface (DESIGN 10, after LevelDB's Env), so that tests can
// inject short reads, full disks and crashes into checkpoint and shard writing. Everything
// Fragua writes goes through AtomicFile: a temporary beside the target, renamed on commit, so an
// interrupted or failed job never leaves a partial output behind.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fragua/base/error.h"

namespace fragua {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status append(std::string_view data) = 0;
  virtual Status sync() = 0;   // flush to stable storage
  virtual Status close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  virtual Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path, bool append = false) = 0;
  virtual Result<std::string> read_file(const std::string& path) = 0;
  virtual Status rename_file(const std::string& from, const std::string& to) = 0;
  virtual Status remove_file(const std::string& path) = 0;
  virtual bool file_exists(const std::string& path) = 0;
  virtual Result<uint64_t> file_size(const std::string& path) = 0;
  virtual Status create_dirs(const std::string& path) = 0;

  // The process-wide POSIX implementation.
  static Env& posix();
};

// Writes `path` through a temporary file "<path>.tmp-<pid>-<n>" that commit() renames into
// place. If commit() is never called (error, exception, crash) the target is untouched and the
// destructor removes the temporary.
class AtomicFile {
 public:
  static Result<AtomicFile> create(const std::string& path, Env& env = Env::posix());
  AtomicFile(AtomicFile&&) noexcept;
  AtomicFile& operator=(AtomicFile&&) noexcept;
  ~AtomicFile();

  Status append(std::string_view data);
  Status commit();  // sync, close, rename
  const std::string& path() const { return path_; }
  uint64_t bytes_written() const { return written_; }

 private:
  AtomicFile(Env* env, std::string path, std::string tmp, std::unique_ptr<WritableFile> file);
  void abandon();
  Env* env_;
  std::string path_, tmp_path_;
  std::unique_ptr<WritableFile> file_;
  uint64_t written_ = 0;
};

Status write_file_atomic(const std::string& path, std::string_view data, Env& env = Env::posix());
Result<std::string> read_file(const std::string& path, Env& env = Env::posix());

// A read-only memory map of a whole file; falls back to reading into memory when mmap is
// unavailable (e.g. some pipes). Moves, never copies.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);
  MappedFile() = default;
  MappedFile(MappedFile&&) noexcept;
  MappedFile& operator=(MappedFile&&) noexcept;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::string& path() const { return path_; }
  // Ask the OS to fault the pages in ahead of use.
  void prefetch() const;
  // Hands the whole pages inside [p, p + n) back to the OS (MADV_DONTNEED): for data that was
  // copied elsewhere and will not be read here again. A later read would fault them back in.
  void release(const void* p, uint64_t n) const;

 private:
  void reset();
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;
  std::unique_ptr<uint8_t[]> owned_;
};

}  // namespace fragua
