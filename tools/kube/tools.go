//go:build tools

// Package tools pins the Kubernetes tooling of the repository (helm) in this separate module,
// so that the exporter's own go.mod stays free of Kubernetes dependencies.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
