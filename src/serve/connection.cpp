// SPDX-License-Identifier: Apache-2.0
// The sock_diag lookup of one TCP socket by its 4-tuple: an inet_diag_req_v2 without NLM_F_DUMP
// (Linux's inet_diag_dump_one_icsk; man 7 sock_diag). A client that half-closes its side after
// the request counts as gone, as in cpp-httplib's later Request::is_connection_closed.
#include "serve/connection.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fragua::serve {

bool client_closed(const httplib::Request& req) {
  const bool v6 = req.local_addr.find(':') != std::string::npos;
  const int family = v6 ? AF_INET6 : AF_INET;
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 r;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.r.sdiag_family = static_cast<uint8_t>(family);
  msg.r.sdiag_protocol = IPPROTO_TCP;
  msg.r.idiag_states = ~0u;
  msg.r.id.idiag_sport = htons(static_cast<uint16_t>(req.local_port));
  msg.r.id.idiag_dport = htons(static_cast<uint16_t>(req.remote_port));
  msg.r.id.idiag_cookie[0] = msg.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  if (req.local_port <= 0 || req.remote_port <= 0 ||
      inet_pton(family, req.local_addr.c_str(), msg.r.id.idiag_src) != 1 ||
      inet_pton(family, req.remote_addr.c_str(), msg.r.id.idiag_dst) != 1)
    return false;

  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return false;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  bool closed = false;
  if (sendto(fd, &msg, sizeof msg, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) ==
      static_cast<ssize_t>(sizeof msg)) {
    alignas(nlmsghdr) char buf[1024];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
    if (n >= static_cast<ssize_t>(sizeof(nlmsghdr)) && NLMSG_OK(h, static_cast<size_t>(n))) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        // ENOENT: no socket with these addresses any more (reset, or closed and reaped).
        const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        closed = h->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr)) && err->error == -ENOENT;
      } else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
        const auto* d = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        closed = d->idiag_state != TCP_ESTABLISHED;
      }
    }
  }
  close(fd);
  return closed;
}

}  // namespace fragua::serve
