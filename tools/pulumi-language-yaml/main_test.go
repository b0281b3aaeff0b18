package main

import (
	"context"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		argv            []string
		engine, tracing string
	}{
		{[]string{"127.0.0.1:5000"}, "127.0.0.1:5000", ""},
		{[]string{"-tracing", "http://zipkin", "-root", "/prog", "127.0.0.1:5000"}, "127.0.0.1:5000", "http://zipkin"},
		{[]string{"--tracing=http://zipkin", "-compiler=x", "127.0.0.1:5000"}, "127.0.0.1:5000", "http://zipkin"},
		{[]string{"-root=/prog"}, "", ""},
	} {
		a, err := parseArgs(c.argv)
		if err != nil || a.engineAddress != c.engine || a.tracing != c.tracing {
			t.Errorf("%v: got %+v, %v", c.argv, a, err)
		}
	}
	if _, err := parseArgs([]string{"-tracing"}); err == nil {
		t.Error("-tracing without a value: no error")
	}
}

func TestLinkNamesThePackages(t *testing.T) {
	resp, err := yamlHost{}.Link(context.Background(), &pulumirpc.LinkRequest{Packages: []*pulumirpc.LinkRequest_LinkDependency{
		{Path: "sdks/kube-pki", Package: &pulumirpc.PackageDependency{Name: "kube-pki"}},
	}})
	if err != nil || !strings.Contains(resp.GetImportInstructions(), "kube-pki") {
		t.Fatalf("%v %+v", err, resp)
	}
}
