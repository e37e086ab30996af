// Resume support for `gather lookup`: a bitmap of finished input ordinals, rebuilt by scanning the
// output files of an earlier run (not a set of keys: ~125 KB per million ordinals), and repair of
// a torn last record left by a kill.
#ifndef GATHER_CLIENT_LOOKUP_RESUME_H_
#define GATHER_CLIENT_LOOKUP_RESUME_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/lookup/row_format.h"

namespace gather::client {

// Bits in pages of 65,536 seqs (8 KiB) made when first used, so memory follows the seqs present:
// one stray large seq costs a page, not a bitmap reaching up to it.
class SeqBitmap {
 public:
  // Marks `seq`; returns false when it was already marked.
  bool Set(uint64_t seq);
  bool Test(uint64_t seq) const {
    size_t page = static_cast<size_t>(seq >> kPageBits);
    if (page >= pages_.size() || pages_[page] == nullptr) return false;
    uint64_t bit = seq & (kPageSeqs - 1);
    return ((*pages_[page])[bit / 64] >> (bit % 64) & 1) != 0;
  }
  uint64_t count() const { return count_; }

 private:
  static constexpr int kPageBits = 16;
  static constexpr uint64_t kPageSeqs = uint64_t{1} << kPageBits;
  using Page = std::array<uint64_t, kPageSeqs / 64>;

  std::vector<std::unique_ptr<Page>> pages_;
  uint64_t count_ = 0;
};

struct ScanResult {
  uint64_t rows = 0;         // complete result records found
  uint64_t duplicates = 0;   // records whose seq was already marked
  uint64_t torn_bytes = 0;   // bytes cut from the end (a torn last record; paged: the last key)
  bool has_header = false;   // CSV: the file starts with a complete header row
};

// Scans an output file written by `gather lookup` in `format` and marks every seq in `done`. A
// torn last record is cut off (the file is truncated to the last complete record) unless
// `dry_run`. A CSV file must start with `csv_header` (without its newline). A missing file scans
// as empty. INVALID_ARGUMENT when the file is not gather output in that format (the file is
// left as it was; `done` may hold part of its seqs).
//
// `keys_whole` (the rows of a paged run): a key may have several rows, one after the other, and
// a kill may have cut the file inside the last key's rows; so the last key's rows are cut too
// and that key is not marked (it is fetched again whole). Rows of one seq in a row are one key.
absl::StatusOr<ScanResult> ScanOutput(const std::string& path, OutputFormat format,
                                      const std::vector<std::string>& csv_header,
                                      SeqBitmap& done, bool dry_run = false,
                                      bool keys_whole = false);

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_RESUME_H_
