// SPDX-License-Identifier: Apache-2.0
// Whether the client of a request still being handled has gone, for handlers that have written
// nothing yet (cpp-httplib 0.11, Debian's, gives a handler no socket; a content provider's
// DataSink::is_writable only exists once the status line is out).
#pragma once

#include <httplib.h>

namespace fragua::serve {

// True when the kernel's TCP socket of `req`'s connection (found by its two addresses and ports
// through the sock_diag netlink interface, as `ss` does) is past ESTABLISHED: the client closed it
// (CLOSE_WAIT), reset it, or it is gone. False while it is open, and when the lookup itself fails
// (no sock_diag in a sandbox): the request then runs on, and a disconnect shows at the first write.
bool client_closed(const httplib::Request& req);

}  // namespace fragua::serve
