// A go-control-plane ADS server for Spillway's benchmarks. It serves exactly the resources that Spillway
// builds for the same mesh (the harness hands them over as encoded Any messages), one snapshot per mesh
// cluster, so both servers push the same bytes and only the serving machinery differs.
//
// Protocol on stdin/stdout, one line each:
//
//	load FILE   upsert the resources listed in FILE (JSON lines: view, type, name, base64 Any); every
//	            type whose content changed in a view gets a new version there, so only it is pushed.
//	            Answers "ok VIEWS RESOURCES".
//	quit        exits.
//
// At start it prints "listening PORT". Clients pick their snapshot with node.metadata.CLUSTER_ID.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	// The top-level resource types must be registered for anypb.UnmarshalNew.
	_ "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// clusterIDHash keys snapshots by node.metadata.CLUSTER_ID, as Spillway keys its views.
type clusterIDHash struct{}

func (clusterIDHash) ID(node *corev3.Node) string {
	if node == nil || node.GetMetadata() == nil {
		return ""
	}
	if value, ok := node.GetMetadata().GetFields()["CLUSTER_ID"]; ok {
		return value.GetStringValue()
	}
	return ""
}

type resourceLine struct {
	View string `json:"view"`
	Type string `json:"type"`
	Name string `json:"name"`
	Any  string `json:"any"`
}

// viewState is what one view serves: resources per type, and a version per type bumped on change.
type viewState struct {
	resources map[string]map[string]types.Resource
	encoded   map[string]map[string]string
	versions  map[string]int
}

type peer struct {
	cache cachev3.SnapshotCache
	views map[string]*viewState
}

func newViewState() *viewState {
	return &viewState{resources: map[string]map[string]types.Resource{}, encoded: map[string]map[string]string{}, versions: map[string]int{}}
}

// load upserts the resources of a file and publishes a new snapshot for each view that changed.
func (p *peer) load(path string) (int, int, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer file.Close()
	changedTypes := map[string]map[string]bool{}
	count := 0
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	for scanner.Scan() {
		var line resourceLine
		if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
			return 0, 0, fmt.Errorf("bad line: %w", err)
		}
		view := p.views[line.View]
		if view == nil {
			view = newViewState()
			p.views[line.View] = view
		}
		if view.encoded[line.Type][line.Name] == line.Any {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(line.Any)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: bad base64: %w", line.Name, err)
		}
		var any anypb.Any
		if err := proto.Unmarshal(raw, &any); err != nil {
			return 0, 0, fmt.Errorf("%s: bad Any: %w", line.Name, err)
		}
		message, err := any.UnmarshalNew()
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", line.Name, err)
		}
		if view.resources[line.Type] == nil {
			view.resources[line.Type] = map[string]types.Resource{}
			view.encoded[line.Type] = map[string]string{}
		}
		view.resources[line.Type][line.Name] = message
		view.encoded[line.Type][line.Name] = line.Any
		if changedTypes[line.View] == nil {
			changedTypes[line.View] = map[string]bool{}
		}
		changedTypes[line.View][line.Type] = true
		count++
	}
	if err := scanner.Err(); err != nil {
		return 0, 0, err
	}
	views := make([]string, 0, len(changedTypes))
	for view := range changedTypes {
		views = append(views, view)
	}
	sort.Strings(views)
	for _, name := range views {
		view := p.views[name]
		for typeURL := range changedTypes[name] {
			view.versions[typeURL]++
		}
		if err := p.cache.SetSnapshot(context.Background(), name, view.snapshot()); err != nil {
			return 0, 0, err
		}
	}
	return len(views), count, nil
}

// snapshot builds a go-control-plane snapshot with a version per type, so an EDS-only change
// re-sends only EDS (as Spillway does).
func (v *viewState) snapshot() *cachev3.Snapshot {
	snapshot := &cachev3.Snapshot{}
	for typeURL, named := range v.resources {
		items := make([]types.Resource, 0, len(named))
		for _, resource := range named {
			items = append(items, resource)
		}
		index := cachev3.GetResponseType(typeURL)
		snapshot.Resources[index] = cachev3.NewResources(strconv.Itoa(v.versions[typeURL]), items)
	}
	return snapshot
}

func main() {
	address := flag.String("listen", "127.0.0.1:0", "host:port for the xDS gRPC server")
	flag.Parse()

	ctx := context.Background()
	p := &peer{cache: cachev3.NewSnapshotCache(true, clusterIDHash{}, nil), views: map[string]*viewState{}}
	server := serverv3.NewServer(ctx, p.cache, nil)

	grpcServer := grpc.NewServer(
		grpc.MaxRecvMsgSize(64<<20),
		grpc.MaxConcurrentStreams(1_000_000),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{PermitWithoutStream: true}),
	)
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(grpcServer, server)
	clusterservice.RegisterClusterDiscoveryServiceServer(grpcServer, server)
	endpointservice.RegisterEndpointDiscoveryServiceServer(grpcServer, server)
	listenerservice.RegisterListenerDiscoveryServiceServer(grpcServer, server)
	routeservice.RegisterRouteDiscoveryServiceServer(grpcServer, server)

	listener, err := net.Listen("tcp", *address)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot listen on %s: %v\n", *address, err)
		os.Exit(1)
	}
	go func() {
		if err := grpcServer.Serve(listener); err != nil {
			fmt.Fprintf(os.Stderr, "grpc server stopped: %v\n", err)
			os.Exit(1)
		}
	}()
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)

	commands := bufio.NewScanner(os.Stdin)
	for commands.Scan() {
		fields := strings.Fields(commands.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "load":
			if len(fields) != 2 {
				fmt.Println("error load needs FILE")
				continue
			}
			views, resources, err := p.load(fields[1])
			if err != nil {
				fmt.Printf("error %v\n", err)
				continue
			}
			fmt.Printf("ok %d %d\n", views, resources)
		case "quit":
			grpcServer.Stop()
			return
		default:
			fmt.Printf("error unknown command %q\n", fields[0])
		}
	}
	// stdin closed: the harness is gone, so is the reason to serve.
	grpcServer.Stop()
}
