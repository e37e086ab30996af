#include "tests/support/entity_fixture.h"

#include <atomic>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace gather::testing {
namespace {

const char* const kCities[] = {"Berlin", "Paris", "Zürich", "Kraków", "New \"York\"", "São Paulo"};

}  // namespace

EntityKind EntityFixture::KindOf(uint64_t id) {
  if (id % 97 == 13) return EntityKind::kNotFound;
  if (id % 89 == 7) return EntityKind::kNoLocation;
  if (id % 83 == 5) return EntityKind::kNotJson;
  return EntityKind::kOk;
}

const std::vector<std::pair<std::string, std::string>>& EntityFixture::Fields() {
  static const auto* fields = new std::vector<std::pair<std::string, std::string>>{
      {"label", "/label"},
      {"geo", "/location/geoLabel"},
      {"street", "/location/streetAddress"},
      {"city", "/location/cityLabel"},
      {"postal", "/location/postalCode"},
      {"country", "/location/countryLabel"},
      {"lat", "/latitude"},
      {"lon", "/longitude"},
      {"big", "/big"},
  };
  return *fields;
}

std::vector<std::string> EntityFixture::ExpectedValues(uint64_t id) {
  std::string city = kCities[id % 6];
  std::string city_json = city == "New \"York\"" ? "\"New \\\"York\\\"\"" : absl::StrCat("\"", city, "\"");
  return {
      absl::StrCat("\"Entity ", id, "\""),
      absl::StrCat("{\"type\":\"Point\",\"coordinates\":[", id % 180, ",", id % 90, "]}"),
      absl::StrCat("\"", id % 1000, " Main St, Suite ", id % 7, "\""),
      city_json,
      absl::StrCat("\"", 10000 + id % 90000, "\""),
      "\"Somewhere\"",
      absl::StrCat(static_cast<double>(id % 90) + 0.5),
      absl::StrCat("-", static_cast<double>(id % 180) + 0.25),
      // Above 2^53: survives only if copied as text.
      absl::StrCat("1844674407370955", 1000 + id % 1000),
  };
}

std::string EntityFixture::Body(uint64_t id) {
  switch (KindOf(id)) {
    case EntityKind::kNotFound:
      return "{\"error\":\"not found\"}";
    case EntityKind::kNotJson:
      return "<html>upstream hiccup</html>";
    case EntityKind::kNoLocation:
      return absl::StrCat("{\"id\":", id, ",\"label\":\"Entity ", id, "\",\"location\":null}");
    case EntityKind::kOk:
      break;
  }
  std::vector<std::string> v = ExpectedValues(id);
  return absl::StrCat("{\"id\":", id, ",\"label\":", v[0], ",\"location\":{\"geoLabel\":", v[1],
                      ",\"streetAddress\":", v[2], ",\"cityLabel\":", v[3],
                      ",\"postalCode\":", v[4], ",\"countryLabel\":", v[5],
                      "},\"latitude\":", v[6], ",\"longitude\":", v[7], ",\"big\":", v[8],
                      ",\"padding\":\"", std::string(120, 'x'), "\"}");
}

void EntityFixture::Install(TestUpstream& upstream) {
  auto counter = std::make_shared<std::atomic<int>>(0);
  upstream.Get(R"(/api/v2/entities/([^/?]*))",
               [this, counter](const httplib::Request& request, httplib::Response& response) {
                 int number = ++*counter;
                 if (hook_) hook_(number);
                 uint64_t id = 0;
                 if (!absl::SimpleAtoi(request.matches[1].str(), &id)) {
                   response.status = 404;
                   response.set_content("{\"error\":\"not found\"}", "application/json");
                   return;
                 }
                 response.status = KindOf(id) == EntityKind::kNotFound ? 404 : 200;
                 response.set_content(Body(id), "application/json");
               });
}

}  // namespace gather::testing
