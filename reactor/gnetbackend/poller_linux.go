package gnetbackend

import "github.com/evloop/evloop/poller"

// gnetPoller is the readiness API gnet uses here.
const gnetPoller = poller.Epoll
