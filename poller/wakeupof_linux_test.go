package poller

func platformWakeupOf(p Poller) *wakeup { return p.(*epoll).wake }
