// Command kindnetd is the CI's stand-in for kind's kindnetd CNI daemon, whose module the Go
// module proxy does not serve. kind's default CNI manifest runs it as a hostNetwork DaemonSet
// with NET_ADMIN. Every interval it lists the nodes through the in-cluster service account and
//   - writes /etc/cni/net.d/10-kindnet.conflist for its own node's spec.podCIDRs: the CNI
//     reference plugins ptp (with ipMasq) and host-local IPAM, plus portmap for hostPort;
//   - runs `ip route replace <podCIDR> via <InternalIP>` for every other node.
//
// It does not enforce NetworkPolicy (upstream kindnetd does) and pod traffic leaving the node
// is masqueraded by ptp, so pods see other nodes' pods under their node's IP.
//
// Environment (set by kind's manifest): HOST_IP, the node's IP; KUBERNETES_SERVICE_HOST/PORT.
// Errors are logged and retried on the next round; it exits only on a bad environment.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	saDir    = "/var/run/secrets/kubernetes.io/serviceaccount"
	confPath = "/etc/cni/net.d/10-kindnet.conflist"
	interval = 10 * time.Second
)

type nodeList struct {
	Items []node `json:"items"`
}

type node struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		PodCIDR  string   `json:"podCIDR"`
		PodCIDRs []string `json:"podCIDRs"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
	} `json:"status"`
}

func (n node) cidrs() []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

func (n node) internalIPs() []string {
	var ips []string
	for _, a := range n.Status.Addresses {
		if a.Type == "InternalIP" {
			ips = append(ips, a.Address)
		}
	}
	return ips
}

type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient() (*apiClient, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, fmt.Errorf("KUBERNETES_SERVICE_HOST/PORT not set: not running in a pod")
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s/ca.crt", saDir)
	}
	return &apiClient{
		base: "https://" + net.JoinHostPort(host, port),
		http: &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		},
	}, nil
}

func (c *apiClient) nodes() ([]node, error) {
	// the projected token is rotated: read it for every request
	token, err := os.ReadFile(filepath.Join(saDir, "token"))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, c.base+"/api/v1/nodes", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/nodes: %s", resp.Status)
	}
	var list nodeList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// conflist renders the CNI network configuration for the node's pod CIDRs.
func conflist(cidrs []string) ([]byte, error) {
	ranges := make([][]map[string]string, 0, len(cidrs))
	routes := []map[string]string{}
	for _, c := range cidrs {
		ranges = append(ranges, []map[string]string{{"subnet": c}})
		if strings.Contains(c, ":") {
			routes = append(routes, map[string]string{"dst": "::/0"})
		} else {
			routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		}
	}
	conf := map[string]any{
		"cniVersion": "0.3.1",
		"name":       "kindnet",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": true,
				"mtu":    1500,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"ranges":  ranges,
					"routes":  routes,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// writeIfChanged replaces path atomically when its content differs.
func writeIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

func routeReplace(cidr, via string) error {
	args := []string{"route", "replace", cidr, "via", via}
	if strings.Contains(cidr, ":") {
		args = append([]string{"-6"}, args...)
	}
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// sameFamily reports whether the CIDR and the IP are both IPv4 or both IPv6.
func sameFamily(cidr, ip string) bool {
	return strings.Contains(cidr, ":") == strings.Contains(ip, ":")
}

func reconcile(c *apiClient, hostIP string, routed map[string]string) error {
	nodes, err := c.nodes()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		ips := n.internalIPs()
		mine := false
		for _, ip := range ips {
			mine = mine || ip == hostIP
		}
		if mine {
			if len(n.cidrs()) == 0 {
				return fmt.Errorf("node %s has no spec.podCIDRs yet", n.Metadata.Name)
			}
			data, err := conflist(n.cidrs())
			if err != nil {
				return err
			}
			if changed, err := writeIfChanged(confPath, data); err != nil {
				return err
			} else if changed {
				log.Printf("wrote %s for %s", confPath, strings.Join(n.cidrs(), ","))
			}
			continue
		}
		for _, cidr := range n.cidrs() {
			for _, ip := range ips {
				if !sameFamily(cidr, ip) || routed[cidr] == ip {
					continue
				}
				if err := routeReplace(cidr, ip); err != nil {
					return err
				}
				routed[cidr] = ip
				log.Printf("route %s via %s (node %s)", cidr, ip, n.Metadata.Name)
			}
		}
	}
	return nil
}

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	hostIP := os.Getenv("HOST_IP")
	if hostIP == "" {
		log.Fatal("HOST_IP is not set (kind's manifest sets it from status.hostIP)")
	}
	c, err := newAPIClient()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("stand-in kindnetd on %s", hostIP)
	routed := map[string]string{}
	for {
		if err := reconcile(c, hostIP, routed); err != nil {
			log.Print(err)
		}
		time.Sleep(interval)
	}
}
