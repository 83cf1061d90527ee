// kindcheck parses a kind cluster config strictly with kind's own v1alpha4 types, as
// `kind create cluster --config` does, so rendered configs are checked without a cluster.
// Usage: go run . CONFIG.yaml
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kindcheck CONFIG.yaml")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var cluster v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(raw, &cluster); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if cluster.Kind != "Cluster" || cluster.APIVersion != "kind.x-k8s.io/v1alpha4" {
		fmt.Fprintf(os.Stderr, "%s: not a kind v1alpha4 Cluster\n", os.Args[1])
		os.Exit(1)
	}
	v1alpha4.SetDefaultsCluster(&cluster)
	for _, node := range cluster.Nodes {
		fmt.Printf("%s %d labels %d mounts %d ports\n", node.Role, len(node.Labels),
			len(node.ExtraMounts), len(node.ExtraPortMappings))
	}
}
