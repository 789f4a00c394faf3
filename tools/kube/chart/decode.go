// Package chart checks the Helm chart (deploy/helm/mattermost-exporter) and the kustomize
// manifests (deploy/kubernetes): every object decodes strictly into the Kubernetes and
// prometheus-operator Go types, so an unknown or misspelt field fails.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kustomize "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest.
type Object struct {
	APIVersion, Kind, Name string
	Value                  any // a pointer to the typed object
}

// newTyped returns an empty object of the Go type for apiVersion and kind.
func newTyped(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	case "monitoring.coreos.com/v1 Probe":
		return &monitoringv1.Probe{}, nil
	case "monitoring.coreos.com/v1alpha1 ScrapeConfig":
		return &monitoringv1alpha1.ScrapeConfig{}, nil
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return &kustomize.Kustomization{}, nil
	}
	return nil, fmt.Errorf("no Go type known for apiVersion %q kind %q: add it to chart.newTyped", apiVersion, kind)
}

// DecodeStrict splits a multi-document YAML stream and decodes every non-empty document into
// its Go type, rejecting unknown and duplicate fields.
func DecodeStrict(data []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Object
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if head.APIVersion == "" && head.Kind == "" {
			var v any
			if err := yaml.Unmarshal(doc, &v); err != nil || v != nil {
				return nil, fmt.Errorf("document %d has no apiVersion and kind", i)
			}
			continue // only comments
		}
		typed, err := newTyped(head.APIVersion, head.Kind)
		if err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, head.Metadata.Name, err)
		}
		if err := yaml.UnmarshalStrict(doc, typed); err != nil {
			return nil, fmt.Errorf("%s %s: %w", head.Kind, head.Metadata.Name, err)
		}
		out = append(out, Object{APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name, Value: typed})
	}
}
