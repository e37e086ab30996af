#include "service/extract/rank.h"

#include <algorithm>

namespace gather::extract {

std::vector<Scored> TopN(std::vector<Scored> items, size_t top_n, bool ascending) {
  auto better = [ascending](const Scored& a, const Scored& b) {
    if (a.score != b.score) return ascending ? a.score < b.score : a.score > b.score;
    if (a.id != b.id) return a.id < b.id;
    return a.url < b.url;
  };
  size_t n = top_n == 0 ? items.size() : std::min(top_n, items.size());
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n), items.end(),
                    better);
  items.resize(n);
  return items;
}

}  // namespace gather::extract
