// Package fifo is evloop's named-pipe transport: the server side of the
// well-known-FIFO handshake (used by the reactor for fifo:///path addresses)
// and a client Dial that returns a net.Conn.
//
// A FIFO carries bytes one way and has no notion of connections, so a
// connection is a pair of private FIFOs that a client creates and announces
// on the server's well-known FIFO:
//
//  1. The server creates the well-known FIFO (mode 0600 unless configured),
//     holds an exclusive flock on path+".lock" while it serves, and keeps the
//     FIFO open read-write, so it never reads EOF when no client is
//     connected. A FIFO left at the path by a server that crashed is removed
//     at start only when the lock is free and no process has the FIFO open
//     for reading; a symlink or a file of another type is refused.
//  2. A client makes a private directory (os.MkdirTemp, mode 0700) holding
//     two FIFOs, mode 0600, named from its pid and random bytes:
//     "<pid>-<hex>.c2s" (client to server) and "<pid>-<hex>.s2c" (server to
//     client). It opens the s2c read end, and opens the c2s write end
//     (possible without blocking because it first opens a placeholder read
//     end of its own).
//  3. The client writes one request line naming the pair to the well-known
//     FIFO in a single write of at most MaxRequestLen bytes. Writes of no
//     more than PIPE_BUF bytes (at least 512 on every POSIX system) are
//     atomic, so concurrent clients' lines never interleave. Since every
//     request is such a write and starts with Magic, the server finds it
//     by its Magic even after stray bytes that someone wrote with no
//     newline, which it skips.
//  4. The server validates the line and the two paths (FIFOs, not symlinks,
//     in a directory only their owner can write), opens the c2s read end and
//     then the s2c write end, both nonblocking. The write end fails with
//     ENXIO while no reader has the s2c FIFO open, which is how a client that
//     died is noticed: the server retries on a timer and gives up after the
//     handshake timeout, so a dangling request never blocks other clients.
//     Once both ends are open the server unlinks the pair and writes the
//     acknowledgement line Ack on s2c.
//  5. The client reads Ack, closes its placeholder and removes the pair and
//     its directory. From then on the pair is a byte stream both ways; closing
//     either side is read as EOF by the other.
//
// Because the server opens the read end of c2s only while the client holds
// its write end, the server never sees a spurious EOF, whatever the OS's
// rules for a FIFO that has not had a writer yet.
//
// Non-goals: authentication beyond file permissions (anyone who can write the
// well-known FIFO can connect), and Windows named pipes.
//
// Start here: a server listens on a fifo:///path address with package
// reactor (fifo:///path?mode=0660&timeout=5s), and a client calls Dial;
// ExampleDial is runnable.
package fifo
