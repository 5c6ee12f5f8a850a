// A go-control-plane ADS server for Spillway's benchmarks. It serves the resources that Spillway builds
// for the same mesh (the harness hands them over as encoded Any messages), one view per mesh cluster, so
// only the serving machinery differs. Both ADS servers are registered: state of the world and delta.
//
// -cache picks how go-control-plane holds them:
//
//	snapshot  a SnapshotCache, one snapshot per view with a version per type: a change to one EDS
//	          resource re-sends every EDS resource a SotW client subscribes to.
//	linear    a LinearCache per (view, type) behind a mux: versions per resource, and only watches of
//	          the changed names (and wildcard watches) are woken, with only the changed resources for
//	          EDS and RDS (CDS and LDS are full state in SotW, as the protocol requires).
//
// Protocol on stdin/stdout, one line each:
//
//	load FILE   upsert the resources listed in FILE (JSON lines: view, type, name, base64 Any); only
//	            resources whose bytes changed are handed to the cache. Answers "ok VIEWS RESOURCES".
//	mem         runs runtime.GC(), then answers "mem HEAP_ALLOC HEAP_INUSE HEAP_SYS SYS" in bytes
//	            (runtime.MemStats): the live heap, as the harness reads it for every server.
//	quit        exits.
//
// At start it prints "listening PORT". Clients pick their view with node.metadata.CLUSTER_ID.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

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

// clusterIDHash keys snapshots by node.metadata.CLUSTER_ID, as Spillway keys its views, and by
// CLUSTER_ID/SERVICE when the node names its workload (the scoped workload: one view per workload).
type clusterIDHash struct{}

func (clusterIDHash) ID(node *corev3.Node) string {
	if node == nil || node.GetMetadata() == nil {
		return ""
	}
	fields := node.GetMetadata().GetFields()
	view := fields["CLUSTER_ID"].GetStringValue()
	if workload := fields["SERVICE"].GetStringValue(); workload != "" {
		view += "/" + workload
	}
	return view
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
	// A digest of each resource's bytes: enough to see what changed without holding them twice.
	encoded  map[string]map[string]string
	versions map[string]int
}

type peer struct {
	// Exactly one of snapshots and linear is set, per -cache.
	snapshots cachev3.SnapshotCache
	linear    *viewMux
	views     map[string]*viewState
}

// The four types every view serves, so a view's LinearCaches exist before any client asks.
var servedTypes = []string{
	"type.googleapis.com/envoy.config.cluster.v3.Cluster",
	"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
	"type.googleapis.com/envoy.config.listener.v3.Listener",
	"type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
}

// viewMux routes each watch to the LinearCache of its node's view and its type. It is the MuxCache
// pattern with a lock, because views are added by load while streams read the map.
type viewMux struct {
	mu     sync.RWMutex
	caches map[string]*cachev3.LinearCache
}

var _ cachev3.Cache = &viewMux{}

func muxKey(view, typeURL string) string { return view + " " + typeURL }

func (m *viewMux) lookup(node *corev3.Node, typeURL string) (*cachev3.LinearCache, error) {
	view := clusterIDHash{}.ID(node)
	m.mu.RLock()
	defer m.mu.RUnlock()
	cache := m.caches[muxKey(view, typeURL)]
	if cache == nil {
		return nil, fmt.Errorf("no view %q for type %s", view, typeURL)
	}
	return cache, nil
}

// cacheFor returns the view's cache of a type, creating the view's caches on first use.
func (m *viewMux) cacheFor(view, typeURL string) *cachev3.LinearCache {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.caches[muxKey(view, servedTypes[0])] == nil {
		for _, t := range servedTypes {
			m.caches[muxKey(view, t)] = cachev3.NewLinearCache(t)
		}
	}
	if m.caches[muxKey(view, typeURL)] == nil {
		m.caches[muxKey(view, typeURL)] = cachev3.NewLinearCache(typeURL)
	}
	return m.caches[muxKey(view, typeURL)]
}

func (m *viewMux) CreateWatch(request *cachev3.Request, sub cachev3.Subscription, value chan cachev3.Response) (func(), error) {
	cache, err := m.lookup(request.GetNode(), request.GetTypeUrl())
	if err != nil {
		return nil, err
	}
	return cache.CreateWatch(request, sub, value)
}

func (m *viewMux) CreateDeltaWatch(request *cachev3.DeltaRequest, sub cachev3.Subscription, value chan cachev3.DeltaResponse) (func(), error) {
	cache, err := m.lookup(request.GetNode(), request.GetTypeUrl())
	if err != nil {
		return nil, err
	}
	return cache.CreateDeltaWatch(request, sub, value)
}

func (m *viewMux) Fetch(ctx context.Context, request *cachev3.Request) (cachev3.Response, error) {
	cache, err := m.lookup(request.GetNode(), request.GetTypeUrl())
	if err != nil {
		return nil, err
	}
	return cache.Fetch(ctx, request)
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
	// view -> type -> name -> resource: what the LinearCaches are handed, changed resources only.
	changed := map[string]map[string]map[string]types.Resource{}
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
		digest := sha256.Sum256([]byte(line.Any))
		if view.encoded[line.Type][line.Name] == string(digest[:]) {
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
		view.encoded[line.Type][line.Name] = string(digest[:])
		if changedTypes[line.View] == nil {
			changedTypes[line.View] = map[string]bool{}
		}
		changedTypes[line.View][line.Type] = true
		if changed[line.View] == nil {
			changed[line.View] = map[string]map[string]types.Resource{}
		}
		if changed[line.View][line.Type] == nil {
			changed[line.View][line.Type] = map[string]types.Resource{}
		}
		changed[line.View][line.Type][line.Name] = message
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
		if p.linear != nil {
			for typeURL, resources := range changed[name] {
				if err := p.linear.cacheFor(name, typeURL).UpdateResources(resources, nil); err != nil {
					return 0, 0, err
				}
			}
			continue
		}
		view := p.views[name]
		for typeURL := range changedTypes[name] {
			view.versions[typeURL]++
		}
		if err := p.snapshots.SetSnapshot(context.Background(), name, view.snapshot()); err != nil {
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
	cacheKind := flag.String("cache", "snapshot", "snapshot (SnapshotCache per view) or linear (LinearCache per view and type)")
	flag.Parse()

	ctx := context.Background()
	p := &peer{views: map[string]*viewState{}}
	var served cachev3.Cache
	switch *cacheKind {
	case "snapshot":
		p.snapshots = cachev3.NewSnapshotCache(true, clusterIDHash{}, nil)
		served = p.snapshots
	case "linear":
		p.linear = &viewMux{caches: map[string]*cachev3.LinearCache{}}
		served = p.linear
	default:
		fmt.Fprintf(os.Stderr, "-cache must be snapshot or linear, not %q\n", *cacheKind)
		os.Exit(2)
	}
	server := serverv3.NewServer(ctx, served, nil)

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
		case "mem":
			runtime.GC()
			var stats runtime.MemStats
			runtime.ReadMemStats(&stats)
			fmt.Printf("mem %d %d %d %d\n", stats.HeapAlloc, stats.HeapInuse, stats.HeapSys, stats.Sys)
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
