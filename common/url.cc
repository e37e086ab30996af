#include "common/url.h"

#include "absl/strings/ascii.h"

namespace gather::common {
namespace {

bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

absl::string_view AuthorityOf(absl::string_view url) {
  size_t start = url.find("://");
  if (start == absl::string_view::npos) return {};
  start += 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(start, end == absl::string_view::npos ? absl::string_view::npos : end - start);
}

void AppendPercentEncoded(absl::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

std::string PercentEncode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendPercentEncoded(text, out);
  return out;
}

std::string HostOf(absl::string_view url) {
  absl::string_view authority = AuthorityOf(url);
  if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return absl::AsciiStrToLower(authority.substr(1, close == absl::string_view::npos
                                                         ? absl::string_view::npos
                                                         : close - 1));
  }
  if (size_t colon = authority.find(':'); colon != absl::string_view::npos) {
    authority = authority.substr(0, colon);
  }
  return absl::AsciiStrToLower(authority);
}

}  // namespace gather::common
