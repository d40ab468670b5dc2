package poller

import "golang.org/x/sys/unix"

// pollRDHUP is asked for with read interest so a half-close is reported as
// ReadHangup, as EPOLLRDHUP does for epoll.
const pollRDHUP = unix.POLLRDHUP
