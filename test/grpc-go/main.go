// A small grpc-go xDS client and a plain grpc-go backend for Spillway's tests (grpc-go is the reference
// gRPC xDS implementation; the interop xds module is not on the module proxy, so this is our own).
//
//	spillway-grpc-go server --host 127.0.0.1 --port 0 --id east-1
//	    TestService.UnaryCall answers with its id; prints "READY <port>". SIGUSR1: answer UNAVAILABLE from now
//	    on (up but failing), SIGUSR2: healthy again. Metadata x-hold-ms delays the answer (RPCs in flight).
//	GRPC_XDS_BOOTSTRAP=file spillway-grpc-go client --target xds:///host:port [--count N] ...
//	    Prints STARTED, then PROGRESS/RESULT lines in the same JSON as the grpc-js client fixture
//	    (test/fixtures/grpc-client-protocol.ts). SIGTERM ends the run early, still with RESULT.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	_ "google.golang.org/grpc/xds" // registers the xds:/// resolver and the xDS balancers
)

const holdHeader = "x-hold-ms"

var stdout sync.Mutex

func writeLine(line string) {
	stdout.Lock()
	defer stdout.Unlock()
	os.Stdout.WriteString(line + "\n")
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: spillway-grpc-go server|client [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "spillway-grpc-go: %v\n", err)
		os.Exit(1)
	}
}

type testServer struct {
	testgrpc.UnimplementedTestServiceServer
	id      string
	failing atomic.Bool
}

func (s *testServer) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if values := md.Get(holdHeader); len(values) > 0 {
			if ms, err := strconv.Atoi(values[0]); err == nil && ms > 0 {
				select {
				case <-time.After(time.Duration(ms) * time.Millisecond):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		}
	}
	if s.failing.Load() {
		return nil, status.Errorf(codes.Unavailable, "backend %s is failing on purpose", s.id)
	}
	return &testgrpc.SimpleResponse{ServerId: s.id, Hostname: s.id}, nil
}

func runServer(args []string) error {
	flags := flag.NewFlagSet("server", flag.ExitOnError)
	host := flags.String("host", "127.0.0.1", "address to listen on")
	port := flags.Int("port", 0, "port (0: any free one)")
	id := flags.String("id", "", "identity returned in every answer")
	failing := flags.Bool("failing", false, "start up but failing (UNAVAILABLE)")
	flags.Parse(args)
	if *id == "" {
		return fmt.Errorf("--id is required")
	}
	var listener net.Listener
	var err error
	// A restarted backend re-binds its old port; the kernel may not have released it yet.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		listener, err = net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		return err
	}
	server := grpc.NewServer()
	service := &testServer{id: *id}
	service.failing.Store(*failing)
	testgrpc.RegisterTestServiceServer(server, service)
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range signals {
			switch sig {
			case syscall.SIGUSR1:
				service.failing.Store(true)
				writeLine("FAILING true")
			case syscall.SIGUSR2:
				service.failing.Store(false)
				writeLine("FAILING false")
			default:
				server.Stop()
				return
			}
		}
	}()
	writeLine(fmt.Sprintf("READY %d", listener.Addr().(*net.TCPAddr).Port))
	return server.Serve(listener)
}

// tally has the JSON shape of test/harness/tally.ts.
type tally struct {
	ByID     map[string]int `json:"byId"`
	Failures int            `json:"failures"`
	Statuses map[string]int `json:"statuses"`
	Errors   []string       `json:"errors"`
}

const maxErrorsKept = 5

func newTally() *tally {
	return &tally{ByID: map[string]int{}, Statuses: map[string]int{}, Errors: []string{}}
}

func (t *tally) merge(from *tally) {
	for id, n := range from.ByID {
		t.ByID[id] += n
	}
	for s, n := range from.Statuses {
		t.Statuses[s] += n
	}
	t.Failures += from.Failures
	for _, e := range from.Errors {
		if len(t.Errors) < maxErrorsKept {
			t.Errors = append(t.Errors, e)
		}
	}
}

// statusName spells codes as grpc-js does (UNAVAILABLE, DEADLINE_EXCEEDED), so tallies compare.
func statusName(code codes.Code) string {
	var out strings.Builder
	for i, r := range code.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			out.WriteByte('_')
		}
		out.WriteRune(r)
	}
	return strings.ToUpper(out.String())
}

func runClient(args []string) error {
	flags := flag.NewFlagSet("client", flag.ExitOnError)
	target := flags.String("target", "", "e.g. xds:///echo.shop.svc.cluster.local:50051")
	count := flags.Int("count", 10, "calls in total")
	intervalMs := flags.Int("interval-ms", 0, "pause between the calls of each worker")
	deadlineMs := flags.Int("deadline-ms", 2000, "per-call deadline")
	progressEvery := flags.Int("progress-every", 10, "a PROGRESS line after this many calls")
	concurrency := flags.Int("concurrency", 1, "calls in flight at once")
	holdMs := flags.Int("hold-ms", 0, "ask the backend to hold each call this long")
	flags.Parse(args)
	if *target == "" {
		return fmt.Errorf("--target is required")
	}
	conn, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := testgrpc.NewTestServiceClient(conn)

	stop := make(chan struct{})
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		close(stop)
	}()

	var mu sync.Mutex
	total, batch := newTally(), newTally()
	completed := 0
	flush := func() { // with mu held
		line, _ := json.Marshal(map[string]any{"completed": completed, "batch": batch})
		writeLine("PROGRESS " + string(line))
		total.merge(batch)
		batch = newTally()
	}
	var started atomic.Int64
	var workers sync.WaitGroup
	writeLine("STARTED")
	for w := 0; w < max(1, *concurrency); w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for first := true; ; first = false {
				select {
				case <-stop:
					return
				default:
				}
				if started.Add(1) > int64(*count) {
					return
				}
				if !first && *intervalMs > 0 {
					time.Sleep(time.Duration(*intervalMs) * time.Millisecond)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*deadlineMs)*time.Millisecond)
				if *holdMs > 0 {
					ctx = metadata.AppendToOutgoingContext(ctx, holdHeader, strconv.Itoa(*holdMs))
				}
				reply, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{FillServerId: true})
				cancel()
				mu.Lock()
				if err == nil {
					batch.ByID[reply.GetServerId()]++
					batch.Statuses["OK"]++
				} else {
					batch.Failures++
					batch.Statuses[statusName(status.Code(err))]++
					if len(batch.Errors) < maxErrorsKept {
						batch.Errors = append(batch.Errors, err.Error())
					}
				}
				completed++
				if completed%max(1, *progressEvery) == 0 {
					flush()
				}
				mu.Unlock()
			}
		}()
	}
	workers.Wait()
	mu.Lock()
	if completed%max(1, *progressEvery) != 0 {
		flush()
	}
	line, _ := json.Marshal(total)
	mu.Unlock()
	writeLine("RESULT " + string(line))
	return nil
}
