// HTTP(S) downloads (cpp-httplib).
#pragma once

#include <string>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/base/progress.h"

namespace fragua {

// GETs url (http or https, following redirects) into path through an AtomicFile; nothing is
// left at path unless the whole body arrived with a 200 status. Errors name the URL and the
// HTTP status or the byte where the body stopped.
Status http_download(const std::string& url, const std::string& path, ProgressBar* bar = nullptr,
                     Env& env = Env::posix());

}  // namespace fragua
