// Command etcd is the upstream etcd server, the storage kube-apiserver expects,
// built from the module proxy at the version k8s.io/kubernetes pins.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
