package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestEchoLoopGenerator: echo's default load generator (an evloop engine
// of its own) drives an evloop server: every conn opens, messages come
// back, and the figures it reports are positive.
func TestEchoLoopGenerator(t *testing.T) {
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serveEvloop(ctx, addr) }()
	defer func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the server did not stop")
		}
	}()
	var rate, cpuPer float64
	for deadline := time.Now().Add(10 * time.Second); ; { // until it listens
		rate, cpuPer, err = echoLoop(addr, os.Getpid(), 20, 300*time.Millisecond)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if rate <= 0 || cpuPer <= 0 {
		t.Fatalf("rate %v msgs/s, %v µs of CPU per message", rate, cpuPer)
	}
}
