//go:build unix

package upgrade_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/upgrade"
)

// A server that upgrades itself on SIGHUP: the new process takes over the
// listening socket, and this one stops accepting, serves its conns on until
// they end (or a deadline passes) and exits.
func Example() {
	up, err := upgrade.New(upgrade.Options{PIDFile: "/run/echo.pid"})
	if err != nil {
		log.Fatal(err)
	}
	defer up.Stop()
	addrs, err := up.Listen([]string{"tcp://127.0.0.1:7000?proxy=optional"})
	if err != nil {
		log.Fatal(err)
	}
	// The balancers, the only peers whose PROXY headers count.
	balancers := reactor.WithProxyTrusted(netip.MustParsePrefix("10.0.0.0/8"))
	eng, err := reactor.Start(echo{}, addrs, reactor.WithProxy(balancers))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening", eng.Addrs()[0]) // the same address in every generation
	if err := up.Ready(); err != nil {       // the old process, if any, drains now
		log.Print(err)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	for {
		select {
		case <-hup:
			if err := up.Upgrade(); err != nil {
				log.Print("upgrade failed, serving on: ", err)
			}
			continue
		case <-up.Exit(): // the new process serves
		}
		break
	}
	// Stop accepting and serve the conns on until they end, for a while:
	// a request in flight on a persistent conn is still answered.
	drain, cancelDrain := context.WithTimeout(context.Background(), upgrade.DefaultDrainTimeout)
	defer cancelDrain()
	if err := eng.Drain(drain); err != nil {
		log.Print("closing the conns left after the drain: ", eng.Conns())
	}
	ctx, cancel := context.WithTimeout(context.Background(), reactor.DefaultDrainTimeout)
	defer cancel()
	eng.Stop(ctx) // closes them gracefully: their output is flushed first
}
