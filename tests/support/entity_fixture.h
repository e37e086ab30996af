// An entity REST API for BatchLookup tests and the demo: GET /api/v2/entities/{id} answers with a
// deterministic JSON entity for numeric ids (the shape our users' API returns), and with a
// known mix of failures so every key's expected row is computable:
//   id % 97 == 13 -> 404; id % 89 == 7 -> no "location" (MISSING with --require /location);
//   id % 83 == 5 -> a body that is not JSON; anything not a number -> 404.
#ifndef GATHER_TESTS_SUPPORT_ENTITY_FIXTURE_H_
#define GATHER_TESTS_SUPPORT_ENTITY_FIXTURE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/upstream.h"

namespace gather::testing {

enum class EntityKind { kOk, kNotFound, kNoLocation, kNotJson };

class EntityFixture {
 public:
  // Called for every request before it is answered (from upstream worker threads).
  using RequestHook = std::function<void(int request_number)>;

  EntityFixture() = default;
  void set_hook(RequestHook hook) { hook_ = std::move(hook); }
  // Installs GET /api/v2/entities/(id).
  void Install(TestUpstream& upstream);

  static EntityKind KindOf(uint64_t id);
  static std::string Body(uint64_t id);
  // The 9 fields our users keep, as (name, JSON pointer), and the JSON text of each for `id`.
  static const std::vector<std::pair<std::string, std::string>>& Fields();
  static std::vector<std::string> ExpectedValues(uint64_t id);

 private:
  RequestHook hook_;
};

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_ENTITY_FIXTURE_H_
