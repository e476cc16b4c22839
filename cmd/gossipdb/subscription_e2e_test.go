package main_test

import (
	"bufio"
	"os/exec"
	"testing"
	"time"
)

// TestQuerySubscription runs `gossipdb client query 'subscription { … }'`
// against a running node: it prints one JSON line per matching document
// created, until it is stopped.
func TestQuerySubscription(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)

	cmd := exec.Command(bin, "client", "query", `subscription { User(filter: {age: {_gt: 30}}) { name age } }`, "--url", url)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The subscription starts once the command has connected: create
	// documents until one is printed.
	ok(t, "client", "collection", "create", "--name", "User", `{"name": "Bob", "age": 20}`, "--url", url)
	deadline := time.Now().Add(commandTimeout)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no answer printed")
		}
		ok(t, "client", "collection", "create", "--name", "User", `{"name": "Ada", "age": 36}`, "--url", url)
		select {
		case l, open := <-lines:
			if !open {
				t.Fatal("the subscription ended")
			}
			if l != `{"data":{"User":[{"name":"Ada","age":36}]}}` {
				t.Fatalf("printed %q", l)
			}
		case <-time.After(time.Second):
			continue
		}
		break
	}
}
