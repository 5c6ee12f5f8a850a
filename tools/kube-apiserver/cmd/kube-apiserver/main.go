// Command kube-apiserver is the upstream API server, unchanged: the same main as
// k8s.io/kubernetes/cmd/kube-apiserver, built from the module proxy.
package main

import (
	"os"
	_ "time/tzdata" // upstream embeds it for CronJob time zones

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // upstream's client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // upstream's version metric
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
