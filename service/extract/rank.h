// Ranking scored jobs: top N by score, ties broken by id, then url. Pure.
#ifndef GATHER_SERVICE_EXTRACT_RANK_H_
#define GATHER_SERVICE_EXTRACT_RANK_H_

#include <cstddef>
#include <string>
#include <vector>

namespace gather::extract {

struct Scored {
  std::string id;
  std::string url;
  double score = 0;
};

// Returns the best `top_n` entries of `items` (all of them when top_n == 0), highest score first
// unless `ascending`. Equal scores are ordered by id, then url, ascending.
std::vector<Scored> TopN(std::vector<Scored> items, size_t top_n, bool ascending);

}  // namespace gather::extract

#endif  // GATHER_SERVICE_EXTRACT_RANK_H_
