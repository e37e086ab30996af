// Owning handles for libcurl objects (std::unique_ptr with curl's own cleanup functions).
#ifndef GATHER_SERVICE_FETCH_CURL_HANDLES_H_
#define GATHER_SERVICE_FETCH_CURL_HANDLES_H_

#include <curl/curl.h>

#include <memory>

namespace gather::fetch {

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_CURL_HANDLES_H_
