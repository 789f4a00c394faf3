// mattermost_exporter monitoring mixin: alerts, (no) recording rules and the dashboard.
// Settings: config.libsonnet. Rendered by `make mixin` (tools/kube/cmd/mixin).
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
