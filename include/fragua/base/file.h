// SPDX-License-Identifier: Apache-2.0
// File access through a small interface (DESIGN 10, after LevelDB's Env), so that tests can
// inject short reads, full disks and crashes into checkpoint and shard writing. Everything
// Fragua writes goes through AtomicFile: a temporary beside the target, renamed on commit, so an
// interrupted or failed job never leaves a partial output behind. FileLock keeps two processes
// out of the same output (a training run directory).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status append(std::string_view data) = 0;
  virtual Status sync() = 0;  // flush to stable storage
  virtual Status close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  virtual Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path, bool append = false) = 0;
  // Creates `path`, which must not exist yet (O_EXCL: an existing file or a planted symlink is an
  // error, never followed). `mode` >= 0: exactly these permission bits (fchmod, past the umask);
  // -1: the default 0644 less the umask. Test Envs may keep this default, which forwards to
  // new_writable_file.
  virtual Result<std::unique_ptr<WritableFile>> new_exclusive_file(const std::string& path, int mode = -1) {
    (void)mode;
    return new_writable_file(path, false);
  }
  virtual Result<std::string> read_file(const std::string& path) = 0;
  virtual Status rename_file(const std::string& from, const std::string& to) = 0;
  virtual Status remove_file(const std::string& path) = 0;
  virtual bool file_exists(const std::string& path) = 0;
  virtual Result<uint64_t> file_size(const std::string& path) = 0;
  virtual Status create_dirs(const std::string& path) = 0;

  // One entry of a directory, neither "." nor "..". `is_directory` describes the entry itself
  // (lstat): a symlink to a directory is not one, so recursive removal never leaves the tree.
  struct DirEntry {
    std::string name;
    bool is_directory = false;
    bool is_regular = false;  // a plain file: not a symlink, device, pipe or socket
  };
  // The entries of the directory `path`, sorted by name (so callers and tests see one order).
  virtual Result<std::vector<DirEntry>> list_dir(const std::string& path) = 0;
  virtual bool is_directory(const std::string& path) = 0;  // follows symlinks, as stat does
  virtual Status remove_dir(const std::string& path) = 0;  // an empty directory (rmdir)

  // The process-wide POSIX implementation.
  static Env& posix();
};

// Writes `path` through a temporary file "<path>.tmp-<pid>-<16 random hex digits>" that commit()
// renames into place. If commit() is never called (error, exception) the target is untouched and
// the destructor removes the temporary. The temporary is created with O_EXCL | O_NOFOLLOW under
// an unpredictable name, so a file or symlink planted in a shared directory cannot redirect the
// write; a replaced output keeps its permission bits. Live temporaries are listed in a fixed
// table that a SIGINT/SIGTERM handler (installed on first use, only where the signal still has
// its default action) unlinks before the signal ends the process; temporaries of processes that
// died anyway (SIGKILL, power loss) are removed by the next create() of the same output.
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
  AtomicFile(Env* env, std::string path, std::string tmp, std::unique_ptr<WritableFile> file, int slot);
  void abandon();
  Env* env_;
  std::string path_, tmp_path_;
  std::unique_ptr<WritableFile> file_;
  uint64_t written_ = 0;
  int slot_ = -1;  // entry in the table of live temporaries the signal handler removes; -1: none
};

// Unlinks every live AtomicFile temporary now. Async-signal-safe: for a program's own SIGINT
// handler that is about to end the process (where AtomicFile's handler was not installed).
void remove_live_temporaries();

// Removes "<path>.tmp-<pid>-*" files left by processes that no longer run (a killed writer).
// Returns how many were removed. AtomicFile::create calls it; exposed for tests.
size_t remove_stale_temporaries(const std::string& path);

// An exclusive advisory lock (flock(LOCK_EX | LOCK_NB), after LevelDB's LOCK file) on the file
// `path`, created if absent and holding the owner's pid, released when the object dies or the
// process ends however it ends. The file itself stays: unlinking it would let a third process
// lock a new inode while a second still holds the old one.
class FileLock {
 public:
  // `subject` names what the lock guards in the error ("runs/x is in use by another run (pid
  // 4242)"), `holder` what the other owner is ("run", "process").
  static Result<FileLock> acquire(const std::string& path, std::string_view subject,
                                  std::string_view holder = "process");
  FileLock(FileLock&&) noexcept;
  FileLock& operator=(FileLock&&) noexcept;
  ~FileLock();
  const std::string& path() const { return path_; }

 private:
  FileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

Status write_file_atomic(const std::string& path, std::string_view data, Env& env = Env::posix());
Result<std::string> read_file(const std::string& path, Env& env = Env::posix());

// Removes `path` and, when it is a directory, everything below it, through env's list_dir,
// remove_file and remove_dir (so a test Env can fail any one step); symlinks are removed, never
// followed. A missing `path` is not an error. Stops at the first failure, naming its path: what
// was removed before it stays removed.
Status remove_tree(const std::string& path, Env& env = Env::posix());

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
