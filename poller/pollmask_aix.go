package poller

// pollMask is the type of a pollfd's events and revents: unsigned on AIX.
type pollMask = uint16
